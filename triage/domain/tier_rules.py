"""configs/tiers.yaml, typed: the tier rules and SLAs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from triage.domain.labels import LABELS, TIERS
from triage.paths import read_yaml

Minimum = float | Literal["threshold"]


class TierRules(BaseModel):
    """configs/tiers.yaml: which calibrated scores put a post in which risk tier, and SLAs.

    `rules` maps a tier to {label: minimum score}; tiers are checked from crisis down and the
    first tier with any label at or over its minimum wins; nothing matching means green. A
    minimum of "threshold" means the bundle's flag threshold for that label, so a post flagged
    self_harm is never put in a lower tier than the rule for flagged posts.
    """

    model_config = ConfigDict(extra="forbid")

    rules: dict[str, dict[str, Minimum]]
    sla_minutes: dict[str, float | None]
    unscored_sla_minutes: float = Field(60, gt=0)

    def sla_for(self, tier: str | None) -> float | None:
        """The SLA of a tier; an item without a tier (not scored) gets unscored_sla_minutes."""
        return self.unscored_sla_minutes if tier is None else self.sla_minutes[tier]

    @field_validator("rules")
    @classmethod
    def _known_names(cls, rules: dict[str, dict[str, Minimum]]) -> dict[str, dict[str, Minimum]]:
        for tier, conditions in rules.items():
            if tier not in TIERS or tier == "green":
                raise ValueError(f"rules: tier {tier!r} is not one of crisis, red, amber")
            for label, minimum in conditions.items():
                if label not in LABELS:
                    raise ValueError(f"rules.{tier}: unknown label {label!r}; known: {LABELS}")
                if minimum != "threshold" and not 0.0 <= minimum <= 1.0:
                    raise ValueError(f"rules.{tier}.{label}: expected 0..1, found {minimum}")
        return rules

    @field_validator("sla_minutes")
    @classmethod
    def _all_tiers(cls, sla: dict[str, float | None]) -> dict[str, float | None]:
        if set(sla) != set(TIERS):
            raise ValueError(f"sla_minutes: expected exactly the tiers {TIERS}, found {list(sla)}")
        return sla

    @classmethod
    def load(cls, path: Path) -> TierRules:
        return cls.model_validate(read_yaml(path))
