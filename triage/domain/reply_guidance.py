"""Reply guidance per item category: configs/reply_guidance.yaml.

The console shows, beside an item, what fits it: crisis lines and safe-messaging guidance for a
self-harm or crisis item, community-guideline replies for a hostile one, and so on. An item may
fit several categories (a distressed post answered with a hostile reply); they are shown most
urgent first. Typed and validated here; a bad file fails loudly with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from triage.domain.labels import LABELS, TIERS
from triage.paths import DEFAULT_CONFIG_DIR, read_yaml

FILE_NAME = "reply_guidance.yaml"
UNSCORED = "unscored"  # the `tiers` value for an item not scored yet (no tier)
SELECTABLE_TIERS: tuple[str, ...] = (*TIERS, UNSCORED)


class ReplyTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    text: str = Field(min_length=1)


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    tiers: tuple[str, ...] = Field((), description="tiers that put an item in this category")
    flags: tuple[str, ...] = Field((), description="flags that put an item in this category")
    crisis_resources: bool = Field(
        False, description="show the locale's crisis lines and safe messaging open"
    )
    covers: tuple[str, ...] = Field((), description="categories left out when this one applies")
    steps: tuple[str, ...] = Field(min_length=1, description="what the moderator does")
    replies: tuple[ReplyTemplate, ...] = ()

    @field_validator("tiers")
    @classmethod
    def _known_tiers(cls, tiers: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [tier for tier in tiers if tier not in SELECTABLE_TIERS]
        if unknown:
            raise ValueError(f"unknown tiers {unknown}; expected some of {list(SELECTABLE_TIERS)}")
        return tiers

    @field_validator("flags")
    @classmethod
    def _known_flags(cls, flags: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [flag for flag in flags if flag not in LABELS]
        if unknown:
            raise ValueError(f"unknown labels {unknown}; expected some of {list(LABELS)}")
        return flags

    @model_validator(mode="after")
    def _selectable(self) -> Category:
        if not self.tiers and not self.flags:
            raise ValueError(f"{self.title!r}: expected tiers or flags to select it, found none")
        return self

    def applies(self, tier: str | None, flags: Sequence[str]) -> bool:
        return (tier or UNSCORED) in self.tiers or any(flag in self.flags for flag in flags)


@dataclass(frozen=True)
class Selected:
    name: str
    category: Category


class ReplyGuidance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: dict[str, Category] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ReplyGuidance:
        for name, category in self.categories.items():
            unknown = [other for other in category.covers if other not in self.categories]
            if unknown or name in category.covers:
                raise ValueError(
                    f"{name}.covers: expected other categories of this file, found "
                    f"{unknown or [name]}"
                )
        selected = {flag for category in self.categories.values() for flag in category.flags}
        missing = [label for label in LABELS if label not in selected]
        if missing:
            raise ValueError(f"no category for the labels {missing}: every label needs guidance")
        return self

    def for_item(self, tier: str | None, flags: Sequence[str]) -> list[Selected]:
        """The categories that fit an item, in file order, less those another one covers."""
        applying = [
            Selected(name, category)
            for name, category in self.categories.items()
            if category.applies(tier, flags)
        ]
        covered = {other for chosen in applying for other in chosen.category.covers}
        return [chosen for chosen in applying if chosen.name not in covered]


def needs_crisis_resources(selected: Sequence[Selected]) -> bool:
    return any(chosen.category.crisis_resources for chosen in selected)


class ReplyGuidanceError(ValueError):
    pass


def guidance_path(config_dir: Path) -> Path:
    """The folder's reply_guidance.yaml; a config folder older than it uses the shipped one."""
    path = config_dir / FILE_NAME
    return path if path.exists() else DEFAULT_CONFIG_DIR / FILE_NAME


@lru_cache(maxsize=8)
def load_reply_guidance(config_dir: Path) -> ReplyGuidance:
    """The validated guidance; ReplyGuidanceError says what is wrong and where."""
    path = guidance_path(config_dir)
    try:
        return ReplyGuidance.model_validate(read_yaml(path))
    except (FileNotFoundError, ValueError) as error:
        raise ReplyGuidanceError(f"{path}: {error}") from None
