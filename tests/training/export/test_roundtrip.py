"""train -> export -> score on a tiny model: every artefact the bundle promises is there."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_cli
from triage.domain.labels import LABELS
from triage.scoring.bundle import BundleError, load_bundle
from triage.scoring.encoding import pad
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.settings import Settings


def test_checkpoint_has_training_record(tiny_checkpoint):
    record = json.loads((tiny_checkpoint / "train_record.json").read_text())
    assert record["steps"] > 0
    assert record["history"][-1]["dev_mean_pr_auc"] >= 0
    assert "CPU" in record["hardware"] or "CUDA" in record["hardware"]


def test_bundle_describes_itself(tiny_bundle):
    bundle = load_bundle(tiny_bundle)
    info = bundle.info
    assert bundle.labels == LABELS
    assert set(info["thresholds"]) == set(LABELS)
    assert "corumination" not in bundle.trained_labels  # no data for it in the fixture
    assert info["thresholds"]["corumination"] == 1.0
    assert set(info["metrics"]["int8_onnx"]) == set(bundle.trained_labels)
    for name in ("model.onnx", "tokenizer.json", "bundle.json", "MODEL_CARD.md"):
        assert (tiny_bundle / name).is_file()
    card = (tiny_bundle / "MODEL_CARD.md").read_text()
    assert "## Metrics" in card and "## Limits" in card and "TF-IDF" in card


def test_export_is_int8(tiny_bundle):
    import onnx

    graph = onnx.load(str(tiny_bundle / "model.onnx")).graph
    ops = {node.op_type for node in graph.node}
    assert ops & {"MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul"}, ops


def test_onnx_matches_torch_within_tolerance(tiny_bundle, tiny_checkpoint, prepared_dir):
    from triage.training.export.dev_calibration import calibrated
    from triage.training.export.onnx import torch_logits
    from triage.training.export.parity import INT8_MAX_PROB_TOL
    from triage.training.fit.model import load_checkpoint

    bundle = load_bundle(tiny_bundle)
    scorer = OnnxScorer(bundle, Settings().tier_rules, evidence=False)
    texts = ["I want to end my life", "free prize call now", "have a nice day", "you idiot"]
    model, _ = load_checkpoint(tiny_checkpoint)
    batches = [pad([scorer.encoder.encode(t)]) for t in texts]
    reference = calibrated(torch_logits(model, batches), bundle.calibration)
    served = scorer.probabilities(texts, [None] * len(texts))
    assert np.nanmax(np.abs(served - reference)) <= INT8_MAX_PROB_TOL
    assert bundle.info["parity"]["fp32_max_abs_logit_diff"] <= 1e-3


def test_export_refuses_a_drifting_model(tiny_checkpoint, prepared_dir, tmp_path, monkeypatch):
    from triage.training.export import exporter as export
    from triage.training.export import parity

    monkeypatch.setattr(parity, "INT8_MEAN_PROB_TOL", 0.0)
    monkeypatch.setattr(parity, "INT8_P99_PROB_TOL", 0.0)
    monkeypatch.setattr(parity, "INT8_MAX_PROB_TOL", 0.0)
    with pytest.raises(parity.ExportParityError):
        export.export_bundle(export.ExportArgs(tiny_checkpoint, prepared_dir, tmp_path / "b"))
    assert not (tmp_path / "b").exists() and not (tmp_path / "b.partial").exists()


def test_export_refuses_a_pr_auc_drift_and_keeps_the_old_bundle(
    tiny_checkpoint, prepared_dir, tiny_bundle, tmp_path, monkeypatch
):
    import shutil

    from triage.training.export import exporter as export
    from triage.training.export import parity

    out = tmp_path / "kept"
    shutil.copytree(tiny_bundle, out)
    before = (out / "bundle.json").read_text()
    monkeypatch.setattr(parity, "INT8_PR_AUC_TOL", -1.0)
    with pytest.raises(parity.ExportParityError, match="PR-AUC"):
        export.export_bundle(export.ExportArgs(tiny_checkpoint, prepared_dir, out))
    assert (out / "bundle.json").read_text() == before


def test_scores_do_not_depend_on_batch_neighbours(tiny_bundle):
    scorer = OnnxScorer(load_bundle(tiny_bundle), Settings().tier_rules, evidence=False)
    target = ScoreInput("t", "I wrote a goodbye note and I have the pills")
    alone = scorer.score([target])[0].scores
    noisy = [ScoreInput(str(i), "WIN!!! " * (i * 7 + 1)) for i in range(5)]
    crowded = scorer.score([*noisy, target, *noisy])[5].scores
    assert alone == crowded


def test_untrained_label_scores_null_and_never_flags(tiny_bundle):
    scorer = OnnxScorer(load_bundle(tiny_bundle), Settings().tier_rules)
    result = scorer.score([ScoreInput("a", "we keep going over how awful it all is")])[0]
    assert result.scores["corumination"] is None
    assert "corumination" not in result.flags
    assert all(0.0 <= v <= 1.0 for k, v in result.scores.items() if v is not None)


def test_bundle_with_other_labels_is_refused(tiny_bundle, tmp_path):
    import shutil

    copy = tmp_path / "bad"
    shutil.copytree(tiny_bundle, copy)
    info = json.loads((copy / "bundle.json").read_text())
    info["labels"] = ["self_harm", "spam"]
    (copy / "bundle.json").write_text(json.dumps(info))
    with pytest.raises(BundleError, match="do not match the taxonomy"):
        load_bundle(copy)


def test_tampered_model_is_refused(tiny_bundle, tmp_path):
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(tiny_bundle, copy)
    with (copy / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(copy)


def test_score_file_cli(tiny_bundle, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": "1", "text": "free prize call now"}\n'
        '{"id": "2", "text": "you idiot", "parent_text": "I feel low"}\n'
    )
    out = tmp_path / "out.jsonl"
    result = run_cli("score-file", source, "--out", out, "--bundle", tiny_bundle)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["1", "2"]
    assert {"id", "scores", "flags", "tier", "priority", "evidence"} <= set(lines[0])
    assert set(lines[0]["scores"]) == set(LABELS)


def test_score_file_names_the_bad_line(tiny_bundle, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "1", "text": "fine"}\n{"id": "2", "text": ""}\n')
    result = run_cli("score-file", source, "--out", tmp_path / "o", "--bundle", tiny_bundle)
    assert result.exit_code != 0 and "1 of 2 lines failed" in result.output
    bad = json.loads((tmp_path / "o").read_text().splitlines()[1])  # more in test_score_file.py
    assert bad["line"] == 2 and bad["error"]["details"][0]["field"] == "text"


def test_export_cli_prints_model_and_baseline(tiny_checkpoint, prepared_dir, tmp_path):
    out = tmp_path / "cli-bundle"
    result = run_cli(
        "export", "--checkpoint", tiny_checkpoint, "--data", prepared_dir, "--out", out
    )
    assert result.exit_code == 0, result.output
    assert "PR-AUC TF-IDF+LR" in result.output and "PR-AUC int8" in result.output
    assert (out / "bundle.json").is_file()


def test_evaluate_writes_json_markdown_and_plots(tiny_bundle, prepared_dir, tmp_path):
    out = tmp_path / "eval"
    result = run_cli("evaluate", "--bundle", tiny_bundle, "--data", prepared_dir, "--out", out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "evaluation.json").read_text())
    trained = set(load_bundle(tiny_bundle).trained_labels)
    assert set(report["int8_onnx"]) == trained == set(report["tfidf_lr_baseline"])
    for metrics in report["int8_onnx"].values():
        assert 0 <= metrics["ece"] <= 1 and 0 <= metrics["recall_at_precision_0.8"] <= 1
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == sorted(f"reliability_{label}.png" for label in trained)
    assert all((out / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)
    assert "PR-AUC TF-IDF+LR" in (out / "EVALUATION.md").read_text()
