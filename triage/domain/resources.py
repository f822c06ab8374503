"""Crisis resources and safe-messaging guidance per locale: configs/resources/<locale>.yaml.

The console shows them next to every item, so a moderator answering someone at risk has the
right helplines and wording at hand. Typed and validated here; a bad file fails loudly.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from triage.paths import read_yaml

LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")
PHONE_PATTERN = re.compile(r"^[0-9][0-9 ]{1,18}[0-9]$")


def _https(url: str) -> str:
    if not url.startswith("https://"):
        raise ValueError(f"expected an https:// address, found {url!r}")
    return url


class CrisisLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    region: str = Field(min_length=1, description="who it serves, e.g. 'United States'")
    phone: str | None = Field(None, description="digits and spaces, as people dial it")
    text: str | None = Field(None, description="how to reach it by text message, if it can be")
    url: str
    hours: str = Field(min_length=1, description="e.g. '24/7'")

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _https(url)

    @field_validator("phone")
    @classmethod
    def _dialable(cls, phone: str | None) -> str | None:
        if phone is not None and not PHONE_PATTERN.match(phone):
            raise ValueError(f"expected digits and spaces (e.g. '116 123'), found {phone!r}")
        return phone

    @model_validator(mode="after")
    def _reachable(self) -> CrisisLine:
        if self.phone is None and self.text is None:
            raise ValueError(f"{self.name}: expected a phone number or a text option, found none")
        return self


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    url: str
    description: str = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _https(url)


class SafeMessaging(BaseModel):
    model_config = ConfigDict(extra="forbid")

    do: list[str] = Field(min_length=1)
    avoid: list[str] = Field(min_length=1)
    example_reply: str = Field(min_length=1)


class CrisisResources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locale: str
    title: str = Field(min_length=1)
    emergency: str = Field(min_length=1, description="what to do in immediate danger")
    lines: list[CrisisLine] = Field(min_length=1)
    directories: list[Directory] = Field(min_length=1)
    safe_messaging: SafeMessaging


class ResourcesError(ValueError):
    pass


def resources_path(config_dir: Path, locale: str) -> Path:
    if not LOCALE_PATTERN.match(locale):
        raise ResourcesError(f"expected a locale such as 'en' or 'pt-BR', found {locale!r}")
    return config_dir / "resources" / f"{locale}.yaml"


@lru_cache(maxsize=16)
def load_resources(config_dir: Path, locale: str) -> CrisisResources:
    """The resources of `locale`, validated; ResourcesError says what is wrong and where."""
    path = resources_path(config_dir, locale)
    try:
        resources = CrisisResources.model_validate(read_yaml(path))
    except (FileNotFoundError, ValueError) as error:
        raise ResourcesError(f"{path}: {error}") from None
    if resources.locale != locale:
        raise ResourcesError(f"{path}: expected locale {locale!r}, found {resources.locale!r}")
    return resources
