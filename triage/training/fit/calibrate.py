"""Per-label Platt calibration and threshold choice, both fitted on the dev split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from triage.domain.calibration import Calibration
from triage.domain.labels import LABELS
from triage.paths import read_yaml


class ThresholdPolicy(BaseModel):
    """configs/thresholds.yaml."""

    model_config = ConfigDict(extra="forbid")
    target_recall: dict[str, float] = {}
    # The ordinal tier head (training/fit/tier_fit.py): crisis + red posts called crisis or red.
    tier_urgent_recall: float = Field(0.95, gt=0, le=1)
    # ... and the share the uncertain band (routed to amber, not green) must reach.
    tier_uncertain_recall: float = Field(0.99, gt=0, le=1)
    # ... unless that band would send more than this share of the everyday dev posts (unannotated,
    # self_harm 0 and distress 0) to amber: then its cut-off rises until it does not (None: off).
    tier_everyday_uncertain_share: float | None = Field(None, gt=0, lt=1)

    @field_validator("target_recall")
    @classmethod
    def _valid(cls, targets: dict[str, float]) -> dict[str, float]:
        for label, recall in targets.items():
            if label not in LABELS or not 0 < recall <= 1:
                raise ValueError(f"target_recall.{label}: need a known label and 0 < recall <= 1")
        return targets

    @classmethod
    def load(cls, path: Path) -> ThresholdPolicy:
        return cls.model_validate(read_yaml(path))


def fit_platt(logits: np.ndarray, targets: np.ndarray) -> Calibration:
    """Fit p = sigmoid(a * logit + b) by (nearly unregularised) logistic regression."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4, max_iter=1000)
    model.fit(logits.reshape(-1, 1).astype(np.float64), targets.astype(int))
    return Calibration(scale=float(model.coef_[0, 0]), bias=float(model.intercept_[0]))


def threshold_for_recall(probs: np.ndarray, targets: np.ndarray, recall: float) -> float:
    """The highest threshold whose recall on these scores is at least `recall`."""
    positives = np.sort(probs[targets == 1])[::-1]
    if len(positives) == 0:
        return 0.5
    needed = int(np.ceil(recall * len(positives)))
    return float(positives[max(needed, 1) - 1])


def threshold_max_f1(probs: np.ndarray, targets: np.ndarray) -> float:
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(targets, probs)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))]) if len(thresholds) else 0.5


def choose_threshold(
    label: str, probs: np.ndarray, targets: np.ndarray, policy: ThresholdPolicy
) -> float:
    if label in policy.target_recall:
        return threshold_for_recall(probs, targets, policy.target_recall[label])
    return threshold_max_f1(probs, targets)


def known_both_classes(targets: np.ndarray, mask: np.ndarray, j: int) -> np.ndarray | None:
    """Boolean index of rows where label j is known, or None unless both classes occur."""
    known = mask[:, j] == 1
    values = targets[known, j]
    if values.size == 0 or values.min() == values.max():
        return None
    return known
