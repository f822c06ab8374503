"""The corumination evaluation (pairs and threads against the negative-overlap baseline): the
pieces with a fake scorer, and `triage evaluate-corumination` end to end on the tiny bundle with
hand-written fixture data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.scoring.test_threads import FakeScorer, bundle_with_corumination_head
from triage.training.annotations.files import ManifestItem, write_manifest
from triage.training.data.annotation_labels import KINDS, LabelRecord, write_labels
from triage.training.data.rows import Row
from triage.training.evaluation.corumination_eval import (
    bootstrap_pr_auc,
    compare,
    metrics,
    score_pairs,
    score_threads,
)

PARENTS = ["I feel awful since the breakup", "work is awful and I am so tired", "I miss my dog"]
POSITIVE = ["same, mine was awful too and it never gets better", "same here, nobody ever cares"]
NEGATIVE = ["have you tried talking to a counsellor about it?", "a walk helps me, maybe try one"]


def pair_row(split: str, n: int, positive: bool) -> Row:
    replies = POSITIVE if positive else NEGATIVE
    return Row(
        id=f"pair:{split}:{n}",
        text=f"{replies[n % 2]} ({n})",
        source="fixture",
        group=f"pg{n}",
        split=split,
        parent_text=f"{PARENTS[n % 3]} ({n})",
    )


def thread_rows(split: str, k: int, positive: bool) -> list[Row]:
    turns = [f"{PARENTS[k % 3]} [{split} {k}]"]
    turns += (
        [f"{POSITIVE[0]} [{k}]", f"{POSITIVE[1]} [{k}]"] if positive else [f"{NEGATIVE[0]} [{k}]"]
    )
    return [
        Row(
            id=f"toxichat:{split}:{k}:{t + 1}",
            text=text,
            source="toxichat",
            group=f"thread:{split}:{k}",
            split=split,
            parent_text=turns[t - 1],
        )
        for t, text in enumerate(turns)
        if t > 0
    ]


# split -> (pair positives, pair negatives, positive threads, negative threads)
PLAN = {"dev": (3, 5, 1, 1), "test": (4, 6, 2, 2)}


def write_fixture(folder: Path) -> tuple[Path, Path]:
    data, notes = folder / "prepared", folder / "annotations"
    data.mkdir()
    pair_labels, pair_manifest, thread_labels, thread_manifest = [], [], [], []
    for split, (pos, neg, pos_threads, neg_threads) in PLAN.items():
        rows = []
        for n in range(pos + neg):
            row = pair_row(split, n, positive=n < pos)
            rows.append(row)
            level = ("some", "strong")[n % 2] if n < pos else "none"
            pair_labels.append(LabelRecord(row.id, level, 1))
            stratum = "enriched_high" if n % 2 else "random_epitome"
            pair_manifest.append(
                ManifestItem(f"h-{split}{n}", row.id, "fixture", split, stratum, "b")
            )
        for k in range(pos_threads + neg_threads):
            positive = k < pos_threads
            replies = thread_rows(split, k, positive)
            rows.extend(replies)
            key = f"toxichat:thread:{split}:{k}"
            thread_labels.append(LabelRecord(key, "strong" if positive else "none", 1))
            stratum = "enriched" if k % 2 else "random"
            thread_manifest.append(
                ManifestItem(f"h-t{split}{k}", key, "toxichat", split, stratum, "b")
            )
        with (data / f"{split}.jsonl").open("w") as handle:
            for row in rows:
                handle.write(json.dumps(row.to_json()) + "\n")
    # an annotated test thread the prepared data does not hold
    thread_labels.append(LabelRecord("toxichat:thread:test:99", "some", 1))
    thread_manifest.append(
        ManifestItem("h-gone", "toxichat:thread:test:99", "toxichat", "test", "random", "b")
    )
    write_labels(notes / KINDS["pairs"].labels_file, KINDS["pairs"], pair_labels)
    write_manifest(notes / KINDS["pairs"].manifest_file, pair_manifest)
    write_labels(notes / KINDS["threads"].labels_file, KINDS["threads"], thread_labels)
    write_manifest(notes / KINDS["threads"].manifest_file, thread_manifest)
    return data, notes


# --- pieces ----------------------------------------------------------------------------------
def test_metrics_and_prevalence():
    found = metrics(np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 0, 1, 0]), threshold=0.5)
    assert found["n"] == 4 and found["positives"] == 2 and found["prevalence"] == 0.5
    assert found["precision"] == 0.5 and found["recall"] == 0.5 and found["f1"] == 0.5
    assert found["pr_auc"] == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)
    one_class = metrics(np.array([0.2, 0.4]), np.array([0, 0]), threshold=0.5)
    assert one_class["pr_auc"] is None  # not NaN: the JSON stays valid


def test_compare_reports_each_stratum_and_the_random_ones_pooled():
    from triage.training.evaluation.corumination_eval import Scored

    targets = np.array([1, 0, 1, 0, 1, 0])
    named = {"a": Scored(np.array([0.9, 0.1, 0.8, 0.2, 0.4, 0.6]), targets, 0.5)}
    strata = ["random_x", "random_x", "random_y", "random_y", "enriched", "enriched"]
    report = compare(named, strata)
    assert set(report) == {"all", "random_x", "random_y", "enriched", "random strata pooled"}
    assert report["random strata pooled"]["a"]["n"] == 4
    assert report["random strata pooled"]["a"]["pr_auc"] == 1.0
    assert report["enriched"]["a"]["pr_auc"] == 0.5


def test_the_baseline_multiplies_parent_and_reply_negative_affect():
    scorer = FakeScorer()  # "same" coruminates (with a parent), "awful" is distress 0.8 else 0.2
    rows = [
        Row("a", "same, awful", "s", "g", "test", parent_text="awful day"),
        Row("b", "same", "s", "g", "test", parent_text="nice day"),
    ]
    model, baseline = score_pairs(scorer, [(rows[0], "strong"), (rows[1], "none")])
    assert model.tolist() == [0.9, 0.9]
    assert baseline.tolist() == pytest.approx([0.8 * 0.8, 0.2 * 0.2])
    assert ("awful day", None) in scorer.calls  # the parent scored on its own


def test_threads_are_scored_like_the_endpoint_and_missing_ones_counted():
    rows = thread_rows("test", 0, positive=True) + thread_rows("test", 1, positive=False)
    labels = {
        "toxichat:thread:test:0": "strong",
        "toxichat:thread:test:1": "none",
        "toxichat:thread:test:7": "some",
    }
    strata = dict.fromkeys(labels, "random")
    results, missing = score_threads(FakeScorer(), rows, labels, strata)
    assert missing == ["toxichat:thread:test:7"]
    by_id = {r.thread: r for r in results}
    assert by_id["toxichat:thread:test:0"].posts == 3
    assert by_id["toxichat:thread:test:0"].pair_max == 0.9
    assert by_id["toxichat:thread:test:1"].pair_max == 0.1
    assert 0.45 <= by_id["toxichat:thread:test:0"].score <= 0.9


def test_bootstrap_intervals_hold_the_point_estimate():
    rng = np.random.default_rng(0)
    targets = np.array([1] * 10 + [0] * 30)
    model = targets * 0.5 + rng.random(40) * 0.6
    baseline = rng.random(40)
    found = bootstrap_pr_auc(model, baseline, targets, resamples=200)
    low, high = found["difference"]
    assert low < high and low > 0  # the informative score beats noise on every resample band
    assert bootstrap_pr_auc(model, baseline, np.array([1] + [0] * 39)) is None


# --- end to end ------------------------------------------------------------------------------
def test_evaluate_corumination_on_the_tiny_bundle(tiny_bundle, tmp_path):
    data, notes = write_fixture(tmp_path)
    bundle = bundle_with_corumination_head(tiny_bundle, tmp_path)
    out = tmp_path / "report"
    args = ["--bundle", bundle, "--data", data, "--annotations", notes, "--out", out]
    result = run_cli("evaluate-corumination", *args)
    assert result.exit_code == 0, result.output
    assert "pairs: 10 test pairs, 4 positive" in result.output
    report = json.loads((out / "corumination.json").read_text())
    pairs = report["pairs"]
    model = pairs["metrics"]["all"]["pair_model"]
    assert (model["n"], model["positives"], model["threshold"]) == (10, 4, 0.5)
    assert model["pr_auc"] is not None and 0 <= model["f1"] <= 1
    assert set(pairs["metrics"]) == {"all", "random_epitome", "enriched_high"}
    assert pairs["levels"] == {"some": 2, "strong": 2, "none": 6} and pairs["dev_pairs"] == 8
    assert pairs["strong_only"]["pair_model"]["positives"] == 2
    threads = report["threads"]["test"]
    assert (threads["threads"], threads["missing"]) == (4, 1)
    assert threads["metrics"]["all"]["thread_score"]["positives"] == 2
    assert set(threads["metrics"]["all"]) == {
        "thread_score",
        "pair_max_only",
        "baseline_negative_overlap",
    }
    assert report["threads"]["dev_and_test"]["threads"] == 6
    markdown = (out / "CORUMINATION.md").read_text()
    assert "not a random sample" in markdown and "## Threads" in markdown
    assert "tiny-bundle" in markdown


def test_a_bundle_without_a_corumination_head_is_refused(tiny_bundle, tmp_path):
    data, notes = write_fixture(tmp_path)
    args = ["--bundle", tiny_bundle, "--data", data, "--annotations", notes]
    result = run_cli("evaluate-corumination", *args, "--out", tmp_path / "r")
    assert result.exit_code != 0
    assert "no trained corumination head" in result.output
    assert not (tmp_path / "r").exists()
