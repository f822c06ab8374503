"""Platt calibration and thresholds fitted on the dev split: the export's first phase, and what
the teacher comparison (teacher_compare.py) repeats for the teacher."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from triage.domain.calibration import Calibration
from triage.domain.labels import LABELS
from triage.training.data.rows import Row
from triage.training.fit.calibrate import (
    ThresholdPolicy,
    choose_threshold,
    fit_platt,
    known_both_classes,
)
from triage.training.fit.tensor_batches import label_matrix


def trained_labels(rows: Sequence[Row]) -> tuple[str, ...]:
    """The labels with both classes among `rows` (the train split): the ones a head learnt."""
    targets, mask = label_matrix(rows)
    return tuple(
        name for j, name in enumerate(LABELS) if known_both_classes(targets, mask, j) is not None
    )


def fit_calibration(
    dev_logits: np.ndarray, dev_rows: Sequence[Row], labels: Sequence[str], policy: ThresholdPolicy
) -> tuple[dict[str, Calibration], dict[str, float]]:
    """Per-label calibration and threshold; an untrained label gets threshold 1 (never flags)."""
    targets, mask = label_matrix(dev_rows)
    calibration, thresholds = {}, {}
    for j, label in enumerate(LABELS):
        known = known_both_classes(targets, mask, j)
        if label not in labels or known is None:
            thresholds[label] = 1.0  # never flagged: untrained, or no dev data to set it
            continue
        calibration[label] = fit_platt(dev_logits[known, j], targets[known, j])
        probs = calibration[label].apply(dev_logits[known, j])
        thresholds[label] = round(choose_threshold(label, probs, targets[known, j], policy), 4)
    return calibration, thresholds


def calibrated(logits: np.ndarray, calibration: dict[str, Calibration]) -> np.ndarray:
    """Label probabilities (n, len(LABELS)) from logits whose first columns are the labels."""
    probs = np.full((len(logits), len(LABELS)), np.nan)
    for j, label in enumerate(LABELS):
        if label in calibration:
            probs[:, j] = calibration[label].apply(logits[:, j])
    return probs
