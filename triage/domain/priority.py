"""Pure: tier + flags + calibrated scores + time waited -> priority 0-100 and its reasons.

priority = max(tier base, base of each flagged label)
         + up to confidence_points for the evidence that the item belongs in the next tier up
         + up to ageing_points as the item's wait approaches its tier's SLA
         + up to report_points_cap for members' reports, weighted by each reporter's record.

The points are policy, so they live in configs/tiers.yaml (`priority:`, validated against the
taxonomy by tier_rules.PriorityPoints) and every function here takes them as an argument.

The within-tier points (`escalation_evidence`) separate imminent risk from distress: with a tier
head they are P(tier >= the next tier up) (crisis: P(>= crisis)); without one, the self_harm
score, and in green also distress. They used to come from the highest flagged, self_harm or
distress score, so a plain anxiety post (distress 0.99) got the same points as a post with the
pills in front of its writer (issue 13). Distress never counts from amber up, so it can never
rank an item above one of the same tier with stronger self-harm evidence.

Ageing is what keeps the middle tier from starving: with the shipped points an amber item at
its SLA (42+30) ranks above a fresh red one with up to half the evidence for crisis (65+5+1 for
its first minute), while crisis (85+) always stays on top. Amber's base was 40 while its points
could come from distress, which gave every amber post a few; with distress out, two base points
keep that promise (with the shipped tier head a red post has P(>= crisis) under its 0.49
cut-off, so no fresh red one outranks an amber one at its SLA).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from triage.domain.labels import RISK_LABELS, SELF_HARM, Tier
from triage.domain.tier_rules import PriorityPoints

UNCERTAIN_REASON = "uncertain self-harm risk: routed to amber for a person to read"
# A post in a language the model does not read (triage/scoring/language.py): its scores say little,
# so its tier is at least this one and a person reads it within that tier's SLA.
UNREADABLE_LANGUAGE_TIER = Tier.AMBER
# A post flagged self_harm is never shown green (tiers.py floor_for_self_harm): at least amber,
# not red, because the guideline puts past self-harm told as recovery in green or amber, and the
# self_harm flag (a low, recall-first threshold) fires on such posts; amber has a person read it
# within amber's SLA without swamping red. The reason is the rule, not "the tier model said
# green": the queue re-ranks from stored facts, which do not keep the tier before the floor.
SELF_HARM_FLOOR_TIER = Tier.AMBER
SELF_HARM_FLOOR_REASON = "self_harm flagged: at least amber whatever the tier model says"
# The cut of the tier head whose probability is the within-tier evidence of each tier: the next
# tier up, and crisis for crisis (the tier_scores keys: P(tier >= amber / red / crisis)).
NEXT_TIER_UP = {
    Tier.GREEN: Tier.AMBER,
    Tier.AMBER: Tier.RED,
    Tier.RED: Tier.CRISIS,
    Tier.CRISIS: Tier.CRISIS,
}
# Without a tier head, the scores that are evidence for the next tier up (the highest counts).
# Self-harm is what separates the urgent tiers; distress counts only in green, where it is what
# would make a post amber (configs/tiers.yaml) and there is no self-harm evidence to outrank.
ESCALATION_LABELS: dict[Tier, tuple[str, ...]] = {
    Tier.CRISIS: (SELF_HARM,),
    Tier.RED: (SELF_HARM,),
    Tier.AMBER: (SELF_HARM,),
    Tier.GREEN: RISK_LABELS,
}


@dataclass(frozen=True)
class Priority:
    value: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MemberReports:
    """An item's member reports: how many members reported it, for which reasons, and the sum
    of their weights (each reporter's record when they reported)."""

    count: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)
    weight: float = 0.0


def report_points(reports: MemberReports | None, *, points: PriorityPoints) -> int:
    """0..report_points_cap: report_points per unit of summed reporter weight. Members' reports
    (POST /v1/reports) add points kept apart from the model's: they reorder within what the
    model saw and never change the tier, the flags, or what is shown."""
    if not reports or reports.count <= 0:
        return 0
    weight = reports.weight if math.isfinite(reports.weight) else 0.0
    per_report = points.report_points
    return min(points.report_points_cap, math.floor(per_report * max(weight, 0.0) + 0.5))


def report_reason(reports: MemberReports) -> str:
    """ "reported by 3 members: bullying (2), spam" (most frequent reason first)."""
    members = "member" if reports.count == 1 else "members"
    ranked = sorted(reports.reasons.items(), key=lambda pair: (-pair[1], pair[0]))
    named = ", ".join(reason if n == 1 else f"{reason} ({n})" for reason, n in ranked)
    return f"reported by {reports.count} {members}: {named}"


def compute_priority(
    tier: Tier,
    flags: Sequence[str],
    scores: Mapping[str, float | None],
    waited_minutes: float = 0.0,
    sla_minutes: float | None = None,
    tier_scores: Mapping[str, float] | None = None,
    reports: MemberReports | None = None,
    *,
    points: PriorityPoints,
) -> Priority:
    """The priority of a scored item. The scorer and the queue's re-ranking (queue/ranking.py
    rank()) both call this with the item's tier, flags, scores and tier_scores as stored; the
    queue adds the item's member reports (report_points)."""
    base = points.tier_base[tier]
    reasons = [f"tier {tier.value}"] if tier is not Tier.GREEN else []
    for label in flags:
        base = max(base, points.label_base.get(label, 0))
        reasons.append(f"flag {label} ({scores.get(label) or 0:.2f})")
    if tier is SELF_HARM_FLOOR_TIER and SELF_HARM in flags:
        reasons.append(SELF_HARM_FLOOR_REASON)
    evidence = escalation_evidence(tier, scores, tier_scores)
    confidence = round(points.confidence_points * evidence)
    ageing = ageing_points(waited_minutes, sla_minutes, points=points)
    if ageing:
        reasons.append(_ageing_reason(waited_minutes, sla_minutes, tier.value))
    reported = _add_report_reason(reasons, reports, points)
    ceiling = 100 if tier is Tier.CRISIS else points.below_crisis_ceiling
    return Priority(min(ceiling, base + confidence + ageing + reported), tuple(reasons))


def _add_report_reason(
    reasons: list[str], reports: MemberReports | None, points: PriorityPoints
) -> int:
    """Append the reports' reason (when any member reported) and return their points."""
    if reports and reports.count > 0:
        reasons.append(report_reason(reports))
    return report_points(reports, points=points)


def escalation_evidence(
    tier: Tier,
    scores: Mapping[str, float | None],
    tier_scores: Mapping[str, float] | None = None,
) -> float:
    """0..1: the evidence that an item of `tier` belongs in the next tier up.

    With a tier head (`tier_scores`), its calibrated P(tier >= NEXT_TIER_UP[tier]); without
    one, the highest known score of ESCALATION_LABELS[tier]. NaN or missing counts as 0.
    """
    if tier_scores:
        value = tier_scores.get(NEXT_TIER_UP[tier].value)
        return _probability(value)
    known = [_probability(scores.get(label)) for label in ESCALATION_LABELS[tier]]
    return max(known, default=0.0)


def _probability(value: float | None) -> float:
    if value is None or math.isnan(value):
        return 0.0
    return min(max(float(value), 0.0), 1.0)


def unreadable_language_reason(language: str) -> str:
    """Why a post went to a person whatever it scored: "language fr: the model does not read it
    (its scores are unreliable)". The model's own languages are not named: the queue re-ranks
    items long after the bundle that scored them was loaded, and keeps only this item's facts."""
    return f"language {language}: the model does not read it (its scores are unreliable)"


# A post that shares a crisis resource is not flagged spam (triage/domain/resource_guard.py); the
# scorer says so, and the queue, which re-ranks from stored facts, says it again from the
# resource's name stored with the item.
CRISIS_RESOURCE_REASON = "shares a crisis resource ({}): not flagged as spam"


def crisis_resource_reason(resource: str) -> str:
    return CRISIS_RESOURCE_REASON.format(resource)


def crisis_resource_in(reasons: Sequence[str]) -> str | None:
    """The resource named by a crisis_resource_reason among `reasons`; None if none is."""
    before, after = CRISIS_RESOURCE_REASON.split("{}")
    for reason in reasons:
        if reason.startswith(before) and reason.endswith(after):
            return reason[len(before) : len(reason) - len(after)]
    return None


def at_least(tier: Tier, floor: Tier) -> Tier:
    """The more urgent of `tier` and `floor`."""
    return tier if tier.rank <= floor.rank else floor


def unscored_priority(
    waited_minutes: float = 0.0,
    sla_minutes: float | None = None,
    reports: MemberReports | None = None,
    *,
    points: PriorityPoints,
) -> Priority:
    """An item the model could not score: a person reads it soon, and it ages like any other."""
    reasons = ["not scored (the model failed or timed out): a person must read it"]
    ageing = ageing_points(waited_minutes, sla_minutes, points=points)
    if ageing:
        reasons.append(_ageing_reason(waited_minutes, sla_minutes, "unscored"))
    reported = _add_report_reason(reasons, reports, points)
    value = min(points.below_crisis_ceiling, points.unscored_priority + ageing + reported)
    return Priority(value, tuple(reasons))


def ageing_points(
    waited_minutes: float, sla_minutes: float | None, *, points: PriorityPoints
) -> int:
    """0..ageing_points, growing linearly until the wait reaches the SLA (rounded half up)."""
    if not sla_minutes or waited_minutes <= 0:
        return 0
    share = min(waited_minutes / sla_minutes, 1.0)
    return math.floor(points.ageing_points * share + 0.5)


def minutes_until_ageing_changes(
    waited_minutes: float, sla_minutes: float | None, *, points: PriorityPoints
) -> float | None:
    """How long until ageing_points() next grows; None when it never will (no SLA, or maxed).

    The queue stores each item's priority and recomputes it only when this says it changed, so
    ranking by priority stays an index scan however long the queue is.
    """
    if not sla_minutes:
        return None
    most = points.ageing_points
    earned = ageing_points(waited_minutes, sla_minutes, points=points)
    if earned >= most:
        return None
    next_boundary = (earned + 0.5) * sla_minutes / most
    return max(next_boundary - max(waited_minutes, 0.0), 1e-6)


def _ageing_reason(waited_minutes: float, sla_minutes: float | None, what: str) -> str:
    share = min(waited_minutes / (sla_minutes or 1.0), 1.0)
    return f"waited {share:.0%} of the {what} SLA ({sla_minutes:g} min)"
