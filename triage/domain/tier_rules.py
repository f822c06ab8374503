"""configs/tiers.yaml, typed: the tier rules, SLAs and priority points."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from triage.domain.labels import LABELS, RISK_LABELS, TIERS, Tier
from triage.paths import read_yaml

Minimum = float | Literal["threshold"]
Points = Annotated[int, Field(ge=0, le=100)]  # a priority is 0-100, so is any part of it


class PriorityPoints(BaseModel):
    """configs/tiers.yaml `priority:`: the points an item's priority 0-100 is made of.

    How they combine, and why each is what it is: triage/domain/priority.py and the comments of
    configs/tiers.yaml. Every tier and every label of the taxonomy must have a base, and no other
    name may: a label left out would silently add nothing to a flagged post's priority.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier_base: dict[Tier, Points]
    label_base: dict[str, Points]
    confidence_points: Points  # at most, for the evidence for the next tier up
    ageing_points: Points  # at most, as the wait reaches the tier's SLA
    report_points: Points  # per member report of full weight
    report_points_cap: Points  # at most, for all of an item's reports
    unscored_priority: Points  # an item the model could not score, before ageing and reports
    below_crisis_ceiling: Annotated[int, Field(ge=0, lt=100)]  # the most any non-crisis item gets

    @field_validator("tier_base")
    @classmethod
    def _every_tier_most_urgent_highest(cls, base: dict[Tier, int]) -> dict[Tier, int]:
        if set(base) != set(Tier):
            raise ValueError(f"tier_base: expected exactly the tiers {TIERS}, found {list(base)}")
        ordered = [base[tier] for tier in Tier]  # most urgent first
        if any(higher <= lower for higher, lower in zip(ordered, ordered[1:], strict=False)):
            raise ValueError(f"tier_base: a more urgent tier must have a higher base: {ordered}")
        return base

    @field_validator("label_base")
    @classmethod
    def _every_label(cls, base: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(base) - set(LABELS))
        if unknown:
            raise ValueError(f"label_base: unknown labels {unknown}; known: {LABELS}")
        missing = [label for label in LABELS if label not in base]
        if missing:
            raise ValueError(f"label_base: missing labels {missing}; every label needs a base")
        return base


class TierRules(BaseModel):
    """configs/tiers.yaml: which calibrated scores put a post in which risk tier, SLAs, and the
    points of an item's priority (`priority`, PriorityPoints).

    `rules` maps a tier to {label: minimum score}; tiers are checked from crisis down and the
    first tier with any label at or over its minimum wins; nothing matching means green. A
    minimum of "threshold" means the bundle's flag threshold for that label, so a post flagged
    self_harm is never put in a lower tier than the rule for flagged posts.
    """

    model_config = ConfigDict(extra="forbid")

    rules: dict[str, dict[str, Minimum]]
    sla_minutes: dict[str, float | None]
    unscored_sla_minutes: float = Field(60, gt=0)
    priority: PriorityPoints

    def sla_for(self, tier: str | None) -> float | None:
        """The SLA of a tier; an item without a tier (not scored) gets unscored_sla_minutes."""
        return self.unscored_sla_minutes if tier is None else self.sla_minutes[tier]

    @field_validator("rules")
    @classmethod
    def _known_names(cls, rules: dict[str, dict[str, Minimum]]) -> dict[str, dict[str, Minimum]]:
        for tier, conditions in rules.items():
            if tier not in TIERS or tier == Tier.GREEN:
                raise ValueError(f"rules: tier {tier!r} is not one of crisis, red, amber")
            for label, minimum in conditions.items():
                if label not in LABELS:
                    raise ValueError(f"rules.{tier}: unknown label {label!r}; known: {LABELS}")
                if label not in RISK_LABELS:
                    raise ValueError(
                        f"rules.{tier}: {label!r} is not a risk label; a risk tier may rely only "
                        f"on {RISK_LABELS} (triage/domain/labels.py)"
                    )
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
