"""Pure: calibrated scores -> self-harm risk tier, by the rules in configs/tiers.yaml."""

from __future__ import annotations

from collections.abc import Mapping

from triage.config import TierRules
from triage.labels import Tier


def assign_tier(
    scores: Mapping[str, float | None],
    rules: TierRules,
    thresholds: Mapping[str, float] | None = None,
) -> Tier:
    """The most urgent tier with any label at or over its minimum; green if none is.

    A minimum of "threshold" is the label's flag threshold from `thresholds` (the bundle's).
    """
    for tier in (Tier.CRISIS, Tier.RED, Tier.AMBER):
        for label, minimum in rules.rules.get(tier.value, {}).items():
            if minimum == "threshold":
                if thresholds is None or label not in thresholds:
                    continue
                minimum = thresholds[label]
            score = scores.get(label)
            if score is not None and score >= minimum:
                return tier
    return Tier.GREEN
