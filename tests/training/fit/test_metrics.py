"""Metric helpers against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from triage.training.fit.label_metrics import (
    expected_calibration_error,
    label_metrics,
    recall_at_precision,
)


def test_ece_is_zero_when_scores_match_rates_and_large_when_not():
    probs = np.array([0.25] * 4 + [0.75] * 4)
    targets = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert expected_calibration_error(probs, targets) == pytest.approx(0.0)
    assert expected_calibration_error(np.full(4, 0.9), np.zeros(4)) == pytest.approx(0.9)


def test_recall_at_precision():
    probs = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    targets = np.array([1, 1, 0, 1, 0])
    assert recall_at_precision(probs, targets, 0.8) == pytest.approx(2 / 3)  # 1.0 precision
    assert recall_at_precision(probs, targets, 0.75) == pytest.approx(1.0)  # 3/4 at 0.6


def test_label_metrics_at_threshold():
    m = label_metrics(np.array([0.9, 0.4, 0.6, 0.1]), np.array([1, 1, 0, 0]), threshold=0.5)
    assert (m["precision"], m["recall"], m["f1"]) == (0.5, 0.5, 0.5)
    assert m["n"] == 4 and m["positives"] == 2


def test_macro_f1_averages_both_classes():

    probs = np.array([0.9, 0.8, 0.2, 0.1, 0.7])
    targets = np.array([1, 0, 1, 0, 0])
    # at 0.5: tp 1, fp 2, fn 1, tn 1 -> F1(pos) 0.4, F1(neg) 0.4
    assert label_metrics(probs, targets, 0.5)["macro_f1"] == pytest.approx(0.4)
