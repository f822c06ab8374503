"""Pure: tier + flags + calibrated scores + time waited -> priority 0-100 and its reasons.

priority = max(tier base, base of each flagged label)
         + up to CONFIDENCE_POINTS for the highest flagged or risk (self_harm, distress) score
         + up to AGEING_POINTS as the item's wait approaches its tier's SLA.

Ageing is what keeps the middle tier from starving: an amber item at its SLA (40+30+...) ranks
above a fresh, low-confidence red one (65+5), while crisis (85+) always stays on top.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from triage.labels import RISK_LABELS, Tier

TIER_BASE = {Tier.CRISIS: 85, Tier.RED: 65, Tier.AMBER: 40, Tier.GREEN: 5}
LABEL_BASE = {"hostile": 35, "corumination": 30, "spam": 15, "self_harm": 40, "distress": 25}
CONFIDENCE_POINTS = 10
AGEING_POINTS = 30
UNSCORED_PRIORITY = 60  # an item the model could not score is reviewed by a person soon


@dataclass(frozen=True)
class Priority:
    value: int
    reasons: tuple[str, ...]


def compute_priority(
    tier: Tier,
    flags: Sequence[str],
    scores: Mapping[str, float | None],
    waited_minutes: float = 0.0,
    sla_minutes: float | None = None,
) -> Priority:
    base = TIER_BASE[tier]
    reasons = [f"tier {tier.value}"] if tier is not Tier.GREEN else []
    for label in flags:
        base = max(base, LABEL_BASE.get(label, 0))
        reasons.append(f"flag {label} ({scores.get(label) or 0:.2f})")
    driving = [scores[label] for label in (*flags, *RISK_LABELS) if scores.get(label) is not None]
    confidence = round(CONFIDENCE_POINTS * max(driving, default=0.0))
    ageing = 0
    if sla_minutes and waited_minutes > 0:
        share = min(waited_minutes / sla_minutes, 1.0)
        ageing = round(AGEING_POINTS * share)
        if ageing:
            reasons.append(f"waited {share:.0%} of the {tier.value} SLA ({sla_minutes:g} min)")
    return Priority(min(100, base + confidence + ageing), tuple(reasons))
