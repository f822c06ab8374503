"""Platt scaling of a logit into a calibrated probability (serving-safe: numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """p = sigmoid(scale * logit + bias), fitted on the dev split."""

    scale: float = 1.0
    bias: float = 0.0

    def apply(self, logits: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # exp overflows to inf for very negative z: p = 0
            return 1.0 / (1.0 + np.exp(-(self.scale * logits + self.bias)))
