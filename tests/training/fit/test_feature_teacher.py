"""The feature teacher (training/fit/feature_teacher.py): heads on frozen features fill the cells a
row's source does not label, and never touch a labelled cell."""

from __future__ import annotations

import json
import zlib

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


def _reply(rid: str, *, parent: str | None = "a post", synthetic: bool = False, annotated=False):
    from triage.training.data.rows import Annotation, Row

    return Row(
        rid,
        "a reply",
        "counter-context",
        rid,
        "train",
        parent_text=parent,
        annotation=Annotation(hostile="hostile") if annotated else None,
        synthetic=synthetic,
    )


def test_pair_blend_moves_only_the_public_reply_pairs_labelled_cells():
    from triage.training.fit.feature_teacher import blend_pair_labels

    rows = [
        _reply("public"),
        _reply("no-parent", parent=None),
        _reply("written", synthetic=True),
        _reply("annotated", annotated=True),
        _reply("unlabelled"),
    ]
    hostile = OUTPUTS.index("hostile")
    targets = np.zeros((len(rows), len(OUTPUTS)), dtype=np.float32)
    targets[:, hostile] = 1.0
    mask = np.ones_like(targets)
    mask[4, hostile] = 0  # the teacher's fill, not the blend, handles an unlabelled cell
    teacher = np.full_like(targets, 0.2)
    blended = blend_pair_labels(targets, mask, rows, teacher, {"hostile": 0.5})
    np.testing.assert_allclose(blended[:, hostile], [0.6, 1.0, 1.0, 1.0, 1.0])
    other = [j for j in range(len(OUTPUTS)) if j != hostile]
    np.testing.assert_array_equal(blended[:, other], targets[:, other])


def test_out_of_fold_predictions_never_see_their_own_rows_labels():
    from triage.training.fit.feature_teacher import out_of_fold

    x, y = separable(1500)
    mask = np.ones_like(y)
    groups = [f"g{i // 3}" for i in range(len(x))]  # three rows a group: a group stays together
    oof = out_of_fold(x, y, mask, groups, folds=3, seed=7)
    fold_of = np.array([zlib.crc32(f"7:{g}".encode()) % 3 for g in groups])
    held = fold_of == 0
    scrambled = y.copy()
    scrambled[held] = 1 - scrambled[held]
    oof_scrambled = out_of_fold(x, scrambled, mask, groups, folds=3, seed=7)
    np.testing.assert_allclose(oof[held], oof_scrambled[held])  # fold 0 never saw its labels
    assert not np.allclose(oof[~held], oof_scrambled[~held])  # the other folds did
    assert dev_report_auc(oof[:, 0], y[:, 0]) > 0.8  # and it still learns out of fold


def dev_report_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def test_pair_blend_args_are_checked():
    with pytest.raises(ValueError, match="feature_teacher_pair_blend"):
        TrainArgs(name="x", feature_teacher=("use",), feature_teacher_pair_blend={"tier": 0.5})
    with pytest.raises(ValueError, match="feature_teacher_pair_blend"):
        TrainArgs(name="x", feature_teacher=("use",), feature_teacher_pair_blend={"hostile": 0})
    with pytest.raises(ValueError, match="needs a feature_teacher"):
        TrainArgs(name="x", feature_teacher_pair_blend={"hostile": 0.5})
    args = TrainArgs(
        name="x", feature_teacher=("use",), feature_teacher_pair_blend={"hostile": 0.5}
    )
    assert args.feature_teacher_pair_blend == {"hostile": 0.5}
    assert TrainArgs(name="x").feature_teacher_pair_blend == {}


def test_teach_blends_the_public_pairs_and_counts_them(monkeypatch, tmp_path):
    from triage.training.fit import feature_teacher

    rows = [_reply(f"r{i}", parent=None if i % 4 == 0 else "a post") for i in range(200)]
    x, y = separable(200, seed=3)
    monkeypatch.setattr(feature_teacher, "row_features", lambda rows, encoders, cache: x)
    mask = np.ones_like(y)
    hostile = OUTPUTS.index("hostile")
    plain = feature_teacher.teach(
        rows, y, mask, rows, y, mask, encoders=("use",), weight=0.3, cache_dir=tmp_path, seed=1
    )
    blended = feature_teacher.teach(
        rows,
        y,
        mask,
        rows,
        y,
        mask,
        encoders=("use",),
        weight=0.3,
        cache_dir=tmp_path,
        seed=1,
        pair_blend={"hostile": 0.5},
    )
    np.testing.assert_array_equal(plain[0], y)  # every cell labelled: nothing to fill
    pairs = np.array([row.parent_text is not None for row in rows])
    assert not np.allclose(blended[0][pairs, hostile], y[pairs, hostile])
    np.testing.assert_array_equal(blended[0][~pairs, hostile], y[~pairs, hostile])
    assert blended[2].filled_cells["hostile (blended pairs)"] == int(pairs.sum()) == 150
