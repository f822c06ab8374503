"""Pure: tier + flags + calibrated scores + time waited -> priority 0-100 and its reasons.

priority = max(tier base, base of each flagged label)
         + up to CONFIDENCE_POINTS for the highest flagged or risk (self_harm, distress) score
         + up to AGEING_POINTS as the item's wait approaches its tier's SLA.

Ageing is what keeps the middle tier from starving: an amber item at its SLA (40+30+...) ranks
above a fresh, low-confidence red one (65+5), while crisis (85+) always stays on top.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from triage.labels import RISK_LABELS, Tier

TIER_BASE = {Tier.CRISIS: 85, Tier.RED: 65, Tier.AMBER: 40, Tier.GREEN: 5}
LABEL_BASE = {"hostile": 35, "corumination": 30, "spam": 15, "self_harm": 40, "distress": 25}
CONFIDENCE_POINTS = 10
AGEING_POINTS = 30
# Only crisis reaches 100: without this a confident red item near its SLA (65+10+25) would tie
# with a crisis item that waited as long, at the cap (tests/test_properties.py found it).
BELOW_CRISIS_CEILING = 99
UNSCORED_PRIORITY = 60  # an item the model could not score is reviewed by a person soon
UNCERTAIN_REASON = "uncertain self-harm risk: routed to amber for a person to read"
# A post in a language the model does not read (triage/language.py): its scores say little, so
# its tier is at least this one and a person reads it within that tier's SLA.
UNREADABLE_LANGUAGE_TIER = Tier.AMBER


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
    ageing = ageing_points(waited_minutes, sla_minutes)
    if ageing:
        reasons.append(_ageing_reason(waited_minutes, sla_minutes, tier.value))
    ceiling = 100 if tier is Tier.CRISIS else BELOW_CRISIS_CEILING
    return Priority(min(ceiling, base + confidence + ageing), tuple(reasons))


def unreadable_language_reason(language: str) -> str:
    """Why a post went to a person whatever it scored: "language fr: the model does not read it
    (its scores are unreliable)". The model's own languages are not named: the queue re-ranks
    items long after the bundle that scored them was loaded, and keeps only this item's facts."""
    return f"language {language}: the model does not read it (its scores are unreliable)"


def at_least(tier: Tier, floor: Tier) -> Tier:
    """The more urgent of `tier` and `floor`."""
    return tier if tier.rank <= floor.rank else floor


def unscored_priority(waited_minutes: float = 0.0, sla_minutes: float | None = None) -> Priority:
    """An item the model could not score: a person reads it soon, and it ages like any other."""
    reasons = ["not scored (the model failed or timed out): a person must read it"]
    ageing = ageing_points(waited_minutes, sla_minutes)
    if ageing:
        reasons.append(_ageing_reason(waited_minutes, sla_minutes, "unscored"))
    return Priority(min(100, UNSCORED_PRIORITY + ageing), tuple(reasons))


def ageing_points(waited_minutes: float, sla_minutes: float | None) -> int:
    """0..AGEING_POINTS, growing linearly until the wait reaches the SLA (rounded half up)."""
    if not sla_minutes or waited_minutes <= 0:
        return 0
    share = min(waited_minutes / sla_minutes, 1.0)
    return math.floor(AGEING_POINTS * share + 0.5)


def minutes_until_ageing_changes(waited_minutes: float, sla_minutes: float | None) -> float | None:
    """How long until ageing_points() next grows; None when it never will (no SLA, or maxed).

    The queue stores each item's priority and recomputes it only when this says it changed, so
    ranking by priority stays an index scan however long the queue is.
    """
    if not sla_minutes:
        return None
    points = ageing_points(waited_minutes, sla_minutes)
    if points >= AGEING_POINTS:
        return None
    next_boundary = (points + 0.5) * sla_minutes / AGEING_POINTS
    return max(next_boundary - max(waited_minutes, 0.0), 1e-6)


def _ageing_reason(waited_minutes: float, sla_minutes: float | None, what: str) -> str:
    share = min(waited_minutes / (sla_minutes or 1.0), 1.0)
    return f"waited {share:.0%} of the {what} SLA ({sla_minutes:g} min)"
