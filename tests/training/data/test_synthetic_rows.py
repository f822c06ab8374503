"""Synthetic training rows (synthetic/, issue 13): read as train only, kept away from what
evaluates (casebook, test and dev rows), capped at 15% of training rows, and reported."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli, write_prepared
from triage.domain.labels import LABELS
from triage.paths import DEFAULT_CASEBOOK, PROJECT_ROOT, read_yaml
from triage.training.data.adapters import ADAPTERS, read_synthetic
from triage.training.data.prepare import casebook_references, load_split, prepare
from triage.training.data.rows import Annotation, Row
from triage.training.data.synthetic import (
    Reference,
    cap_synthetic,
    filter_synthetic,
    near_duplicate_drops,
    synthetic_share,
)
from triage.training.export.card import model_card, synthetic_section
from triage.training.fit.args import TrainArgs

DATASETS = FIXTURES / "handmade"
CONFIGS = PROJECT_ROOT / "configs" / "train"
MADE_BY = "written for this test"
CASEBOOK_TEXT = (
    "Gave my guitar to my cousin and my books to the charity shop today. Thank you all for "
    "everything, this is the last time I'll log in."
)
CASEBOOK_COPY = (
    "gave my guitar to my little cousin and my books to the charity shop today. thanks all for "
    "everything, this is the last time i will log in"
)
TEST_ROW_COPY = "i feel so empty and alone most days"  # the handmade SDCNL test post, edited
UNRELATED = "Does anyone have a lentil soup recipe that freezes well? Asking for my flatmate."


def synthetic_row(key: str, text: str, tier: str = "green") -> Row:
    return Row(
        id=f"synthetic:{key}",
        text=text,
        source="synthetic",
        group=f"synthetic:{key}",
        split="train",
        labels={"self_harm": 0, "distress": 0, "hostile": 0, "spam": 0},
        annotation=Annotation(tier=tier),
        synthetic=True,
        made_by=MADE_BY,
    )


def real_row(key: str, text: str, split: str) -> Row:
    return Row(id=key, text=text, source="fixture", group=key, split=split, labels={"spam": 0})


def write_synthetic(folder: Path, texts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "training_rows.jsonl").open("w", encoding="utf-8") as handle:
        for key, text in texts.items():
            record = {
                "id": key,
                "category": "test",
                "text": text,
                "parent_text": None,
                "tier": "crisis" if key == "syn-casebook" else "green",
                "labels": {"self_harm": 0, "distress": 0, "hostile": 0, "spam": 0},
                "synthetic": True,
                "made_by": MADE_BY,
            }
            handle.write(json.dumps(record) + "\n")
    return folder


def write_casebook(path: Path) -> Path:
    case = {
        "id": "cb-9001",
        "category": "goodbye_no_suicide_words",
        "text": CASEBOOK_TEXT,
        "parent_text": None,
        "tier": "crisis",
        "labels": {"self_harm": 1, "distress": 0, "hostile": 0, "spam": 0},
    }
    path.write_text(json.dumps(case) + "\n", encoding="utf-8")
    return path


# --- the adapter ---------------------------------------------------------------------------------
def test_adapter_reads_the_repository_file_as_train_only_synthetic_rows():
    rows = list(read_synthetic(PROJECT_ROOT / "synthetic"))
    assert len(rows) == 2470 and ADAPTERS["synthetic"] is read_synthetic
    assert {row.split for row in rows} == {"train"}
    assert {row.source for row in rows} == {"synthetic"}
    assert all(row.synthetic and row.made_by for row in rows)
    assert all(row.labels["corumination"] is None for row in rows)
    assert all(row.labels[name] in (0, 1) for row in rows for name in LABELS[:4])
    tiers = [row.annotation.tier for row in rows if row.annotation]
    assert len(tiers) == 2470 and {"crisis", "red", "amber", "green"} == set(tiers)
    first = rows[0]
    assert first.id == "synthetic:syn-0001" and first.labels["self_harm"] == 1
    replies = [row for row in rows if row.parent_text]
    assert replies and all(row.parent_text.strip() for row in replies)
    assert Row.from_json(first.to_json()) == first  # synthetic and made_by survive the JSON


def test_a_synthetic_row_is_never_dev_or_test_and_real_rows_keep_their_json():
    with pytest.raises(ValueError, match="train only"):
        Row(id="s", text="t", source="synthetic", group="g", split="test", synthetic=True)
    assert "synthetic" not in real_row("r", "text", "train").to_json()


def test_the_real_synthetic_file_loses_its_near_duplicates_of_the_real_casebook():
    synthetic = list(read_synthetic(PROJECT_ROOT / "synthetic"))
    kept, report = filter_synthetic(synthetic, [], casebook_references(DEFAULT_CASEBOOK))
    assert 1 <= len(report.drops) <= 50 and len(kept) == 2470 - len(report.drops)
    assert all(drop.reason == "casebook" and drop.match.startswith("cb-") for drop in report.drops)


# --- the near-duplicate filter -------------------------------------------------------------------
def test_filter_drops_edited_copies_of_a_casebook_case_a_test_and_a_dev_row():
    real = [
        real_row("t1", "I feel empty and alone most days.", "test"),
        real_row("d1", "my landlord kept the whole deposit and I am furious about it", "dev"),
        real_row("tr1", "What time does the evening group start?", "train"),
    ]
    synthetic = [
        synthetic_row("syn-casebook", CASEBOOK_COPY, "crisis"),
        synthetic_row("syn-test", TEST_ROW_COPY),
        synthetic_row("syn-dev", "My landlord kept the whole deposit, I'm furious about it!!"),
        synthetic_row("syn-train-copy", "what time does the evening group start"),
        synthetic_row("syn-unrelated", UNRELATED),
    ]
    casebook = [Reference("cb-9001", "casebook", CASEBOOK_TEXT)]
    kept, report = filter_synthetic(synthetic, real, casebook)
    assert [row.id for row in kept] == ["synthetic:syn-unrelated"]
    reasons = {drop.id: (drop.reason, drop.match) for drop in report.drops}
    assert reasons == {
        "synthetic:syn-casebook": ("casebook", "cb-9001"),
        "synthetic:syn-test": ("test", "t1"),
        "synthetic:syn-dev": ("dev", "d1"),
        "synthetic:syn-train-copy": ("duplicate", "tr1"),
    }
    summary = report.to_json()
    assert summary["dropped"] == {"casebook": 1, "test": 1, "dev": 1, "duplicate": 1}
    assert summary["kept"] == 1 and summary["made_by"] == [MADE_BY]


def test_a_short_near_duplicate_the_five_gram_rules_miss_is_still_dropped():
    # one word added to a five-word post: no word 5-gram in common, so only the word-set
    # check (5 of 6 words) can see it
    drops = near_duplicate_drops(
        [synthetic_row("s", "i'm so done with everything")],
        [Reference("t9", "test", "I'm done with everything.")],
    )
    assert [(d.reason, d.rule) for d in drops] == [("test", "word_set_jaccard")]


def test_a_drop_is_reported_under_the_casebook_before_a_test_row():
    drops = near_duplicate_drops(
        [synthetic_row("s", CASEBOOK_COPY)],
        [Reference("t1", "test", CASEBOOK_TEXT), Reference("cb-1", "casebook", CASEBOOK_TEXT)],
    )
    assert [(d.reason, d.match) for d in drops] == [("casebook", "cb-1")]


# --- prepare -------------------------------------------------------------------------------------
def test_prepare_reports_the_drops_by_id_and_keeps_synthetic_rows_in_train(tmp_path, caplog):
    caplog.set_level("INFO")
    synthetic_dir = write_synthetic(
        tmp_path / "synthetic",
        {"syn-casebook": CASEBOOK_COPY, "syn-test": TEST_ROW_COPY, "syn-keep": UNRELATED},
    )
    casebook = write_casebook(tmp_path / "casebook.jsonl")
    summary = prepare(
        DATASETS,
        tmp_path / "out",
        external_dir=DATASETS,
        synthetic_dir=synthetic_dir,
        casebook_path=casebook,
    )
    report = summary["synthetic"]
    assert report["read"] == 3 and report["kept"] == 1
    assert report["dropped"]["casebook"] == 1 and report["dropped"]["test"] == 1
    assert {d["id"] for d in report["drops"]} == {"synthetic:syn-casebook", "synthetic:syn-test"}
    assert summary["sources"]["synthetic"] == 3
    train = {row.id: row for row in load_split(tmp_path / "out", "train")}
    kept = train["synthetic:syn-keep"]
    assert kept.synthetic and kept.made_by == MADE_BY and kept.annotation.tier == "green"
    for split in ("dev", "test"):
        assert not any(row.synthetic for row in load_split(tmp_path / "out", split))
    written = (tmp_path / "out" / "summary.json").read_text() + caplog.text
    assert "synthetic:syn-test" in written
    for text in (CASEBOOK_COPY, TEST_ROW_COPY, "lentil"):
        assert text not in written  # ids only, never text


def test_cli_prepare_prints_the_synthetic_drops(tmp_path):
    synthetic_dir = write_synthetic(
        tmp_path / "synthetic", {"syn-casebook": CASEBOOK_COPY, "syn-keep": UNRELATED}
    )
    args = ["data", "prepare", "--source", DATASETS, "--out", tmp_path / "out"]
    args += ["--only", "sms-spam", "--only", "synthetic", "--synthetic", synthetic_dir]
    result = run_cli(*args, "--casebook", write_casebook(tmp_path / "casebook.jsonl"))
    assert result.exit_code == 0, result.output
    assert "synthetic rows: 2 read, 1 kept" in result.output
    assert "near duplicates of casebook cases 1" in result.output
    missing = run_cli(*args, "--casebook", tmp_path / "no-casebook.jsonl")
    assert missing.exit_code != 0 and "casebook expected" in str(missing.exception)


# --- the cap -------------------------------------------------------------------------------------
def rows_for_cap(real: int, synthetic: int) -> list[Row]:
    rows = [real_row(f"r{i}", f"real {i}", "train") for i in range(real)]
    return rows + [synthetic_row(f"syn-{i:03d}", f"synthetic {i}") for i in range(synthetic)]


def test_cap_trims_synthetic_rows_to_15_percent_deterministically():
    rows = rows_for_cap(85, 40)
    capped = cap_synthetic(rows, 0.15, seed=13)
    kept = sorted(row.id for row in capped if row.synthetic)
    assert len(kept) == 15 and synthetic_share(capped) == pytest.approx(0.15)
    assert len(capped) == 100 and sum(not row.synthetic for row in capped) == 85
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    again = sorted(row.id for row in cap_synthetic(shuffled, 0.15, seed=13) if row.synthetic)
    assert again == kept  # the same rows whatever the order
    assert synthetic_share(cap_synthetic(rows_for_cap(86, 40), 0.15, seed=13)) <= 0.15


def test_cap_keeps_every_synthetic_row_when_under_the_share():
    rows = rows_for_cap(200, 10)
    assert cap_synthetic(rows, 0.15, seed=13) == rows
    assert not any(row.synthetic for row in cap_synthetic(rows, 0.0, seed=13))


def test_config_refuses_a_synthetic_share_over_15_percent():
    with pytest.raises(ValueError, match="max_synthetic_share"):
        TrainArgs(name="x", max_synthetic_share=0.2)
    with pytest.raises(ValueError, match="max_synthetic_share"):
        TrainArgs(name="x", max_synthetic_share=-0.1)
    for config in ("cpu", "gpu", "triage-minilm-l3"):
        assert read_yaml(CONFIGS / f"{config}.yaml")["max_synthetic_share"] == 0.15
    assert TrainArgs.from_yaml(CONFIGS / "cpu.yaml").max_synthetic_share == 0.15


def test_training_applies_the_cap_and_records_the_share(tmp_path, tiny_encoder_dir):
    from triage.training.fit.train import train

    data = write_prepared(tmp_path / "data", {"train": 40, "dev": 16, "test": 4})
    with (data / "train.jsonl").open("a") as handle:
        for i in range(20):
            row = synthetic_row(f"syn-{i:03d}", f"a synthetic farewell post {i}", "crisis")
            handle.write(json.dumps(row.to_json()) + "\n")
    args = TrainArgs(
        name="tiny-synthetic",
        data_dir=data,
        output_dir=tmp_path / "runs",
        base_model=str(tiny_encoder_dir),
        max_length=32,
        batch_size=16,
        max_steps=1,
        threads=1,
    )
    record = json.loads((train(args) / "train_record.json").read_text())
    assert record["synthetic_train_rows"] == 7  # floor(0.15 * 40 / 0.85)
    assert record["synthetic_share"] == round(7 / 47, 4) <= 0.15


# --- the model card ------------------------------------------------------------------------------
def test_card_states_the_synthetic_share_how_made_and_the_checks():
    data = {
        "sources": {"synthetic": 970},
        "synthetic": {
            "read": 970,
            "kept": 955,
            "dropped": {"casebook": 10, "test": 3, "dev": 2, "duplicate": 0},
            "made_by": ["hand-written by an AI-assisted writer for training (issue 13)"],
        },
    }
    training = {
        "train_rows": 40000,
        "synthetic_train_rows": 955,
        "synthetic_share": 0.0239,
        "args": {"max_synthetic_share": 0.15},
    }
    section = synthetic_section(data, training)
    assert "955 of 40000 training rows" in section and "share 2.4%" in section
    assert "cap 15.0%" in section and "AI-assisted writer" in section
    assert "casebook" in section and "test" in section and "10 near duplicates" in section
    assert synthetic_section({}, {}) == "Synthetic rows: none were used."
    card = model_card(minimal_info(data, training))
    assert section in card and "Synthetic training rows written for this project" in card


def minimal_info(data: dict, training: dict) -> dict:
    parity = {
        "texts": 10,
        "fp32_max_abs_logit_diff": 0.0,
        "fp32_tolerance": 1e-4,
        "int8_max_abs_prob_diff": 0.0,
        "int8_max_tolerance": 0.1,
        "int8_mean_abs_prob_diff": 0.0,
        "int8_mean_tolerance": 0.01,
    }
    return {
        "name": "tiny",
        "version": "0.0.1",
        "trained_labels": list(LABELS),
        "quantisation": "int8",
        "files": {"model_bytes": 2**20},
        "max_length": 64,
        "thresholds": {},
        "parity": parity,
        "metrics": {"int8_onnx": {}, "tfidf_lr_baseline": {}},
        "data": data,
        "training": training,
    }


def test_a_synthetic_tier_weighs_as_a_weak_label_and_stays_out_of_the_tier_probes_by_default():
    from triage.training.fit.refit import _labelled
    from triage.training.fit.tier_targets import tier_matrix

    labels = {"self_harm": 1, "distress": 0, "hostile": 0, "spam": 0, "corumination": None}
    real = Row(id="r", text="t", source="s", group="g", split="train", labels=dict(labels))
    real.annotation = Annotation(tier="crisis")
    fake = Row(
        id="f",
        text="t",
        source="synthetic",
        group="h",
        split="train",
        labels=dict(labels),
        synthetic=True,
        made_by="test",
    )
    fake.annotation = Annotation(tier="crisis")
    _, mask = tier_matrix([real, fake], annotation_weight=5.0, synthetic_weight=1.0)
    assert mask[0].tolist() == [5.0, 5.0, 5.0]
    assert mask[1].tolist() == [1.0, 1.0, 1.0]
    kept, _, _ = _labelled([real, fake], "tier>=crisis")
    assert [row.id for row in kept] == ["r"]
    kept, cuts, weights = _labelled([real, fake], "tier>=crisis", synthetic_weight=0.3)
    assert [row.id for row in kept] == ["r", "f"]
    assert cuts.tolist() == [1, 1] and weights.tolist() == [1.0, 0.3]
