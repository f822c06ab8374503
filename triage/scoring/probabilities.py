"""Raw logits -> calibrated probabilities, with the calibration and tier head a bundle carries.

The maths is the domain's (triage/domain/calibration.py, triage/domain/tiers.py); this module
only picks, per output column, what the bundle was trained and calibrated with.
"""

from __future__ import annotations

import numpy as np

from triage.domain.labels import LABELS
from triage.scoring.bundle import Bundle


def label_probabilities(bundle: Bundle, logits: np.ndarray) -> np.ndarray:
    """(n, labels) calibrated label probabilities; NaN for labels the bundle was not trained on,
    a plain sigmoid for a trained label without a calibration."""
    probs = np.full((len(logits), len(LABELS)), np.nan, dtype=np.float64)
    for j, label in enumerate(LABELS):
        if label in bundle.trained_labels:
            calibration = bundle.calibration.get(label)
            probs[:, j] = calibration.apply(logits[:, j]) if calibration else sigmoid(logits[:, j])
    return probs


def cut_probabilities(bundle: Bundle, logits: np.ndarray) -> np.ndarray | None:
    """(n, 3) monotone P(tier >= amber, red, crisis), or None without a tier head."""
    model = bundle.tier_model
    return model.cut_probabilities(logits[:, len(LABELS) :]) if model else None


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
