"""Fit the ordinal tier head's calibration and cut-offs on the annotated dev posts (and, for the
uncertain band's floor, the everyday dev posts)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from triage.domain.calibration import Calibration
from triage.domain.labels import TIER_CUTS, URGENT_TIERS, Tier
from triage.domain.tiers import OrdinalTierModel
from triage.training.data.rows import Row
from triage.training.fit.calibrate import (
    ThresholdPolicy,
    fit_platt,
    threshold_for_recall,
    threshold_max_f1,
)
from triage.training.fit.tier_targets import annotated_cuts, gold_tiers, is_everyday_post

log = logging.getLogger(__name__)

MIN_ANNOTATED = 30  # fewer annotated dev posts than this: no tier head (rules decide tiers)


def fit_tier_model(
    cut_logits: np.ndarray, rows: Sequence[Row], policy: ThresholdPolicy
) -> OrdinalTierModel | None:
    """Platt-calibrate each cut and choose the cut-offs (see OrdinalTierModel)."""
    gold = np.array([t or "" for t in gold_tiers(list(rows))])
    annotated = gold != ""
    urgent = np.isin(gold[annotated], URGENT_TIERS)
    if annotated.sum() < MIN_ANNOTATED or urgent.sum() == 0 or urgent.all():
        log.warning(
            "tier head not used: %d annotated dev posts (%d urgent); tiers fall back to rules",
            annotated.sum(),
            urgent.sum(),
        )
        return None
    logits = cut_logits[annotated]
    targets = np.array([annotated_cuts(t) for t in gold[annotated]])
    calibration = tuple(
        fit_platt(logits[:, j], targets[:, j])
        if 0 < targets[:, j].sum() < len(targets)
        else Calibration()
        for j in range(len(TIER_CUTS))
    )
    calibrated = OrdinalTierModel(calibration, 1.0, 1.0, 1.0, 1.0)  # cut-offs chosen below
    probs = calibrated.cut_probabilities(logits)
    red = threshold_for_recall(probs[:, 1], urgent.astype(int), policy.tier_urgent_recall)
    uncertain = threshold_for_recall(probs[:, 1], urgent.astype(int), policy.tier_uncertain_recall)
    everyday = np.array([is_everyday_post(row) for row in rows], dtype=bool)
    share = policy.tier_everyday_uncertain_share if everyday.any() else None
    if share is not None:
        everyday_red = calibrated.cut_probabilities(cut_logits[everyday])[:, 1]
        uncertain = max(uncertain, everyday_floor(everyday_red, share))
    uncertain = min(red, uncertain)
    crisis_gold = (gold[annotated] == Tier.CRISIS.value).astype(int)
    crisis = threshold_max_f1(probs[:, 2], crisis_gold) if crisis_gold.any() else 1.0
    amber = threshold_max_f1(probs[:, 0], targets[:, 0])
    return OrdinalTierModel(
        calibration,
        crisis=round(max(crisis, red), 4),  # a crisis call is always also past the red cut-off
        red=round(red, 4),
        amber=round(amber, 4),
        uncertain=round(uncertain, 4),
        urgent_recall=policy.tier_urgent_recall,
        uncertain_recall=policy.tier_uncertain_recall,
        everyday_uncertain_share=share or 0.0,
    )


def everyday_floor(everyday_red: np.ndarray, share: float) -> float:
    """The lowest 4-decimal cut-off on P(>= red) that at most `share` of these everyday posts
    reach (the bundle stores cut-offs to 4 decimals, so the floor is rounded up, never down)."""
    allowed = int(np.floor(share * len(everyday_red)))
    ranked = np.sort(everyday_red)[::-1]
    if allowed >= len(ranked):
        return 0.0
    return float((np.floor(ranked[allowed] * 1e4) + 1) / 1e4)  # strictly above the first excluded
