"""Crisis resources are never spam: sharing a helpline is what a peer supporter should do.

The spam head learnt from SMS and e-mail spam, where a phone number, a short code or a link is
a strong spam signal, so a reply that gives Samaritans' number scored like spam (0.84, issue
13). The guard knows every crisis resource the console shows (configs/resources/*.yaml: names,
phone numbers, text numbers and short codes, web domains) and the well-known public services
of configs/resource_guard.yaml. A text that shares one of them is not flagged spam unless it
ALSO promotes something no resource does (`promotion`), which is kept simple on purpose:
- a link or bare domain that is not a resource's (bare ones only with a common top-level
  domain, so "tired.Then" is not a link); an e-mail address counts by its domain;
- a promo code ("use code HEAL20", "promo code"), a price or a discount ("$9.99", "20% off");
- an invitation into private messages ("DM me", "PM me", "inbox me", "WhatsApp me").
Other phone numbers do not count: people share ages, dates and counts. The spam score itself
is always kept (scores are never hidden); only the flag is withheld, with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from triage.domain.resources import CrisisResources, load_resources
from triage.paths import DEFAULT_CONFIG_DIR, read_yaml

GUARD_FILE = "resource_guard.yaml"
# A run of digits that may be split by single spaces, dashes or dots ("116 123", "9-8-8"), not
# part of a word, an amount ("$1,000", "1.5") or a percentage.
DIGIT_RUN = re.compile(r"(?<![\w$£€¥.,/+])\d(?:[ .\-]?\d)*(?![\w%]|[.,]\d)")
URL_HOST = re.compile(r"\bhttps?://([^\s/?#<>\"']+)", re.IGNORECASE)
BARE_HOST = re.compile(
    r"(?<![\w.\-/])((?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+([a-z]{2,24}))(?![\w\-]|\.\w)",
    re.IGNORECASE,
)
# Top-level domains a bare host (no scheme, no "www.") must end in to count as a link.
COMMON_TLDS = frozenset(
    "com org net info biz io co app me ly gg xyz site online shop store link click live life "
    "today top club health care uk au nz ca ie us eu de fr in".split()
)
PROMO_CODE = re.compile(
    r"\b(?:promo|coupon|discount|voucher|referral)\s*codes?\b"
    r"|\b(?:use|enter|apply)\s+(?:the\s+|my\s+|our\s+)?code\b",
    re.IGNORECASE,
)
PRICE_OR_DISCOUNT = re.compile(
    r"[$£€¥]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:%|per\s?cent)\s*off\b"
    r"|\b\d+(?:[.,]\d{2})?\s?(?:usd|gbp|eur|dollars|bucks)\b|\b(?:discount|coupon)s?\b",
    re.IGNORECASE,
)
PRIVATE_MESSAGES = re.compile(r"\b(?:dm|pm|inbox|whatsapp|telegram)\s+me\b", re.IGNORECASE)


class KnownService(BaseModel):
    """A public service that resources/*.yaml does not list (configs/resource_guard.yaml)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    numbers: list[str] = Field(default_factory=list, description="as people dial them")
    domains: list[str] = Field(default_factory=list, description="e.g. samaritans.org")


class GuardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    services: list[KnownService] = Field(default_factory=list)
    unmatched_names: list[str] = Field(
        default_factory=list, description="everyday words: matched by number and domain only"
    )


@dataclass(frozen=True)
class ResourceGuard:
    """What counts as sharing a crisis resource, each term mapped to the resource's name."""

    names: Mapping[str, str]  # casefolded name, single-spaced -> resource name
    numbers: Mapping[str, str]  # digits only ("116123") -> resource name
    domains: Mapping[str, str]  # host without "www." -> resource name
    _name_pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_name_pattern", _names_regex(self.names))

    @classmethod
    def load(cls, config_dir: Path) -> ResourceGuard:
        """From every config_dir/resources/*.yaml and config_dir/resource_guard.yaml (optional);
        a bad file raises ResourcesError or ValueError, naming it."""
        services = _resource_services(config_dir) + _known_services(config_dir)
        unmatched = {name.casefold() for name in _guard_config(config_dir).unmatched_names}
        names: dict[str, str] = {}
        numbers: dict[str, str] = {}
        domains: dict[str, str] = {}
        for service in services:
            for name in (service.name, *service.aliases):
                if name.casefold() not in unmatched:
                    names.setdefault(_spaced(name).casefold(), service.name)
            for number in service.numbers:
                for digits in _dialled_forms(number):
                    numbers.setdefault(digits, service.name)
            for domain in service.domains:
                domains.setdefault(_host(domain), service.name)
        return cls(names, numbers, domains)

    @classmethod
    def shipped(cls) -> ResourceGuard:
        """The guard of the project's own configs/ (loaded once)."""
        return _shipped_guard()

    def withholds_spam(self, text: str) -> str | None:
        """The resource that keeps `text` from being flagged spam; None when a spam flag stands
        (no resource shared, or something promoted next to it)."""
        resource = self.shared_resource(text)
        if resource is None or self.promotion(text) is not None:
            return None
        return resource

    def shared_resource(self, text: str) -> str | None:
        """The first crisis resource `text` names, dials or links; None if it shares none."""
        for found in (self._named(text), self._dialled(text), self._linked(text)):
            if found is not None:
                return found
        return None

    def promotion(self, text: str) -> str | None:
        """What in `text` promotes something no resource does; None when nothing does."""
        foreign = [host for host in hosts_in(text) if self._resource_of(host) is None]
        if foreign:
            return f"a link to {foreign[0]}"
        for pattern, what in (
            (PROMO_CODE, "a promo code"),
            (PRICE_OR_DISCOUNT, "a price or discount"),
            (PRIVATE_MESSAGES, "an invitation to private messages"),
        ):
            if pattern.search(text):
                return what
        return None

    def _named(self, text: str) -> str | None:
        match = self._name_pattern.search(text) if self._name_pattern else None
        return None if match is None else self.names[_spaced(match.group(0)).casefold()]

    def _dialled(self, text: str) -> str | None:
        for match in DIGIT_RUN.finditer(text):
            resource = self.numbers.get(_digits(match.group(0)))
            if resource is not None:
                return resource
        return None

    def _linked(self, text: str) -> str | None:
        for host in hosts_in(text):
            resource = self._resource_of(host)
            if resource is not None:
                return resource
        return None

    def _resource_of(self, host: str) -> str | None:
        """The resource whose domain `host` is, or is a subdomain of (111.nhs.uk: nhs.uk)."""
        labels = host.split(".")
        for start in range(len(labels) - 1):
            resource = self.domains.get(".".join(labels[start:]))
            if resource is not None:
                return resource
        return None


def hosts_in(text: str) -> list[str]:
    """Hosts of the links in `text`, lower-case without "www.": every http(s) URL's, and bare
    domains ("calmpath.app", "jo@samaritans.org") ending in a common top-level domain."""
    hosts = [_host(match.group(1)) for match in URL_HOST.finditer(text)]
    without_urls = URL_HOST.sub(" ", text)
    for match in BARE_HOST.finditer(without_urls):
        written, top_level = match.group(1).lower(), match.group(2).lower()
        if written.startswith("www.") or top_level in COMMON_TLDS:
            hosts.append(_host(written))
    return [host for host in hosts if host]


def _names_regex(names: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for all names, longest first, whole words, any spacing, any case."""
    longest_first = sorted(names, key=len, reverse=True)
    if not longest_first:
        return None
    alternatives = (r"\s+".join(re.escape(word) for word in name.split()) for name in longest_first)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=1)
def _shipped_guard() -> ResourceGuard:
    return ResourceGuard.load(DEFAULT_CONFIG_DIR)


def _resource_services(config_dir: Path) -> list[KnownService]:
    services: list[KnownService] = []
    for path in sorted((config_dir / "resources").glob("*.yaml")):
        services.extend(_services_of(load_resources(config_dir, path.stem)))
    return services


def _services_of(resources: CrisisResources) -> Iterable[KnownService]:
    for line in resources.lines:
        numbers = [n for n in (line.phone, line.text) if n is not None]
        yield KnownService(name=line.name, numbers=numbers, domains=[line.url])
    for directory in resources.directories:
        yield KnownService(name=directory.name, domains=[directory.url])


def _known_services(config_dir: Path) -> list[KnownService]:
    return _guard_config(config_dir).services


def _guard_config(config_dir: Path) -> GuardConfig:
    path = config_dir / GUARD_FILE
    if not path.exists():  # a config folder of its own may list no extra services
        return GuardConfig()
    try:
        return GuardConfig.model_validate(read_yaml(path))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _dialled_forms(number: str) -> set[str]:
    """The digit strings of each number in `number` ("Text 0477 13 11 14" -> 0477131114); a
    North American 1-800 number also without its leading 1, as people often write it."""
    forms = set()
    for match in DIGIT_RUN.finditer(number):
        digits = _digits(match.group(0))
        forms.add(digits)
        if len(digits) == 11 and digits.startswith("1"):
            forms.add(digits[1:])
    return forms


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _host(address: str) -> str:
    """The host of a URL, domain or e-mail address, lower-case, without "www." or a port:
    https://www.Samaritans.org/x and jo@samaritans.org both give samaritans.org."""
    netloc = urlsplit(address).netloc if "://" in address else address
    host = netloc.rsplit("@", 1)[-1].split(":", 1)[0].strip(".").lower()
    return host.removeprefix("www.")


def _spaced(name: str) -> str:
    return " ".join(name.split())
