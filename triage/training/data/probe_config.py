"""configs/probes.yaml: typed families of templated bias and robustness probes.

A family is a set of probe texts (templates filled with terms, or explicit probe/reference
pairs) that watches one label. A family with a reference group is measured by the score gap
between its probes and the matching reference texts; any family also by its own scores, flag
rate and risk tiers. A `hard_limit` family sets a maximum for some of those metrics and fails
the check when one is exceeded; a `report_only` family only reports its figures next to the
expectation written in the config.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from triage.domain.labels import LABELS, RISK_LABELS
from triage.paths import DEFAULT_CONFIG_DIR, read_yaml

DEFAULT_PROBES = DEFAULT_CONFIG_DIR / "probes.yaml"
SLOT = "{term}"


def fill_template(template: str, phrase: str) -> str:
    """Put a term into a template's {term}, capitalised when the template starts with it."""
    text = template.replace(SLOT, phrase)
    return text[0].upper() + text[1:] if template.startswith(SLOT) else text


class ProbeConfigError(ValueError):
    """The probes file is missing or does not match the schema; the message says where."""


class FamilyKind(StrEnum):
    HARD_LIMIT = "hard_limit"  # exceeding a limit fails `triage evaluate --probes` and its test
    REPORT_ONLY = "report_only"  # figures are reported against a written expectation


class Metric(StrEnum):
    """Every metric is "higher is worse", so each limit is a maximum."""

    MEAN_SCORE = "mean_score"
    MAX_SCORE = "max_score"
    FLAG_RATE = "flag_rate"  # share of probes at or over the bundle's threshold for the label
    CRISIS_RATE = "crisis_rate"  # share of probes put in the crisis tier
    RED_OR_CRISIS_RATE = "red_or_crisis_rate"  # share put in the red or crisis tier
    MEAN_GAP = "mean_gap"  # mean of (probe score - mean score of its reference texts)
    MAX_GAP = "max_gap"  # the largest single probe's gap
    WORST_TERM_GAP = "worst_term_gap"  # the largest mean gap of one term over all templates
    FLAG_RATE_GAP = "flag_rate_gap"  # probe flag rate - reference flag rate
    RED_OR_CRISIS_RATE_GAP = "red_or_crisis_rate_gap"


TIER_METRICS = frozenset(
    {Metric.CRISIS_RATE, Metric.RED_OR_CRISIS_RATE, Metric.RED_OR_CRISIS_RATE_GAP}
)
GAP_METRICS = frozenset(
    {
        Metric.MEAN_GAP,
        Metric.MAX_GAP,
        Metric.WORST_TERM_GAP,
        Metric.FLAG_RATE_GAP,
        Metric.RED_OR_CRISIS_RATE_GAP,
    }
)


class Template(BaseModel):
    """A probe text, a reply when `parent` is set. Contains {term} when the family has terms."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    parent: str | None = Field(None, min_length=1)


class Pair(BaseModel):
    """A probe text and the reference text it is compared with (e.g. negated vs positive)."""

    model_config = ConfigDict(extra="forbid")
    probe: str = Field(min_length=1)
    reference: str = Field(min_length=1)
    parent: str | None = Field(None, min_length=1)


class Family(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: FamilyKind
    label: str
    description: str = Field(min_length=1)
    expectation: str = Field(min_length=1, description="what a sound model should show, honestly")
    templates: list[Template] = []
    probe_terms: str | None = None  # a term set name under `terms`, fills {term} in templates
    reference_terms: str | None = None  # a term set whose fillings are the reference group
    pairs: list[Pair] = []
    limits: dict[Metric, float] = {}

    @field_validator("templates", mode="before")
    @classmethod
    def _plain_strings(cls, templates: list) -> list:
        return [{"text": t} if isinstance(t, str) else t for t in templates]

    @field_validator("label")
    @classmethod
    def _known_label(cls, label: str) -> str:
        if label not in LABELS:
            raise ValueError(f"unknown label {label!r}; expected one of {list(LABELS)}")
        return label

    @model_validator(mode="after")
    def _consistent(self) -> Family:
        if bool(self.templates) == bool(self.pairs):
            raise ValueError(
                "expected either `templates` or `pairs` (exactly one), found both/none"
            )
        if self.pairs and (self.probe_terms or self.reference_terms):
            raise ValueError("`pairs` take no terms: terms fill {term} in `templates` only")
        if self.reference_terms and not self.probe_terms:
            raise ValueError("`reference_terms` needs `probe_terms` (the group it is compared to)")
        for template in self.templates:
            slots = template.text.count(SLOT)
            if self.probe_terms and slots != 1:
                raise ValueError(f"template {template.text!r}: expected {SLOT} once, found {slots}")
            if not self.probe_terms and slots:
                raise ValueError(f"template {template.text!r} has {SLOT} but no `probe_terms`")
        self._check_limits()
        return self

    def _check_limits(self) -> None:
        if self.kind is FamilyKind.HARD_LIMIT and not self.limits:
            raise ValueError("a hard_limit family needs at least one entry under `limits`")
        if self.kind is FamilyKind.REPORT_ONLY and self.limits:
            raise ValueError(
                "a report_only family has no `limits` (they would never be enforced); "
                "make it hard_limit or write the expectation instead"
            )
        gap_limits = sorted(GAP_METRICS & set(self.limits))
        if gap_limits and not self.has_reference:
            raise ValueError(f"limits {gap_limits} need a reference group (reference_terms/pairs)")
        tier_limits = sorted(TIER_METRICS & set(self.limits))
        if tier_limits and self.label not in RISK_LABELS:
            raise ValueError(
                f"limits {tier_limits} are about risk tiers, which only {list(RISK_LABELS)} "
                f"decide; this family watches {self.label!r}"
            )
        if Metric.WORST_TERM_GAP in self.limits and not self.probe_terms:
            raise ValueError("limit worst_term_gap needs `probe_terms`")
        for metric, value in self.limits.items():
            low = -1.0 if metric in GAP_METRICS else 0.0
            if not low <= value <= 1.0:
                raise ValueError(f"limits.{metric}: expected {low}..1, found {value}")

    @property
    def has_reference(self) -> bool:
        return bool(self.pairs or self.reference_terms)


# term set name -> category (e.g. religion) -> phrases that fill {term}
TermSets = dict[str, dict[str, list[str]]]


class ProbeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: TermSets = {}
    families: dict[str, Family]

    @field_validator("terms")
    @classmethod
    def _no_empty_or_repeated_terms(cls, terms: TermSets) -> TermSets:
        for name, categories in terms.items():
            phrases = [p for category in categories.values() for p in category]
            if not phrases or any(not p.strip() for p in phrases):
                raise ValueError(f"terms.{name}: expected non-empty phrases, found {phrases}")
            repeated = sorted({p for p in phrases if phrases.count(p) > 1})
            if repeated:
                raise ValueError(f"terms.{name}: phrases listed twice: {repeated}")
        return terms

    @field_validator("families")
    @classmethod
    def _some_families(cls, families: dict[str, Family]) -> dict[str, Family]:
        if not families:
            raise ValueError("expected at least one family")
        return families

    @model_validator(mode="after")
    def _term_sets_exist(self) -> ProbeConfig:
        for name, family in self.families.items():
            for term_set in (family.probe_terms, family.reference_terms):
                if term_set is not None and term_set not in self.terms:
                    raise ValueError(
                        f"families.{name}: term set {term_set!r} is not defined under `terms` "
                        f"(defined: {sorted(self.terms)})"
                    )
        return self

    @classmethod
    def load(cls, path: Path = DEFAULT_PROBES) -> ProbeConfig:
        try:
            return cls.model_validate(read_yaml(Path(path)))
        except (ValidationError, ValueError, FileNotFoundError) as error:
            raise ProbeConfigError(f"{path}: {error}") from error
