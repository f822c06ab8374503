"""Per-label metrics on rows where the label is known."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from triage.domain.labels import LABELS


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean score| over equal-width score bins, weighted by bin size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probs, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            error += in_bin.mean() * abs(targets[in_bin].mean() - probs[in_bin].mean())
    return float(error)


def recall_at_precision(probs: np.ndarray, targets: np.ndarray, precision: float) -> float:
    """The best recall among thresholds whose precision is at least `precision` (0 if none)."""
    from sklearn.metrics import precision_recall_curve

    precisions, recalls, _ = precision_recall_curve(targets, probs)
    ok = precisions >= precision
    return float(recalls[ok].max()) if ok.any() else 0.0


def label_metrics(probs: np.ndarray, targets: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    predicted = probs >= threshold
    positives = int(targets.sum())
    tp = int((predicted & (targets == 1)).sum())
    fp = int((predicted & (targets == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    tn = int((~predicted & (targets == 0)).sum())
    fn = positives - tp
    f1_negative = 2 * tn / (2 * tn + fn + fp) if tn + fn + fp else 0.0
    both = 0 < positives < len(targets)
    return {
        "n": int(len(targets)),
        "positives": positives,
        "pr_auc": float(average_precision_score(targets, probs)) if both else float("nan"),
        "roc_auc": float(roc_auc_score(targets, probs)) if both else float("nan"),
        "threshold": float(threshold),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "macro_f1": (f1 + f1_negative) / 2,  # mean F1 of both classes, as OLID reports
        "recall_at_precision_0.8": recall_at_precision(probs, targets, 0.8) if both else 0.0,
        "ece": expected_calibration_error(probs, targets),
    }


def all_label_metrics(
    probs: np.ndarray, targets: np.ndarray, mask: np.ndarray, thresholds: Mapping[str, float]
) -> dict[str, dict[str, float]]:
    """label -> metrics, for every label with at least one known value and both classes."""
    report = {}
    for j, name in enumerate(LABELS):
        known = mask[:, j] == 1
        if known.sum() == 0 or targets[known, j].min() == targets[known, j].max():
            continue
        report[name] = label_metrics(probs[known, j], targets[known, j], thresholds.get(name, 0.5))
    return report


def mean_pr_auc(report: dict[str, dict[str, float]]) -> float:
    values = [m["pr_auc"] for m in report.values() if not np.isnan(m["pr_auc"])]
    return float(np.mean(values)) if values else 0.0
