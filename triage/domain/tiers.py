"""Pure: scores -> self-harm risk tier.

Two ways, chosen by the bundle: a bundle with an ordinal tier head (issue 6) decides by
`ordinal_tier` on its calibrated cut probabilities; an older bundle falls back to the rules in
configs/tiers.yaml over the self_harm and distress scores (`assign_tier`). Either way a post
flagged self_harm is never green (`floor_for_self_harm`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from triage.domain.calibration import Calibration
from triage.domain.labels import SELF_HARM, Tier
from triage.domain.priority import SELF_HARM_FLOOR_TIER, at_least
from triage.domain.tier_rules import TierRules


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


@dataclass(frozen=True)
class OrdinalTierModel:
    """The bundle's ordinal tier output: calibrated P(tier >= cut) and the cut-offs on them.

    Fitted by `triage export` on the annotated dev posts (training/fit/tier_fit.py):
    - `red` is the highest cut-off on P(>= red) that still puts `urgent_recall` of the dev posts
      annotated crisis or red into crisis or red;
    - `uncertain` is a lower cut-off on P(>= red) (reaching `uncertain_recall`): a post between
      the two is not called red, but it is routed to amber (a person reads it) rather than green;
    - `crisis` and `amber` maximise F1 for their cut on dev;
    - `everyday_uncertain_share` (0: none) is the share of everyday dev posts (unannotated,
      self_harm 0 and distress 0) the uncertain band was allowed to send to amber: where
      `uncertain_recall` would have sent more, `uncertain` was raised (uncertain_recall not met).
    """

    calibration: tuple[Calibration, ...]  # one per TIER_CUTS entry
    crisis: float
    red: float
    amber: float
    uncertain: float
    urgent_recall: float = 0.0
    uncertain_recall: float = 0.0
    everyday_uncertain_share: float = 0.0

    @classmethod
    def from_json(cls, data: dict) -> OrdinalTierModel:
        return cls(**{**data, "calibration": tuple(Calibration(**c) for c in data["calibration"])})

    def to_json(self) -> dict:
        return {**asdict(self), "calibration": [asdict(c) for c in self.calibration]}

    def cut_probabilities(self, logits: np.ndarray) -> np.ndarray:
        """(n, 3) calibrated P(>= amber), P(>= red), P(>= crisis), made monotone upwards: a
        higher cut never has a higher probability than a lower one (erring towards urgency)."""
        probs = np.stack([c.apply(logits[:, j]) for j, c in enumerate(self.calibration)], axis=1)
        red_up = np.maximum(probs[:, 1], probs[:, 2])
        amber_up = np.maximum(probs[:, 0], red_up)
        return np.stack([amber_up, red_up, probs[:, 2]], axis=1)


@dataclass(frozen=True)
class TierDecision:
    tier: Tier
    uncertain: bool  # routed to amber by the uncertain band, not by the amber cut-off


def ordinal_tier(cut_probs: Sequence[float], model: OrdinalTierModel) -> TierDecision:
    """The tier from one post's monotone cut probabilities (amber, red, crisis)."""
    amber_up, red_up, crisis_up = (float(p) for p in cut_probs)
    if crisis_up >= model.crisis:
        return TierDecision(Tier.CRISIS, False)
    if red_up >= model.red:
        return TierDecision(Tier.RED, False)
    if amber_up >= model.amber:
        return TierDecision(Tier.AMBER, False)
    if red_up >= model.uncertain:
        return TierDecision(Tier.AMBER, True)
    return TierDecision(Tier.GREEN, False)


def floor_for_self_harm(tier: Tier, flags: Sequence[str]) -> Tier:
    """At least SELF_HARM_FLOOR_TIER (amber) when self_harm is flagged, whatever the tier head
    or the rules said: a flagged post is read by a person (issue 13: "i cant do this anymore,
    wrote my note" was flagged self_harm yet shown green). Why amber: priority.py."""
    return at_least(tier, SELF_HARM_FLOOR_TIER) if SELF_HARM in flags else tier
