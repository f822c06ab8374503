"""The bundles in models/ load, are small, and score real-looking posts sensibly: the default
(6 layers) and the distilled 3-layer student (models/triage-minilm-l3, the speed option)."""

from __future__ import annotations

import pytest

from triage.domain.labels import LABELS
from triage.paths import DEFAULT_BUNDLE
from triage.scoring.bundle import load_bundle
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.settings import Settings

STUDENT_BUNDLE = DEFAULT_BUNDLE.with_name("triage-minilm-l3")
SHIPPED = [DEFAULT_BUNDLE, STUDENT_BUNDLE]
# Measured, not waived silently: the student's corumination F1 at its dev-chosen threshold
# (0.605) is 0.644 against the baseline's 0.667 on 201 test pairs, while its PR-AUC beats it
# (0.763 vs 0.747). Strict: once it beats the baseline this test asks for the entry to go.
F1_SHORTFALLS = {STUDENT_BUNDLE.name: {"corumination"}, DEFAULT_BUNDLE.name: {"corumination"}}
# 1.1.0's corumination pair output fell below TF-IDF on the 205 test pairs (PR-AUC 0.730 vs
# 0.773; 1.0.0: 0.807), and on dev from 0.789 to 0.752: its trade for the tier and casebook gains
# (docs/evaluation/1.1.0/README.md). Corumination explains, it does not rank the queue.
PR_AUC_SHORTFALLS = {DEFAULT_BUNDLE.name: {"corumination"}}


@pytest.fixture(scope="module", params=SHIPPED, ids=lambda path: path.name)
def scorer(request):
    return OnnxScorer(load_bundle(request.param), Settings().tier_rules)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_bundle_is_small_and_complete(path):
    bundle = load_bundle(path)
    assert bundle.labels == LABELS
    assert bundle.model_path.stat().st_size < 30 * 2**20
    assert (path / "MODEL_CARD.md").is_file()
    assert {"self_harm", "hostile", "spam"} <= set(bundle.trained_labels)


def test_the_student_is_within_001_pr_auc_of_its_teacher():
    """Issue 5's quality limit for a distilled scorer, on the whole test split (bundle.json
    `distillation`, written by `triage export`)."""
    bundle = load_bundle(STUDENT_BUNDLE)
    assert bundle.info["encoder"]["layers"] == 3
    distillation = bundle.info["distillation"]
    assert distillation["teacher_layers"] == 6
    gaps = distillation["int8_vs_teacher_pr_auc_gap"]
    assert set(gaps) == set(LABELS)
    assert all(abs(gap) <= 0.01 for gap in gaps.values()), gaps


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_metrics_beat_the_baseline(path):
    bundle = load_bundle(path)
    metrics = bundle.info["metrics"]
    assert set(metrics["int8_onnx"]) == set(bundle.trained_labels) == set(LABELS)
    for label, model in metrics["int8_onnx"].items():
        baseline = metrics["tfidf_lr_baseline"][label]
        if label in PR_AUC_SHORTFALLS.get(path.name, {}):
            assert model["pr_auc"] <= baseline["pr_auc"], f"{label} now beats the baseline: update"
        else:
            assert model["pr_auc"] > baseline["pr_auc"], label
        if label in F1_SHORTFALLS.get(path.name, {}):
            assert model["f1"] <= baseline["f1"], f"{label} F1 now beats the baseline: update"
        else:
            assert model["f1"] > baseline["f1"], label
        assert abs(model["pr_auc"] - metrics["fp32_torch"][label]["pr_auc"]) <= 0.01, label


def test_shipped_model_separates_obvious_cases(scorer):
    spam, crisis, hostile, calm = scorer.score(
        [
            ScoreInput(
                "1", "URGENT! You have won a 2000 prize. Call 09061701461 now to claim, T&Cs apply"
            ),
            ScoreInput(
                "2",
                "I can't do this anymore. I've written my note and I'm going to kill myself "
                "tonight.",
            ),
            ScoreInput(
                "3",
                "Shut up, you pathetic idiot. Nobody wants you here.",
                "I've been feeling really low lately.",
            ),
            ScoreInput(
                "4", "Thanks everyone, the walk this morning really helped. Have a good day!"
            ),
        ]
    )
    assert "spam" in spam.flags
    assert "self_harm" in crisis.flags and crisis.tier.value in {"crisis", "red"}
    assert "hostile" in hostile.flags
    assert calm.flags == [] and calm.tier.value == "green"
    assert crisis.priority > hostile.priority > calm.priority


SHORT_DISCLOSURES = [
    "I just want to die.",
    "I cut myself again last night.",
    "Some days I think everyone would be better off without me.",
    "I have written my note and I am going to do it tonight.",
]


@pytest.mark.parametrize("text", SHORT_DISCLOSURES)
def test_shipped_model_flags_short_disclosures(scorer, text):
    """All self_harm positives in training are long posts; a one-liner must still be caught."""
    result = scorer.score([ScoreInput("1", text)])[0]
    assert "self_harm" in result.flags, result
    assert result.tier.value in {"crisis", "red"}


def test_shipped_tier_head_beats_the_binary_flag_rule():
    """Issue 6: the ordinal tier head, on the annotated test posts, against the skeleton's rule."""
    bundle = load_bundle(DEFAULT_BUNDLE)
    assert bundle.tier_model is not None
    tiers = bundle.info["metrics"]["tiers"]
    head, rule = tiers["tier_head"], tiers["baseline_binary_flag_rule"]
    assert head["posts"] >= 250 and head["urgent_posts"] >= 100
    assert head["macro_f1"] > rule["macro_f1"]
    assert head["macro_f1_non_green"] > rule["macro_f1_non_green"]
    assert head["urgent_ppv"] > rule["urgent_ppv"]
    # The dev target is configs/thresholds.yaml's tier_urgent_recall (0.90 since 1.0.0, chosen
    # for a reachable amber); the test split's figure is reported in the model card (0.897).
    assert head["urgent_recall"] >= 0.85


def test_corumination_is_scored_for_replies_only(scorer):
    """Corumination is a property of a reply to a post (labels.py: reply_only)."""
    alone, reply = scorer.score(
        [
            ScoreInput("1", "Same here, it never gets better and nobody understands."),
            ScoreInput(
                "2",
                "Same here, it never gets better and nobody understands.",
                "I have felt empty for months and I keep replaying everything that went wrong.",
            ),
        ]
    )
    assert alone.scores["corumination"] is None and "corumination" not in alone.flags
    assert isinstance(reply.scores["corumination"], float)
