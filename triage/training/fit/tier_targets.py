"""Targets for the ordinal tier outputs P(tier >= amber), P(tier >= red), P(tier >= crisis).

A row annotated by the guideline (docs/annotation/self_harm_tiers.md) gives all three. Other
rows give the cuts their binary labels imply, and leave the rest missing (masked):

| binary labels | >= amber | >= red | >= crisis |
|---|---|---|---|
| self_harm 1, or distress 1 | 1 | - | - |
| self_harm 0 and distress 0 | 0 | 0 | 0 |
| self_harm 0, distress missing | - | 0 | 0 |
| self_harm 0, distress 1 (e.g. r/depression) | 1 | - | - |

r/depression posts (self_harm 0 by subreddit) often voice ideation, so they say nothing about red.
Annotated targets get `annotation_weight` in the loss mask, weak ones 1: there are a few hundred
annotated posts against tens of thousands of weakly labelled ones.
"""

from __future__ import annotations

import numpy as np

from triage.domain.labels import DISTRESS, SELF_HARM, TIER_CUTS, Tier
from triage.training.data.rows import Row

MISSING = None


def weak_cuts(labels: dict[str, int | None]) -> list[int | None]:
    self_harm, distress = labels.get(SELF_HARM), labels.get(DISTRESS)
    if self_harm == 1 or distress == 1:
        return [1, MISSING, MISSING]
    if self_harm == 0 and distress == 0:
        return [0, 0, 0]
    if self_harm == 0:
        return [MISSING, 0, 0]
    return [MISSING, MISSING, MISSING]


def is_everyday_post(row: Row) -> bool:
    """Not annotated, and known to carry neither self-harm nor distress: all three weak cuts are
    0 (GoEmotions, CounselChat answers, control subreddits). Used as green negatives for the
    tier-cut refits and to measure how many such posts a tier head raises (bench/tier_policy.py)."""
    if row.annotation is not None and row.annotation.tier:
        return False
    return weak_cuts(row.labels) == [0, 0, 0]


def annotated_cuts(tier: str) -> list[int]:
    rank = Tier(tier).rank  # 0 = crisis ... 3 = green
    return [int(rank <= cut.rank) for cut in TIER_CUTS]


def tier_matrix(
    rows: list[Row], annotation_weight: float = 1.0, synthetic_weight: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(targets, mask) of shape (n_rows, 3); mask holds the loss weight, 0 where missing.

    A synthetic row's written tier weighs `synthetic_weight`, not `annotation_weight`: the
    synthetic rows are a few percent of all rows but would otherwise be a third of the weight of
    the annotated tiers, and a tier head that learns their written style would also flatter the
    written evaluation casebook."""
    targets = np.zeros((len(rows), len(TIER_CUTS)), dtype=np.float32)
    mask = np.zeros_like(targets)
    for i, row in enumerate(rows):
        tier = row.annotation.tier if row.annotation else None
        cuts = annotated_cuts(tier) if tier else weak_cuts(row.labels)
        weight = (synthetic_weight if row.synthetic else annotation_weight) if tier else 1.0
        for j, value in enumerate(cuts):
            if value is not None:
                targets[i, j], mask[i, j] = value, weight
    return targets, mask


def gold_tiers(rows: list[Row]) -> list[str | None]:
    """The annotated tier of each row (None where not annotated)."""
    return [row.annotation.tier if row.annotation else None for row in rows]
