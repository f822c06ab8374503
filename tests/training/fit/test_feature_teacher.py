"""The feature teacher (training/fit/feature_teacher.py): heads on frozen features fill the cells a
row's source does not label, and never touch a labelled cell."""

from __future__ import annotations

import json

import numpy as np
import pytest

from triage.domain.labels import OUTPUTS
from triage.training.fit.args import TrainArgs
from triage.training.fit.feature_teacher import dev_report, fill_with_teacher, fit_heads, predict


def separable(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features whose first dimension decides output 0; every other output is noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = np.zeros((n, len(OUTPUTS)), dtype=np.float32)
    y[:, 0] = x[:, 0] > 0
    y[:, 1:] = rng.integers(0, 2, size=(n, len(OUTPUTS) - 1))
    return x, y


def test_labelled_cells_keep_their_labels_and_the_rest_take_the_teacher():
    targets = np.array([[1.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    mask = np.array([[5.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    teacher = np.array([[0.2, 0.7], [0.9, 0.4]], dtype=np.float32)
    filled, weights = fill_with_teacher(targets, mask, teacher, 0.3)
    np.testing.assert_allclose(filled, [[1.0, 0.7], [0.0, 0.4]])
    np.testing.assert_allclose(weights, [[5.0, 0.3], [1.0, 0.3]])


def test_a_head_learns_only_from_the_cells_that_carry_its_label():
    x, y = separable(4000)
    mask = np.ones_like(y)
    mask[2000:, 0] = 0  # output 0 unlabelled on the second half
    head = fit_heads(x, y, mask)
    scrambled = y.copy()
    scrambled[2000:, 0] = 1 - scrambled[2000:, 0]  # what the head must never have seen
    head_scrambled = fit_heads(x, scrambled, mask)
    assert np.allclose(predict(head, x), predict(head_scrambled, x))
    # and what it learnt from the labelled half carries to the unlabelled half
    report = dev_report(head, x[2000:], y[2000:], np.ones_like(y[2000:]))
    assert report[OUTPUTS[0]] > 0.95


def test_feature_teacher_args_are_checked():
    with pytest.raises(ValueError, match="feature_teacher"):
        TrainArgs(name="x", feature_teacher=("mpnet",))
    with pytest.raises(ValueError, match="feature_teacher"):
        TrainArgs(name="x", feature_teacher=("use", "use"))
    with pytest.raises(ValueError, match="feature_teacher_weight"):
        TrainArgs(name="x", feature_teacher=("use",), feature_teacher_weight=0)
    assert TrainArgs(name="x", feature_teacher=["minilm", "use"]).feature_teacher == (
        "minilm",
        "use",
    )


def test_training_with_a_feature_teacher_records_its_fit(
    tiny_encoder_dir, prepared_dir, tmp_path, monkeypatch
):
    """Encoders are replaced by cheap fake features (the real ones take minutes); what is
    checked is the wiring: the teacher is fitted, fills cells and is recorded."""
    from triage.training.fit import feature_teacher
    from triage.training.fit import train as train_module

    def fake_features(rows, encoders, cache_dir):
        assert tuple(encoders) == ("minilm", "use")
        return np.array([[len(r.text) % 7, len(r.text) % 3, 1.0] for r in rows], np.float32)

    monkeypatch.setattr(feature_teacher, "row_features", fake_features)
    args = TrainArgs(
        name="ft",
        data_dir=prepared_dir,
        output_dir=tmp_path,
        base_model=str(tiny_encoder_dir),
        max_length=32,
        epochs=1,
        max_steps=2,
        dev_limit=20,
        feature_teacher=("minilm", "use"),
        feature_teacher_weight=0.3,
    )
    best = train_module.train(args)
    record = json.loads((best / "train_record.json").read_text())
    fit = record["feature_teacher"]
    assert set(fit["filled_cells"]) == set(OUTPUTS)
    assert sum(fit["filled_cells"].values()) > 0  # the fixture's sources leave labels missing
    assert set(fit["dev_pr_auc"]) == set(OUTPUTS)
    assert record["args"]["feature_teacher"] == ["minilm", "use"]


def test_the_model_card_reports_the_teacher_only_when_there_was_one():
    from triage.training.export.card import feature_teacher_section

    assert feature_teacher_section({"args": {}}) == ""
    training = {
        "args": {"feature_teacher": ["minilm", "use"], "feature_teacher_weight": 0.3},
        "feature_teacher": {
            "dev_pr_auc": {"self_harm": 0.65, "tier>=crisis": None},
            "filled_cells": {"self_harm": 1200},
        },
    }
    section = feature_teacher_section(training)
    assert "minilm + use" in section and "loss weight\n0.3" in section
    assert "| self_harm | 0.650 | 1200 |" in section and "| tier>=crisis | - | 0 |" in section
