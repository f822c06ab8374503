"""The ordinal tier output: targets, cut-off fitting, the decision rule, and the report."""

from __future__ import annotations

import numpy as np
import pytest

from triage.domain.calibration import Calibration
from triage.domain.labels import Tier
from triage.domain.tiers import OrdinalTierModel, ordinal_tier
from triage.training.data.rows import Annotation, Row
from triage.training.evaluation.tier_eval import tier_metrics
from triage.training.fit.calibrate import ThresholdPolicy
from triage.training.fit.tier_fit import everyday_floor, fit_tier_model
from triage.training.fit.tier_targets import annotated_cuts, tier_matrix, weak_cuts

MODEL = OrdinalTierModel(
    calibration=(Calibration(),) * 3, crisis=0.7, red=0.4, amber=0.5, uncertain=0.2
)


def row(tier: str | None = None, **labels) -> Row:
    annotation = Annotation(tier=tier) if tier else None
    return Row("r", "text", "s", "g", "train", labels=labels, annotation=annotation)


@pytest.mark.parametrize(
    ("tier", "cuts"),
    [("crisis", [1, 1, 1]), ("red", [1, 1, 0]), ("amber", [1, 0, 0]), ("green", [0, 0, 0])],
)
def test_annotated_cuts(tier, cuts):
    assert annotated_cuts(tier) == cuts


@pytest.mark.parametrize(
    ("labels", "cuts"),
    [
        ({"self_harm": 1}, [1, None, None]),
        ({"self_harm": 0, "distress": 1}, [1, None, None]),  # r/depression: may voice ideation
        ({"self_harm": 0, "distress": 0}, [0, 0, 0]),
        ({"self_harm": 0}, [None, 0, 0]),
        ({"hostile": 1}, [None, None, None]),
    ],
)
def test_weak_cuts_follow_the_binary_labels(labels, cuts):
    assert weak_cuts(labels) == cuts


def test_annotations_override_weak_labels_and_weigh_more():
    targets, mask = tier_matrix([row("red", self_harm=0, distress=0), row(self_harm=1)], 5.0)
    assert targets[0].tolist() == [1, 1, 0] and mask[0].tolist() == [5, 5, 5]
    assert targets[1].tolist() == [1, 0, 0] and mask[1].tolist() == [1, 0, 0]


def test_cut_probabilities_are_monotone_towards_urgency():
    logits = np.array([[-3.0, 1.0, 2.0]])  # the raw heads disagree: crisis > red > amber
    amber, red, crisis = MODEL.cut_probabilities(logits)[0]
    assert amber >= red >= crisis and red == pytest.approx(1 / (1 + np.exp(-2.0)))


@pytest.mark.parametrize(
    ("cuts", "tier", "uncertain"),
    [
        ((0.9, 0.8, 0.7), Tier.CRISIS, False),
        ((0.9, 0.8, 0.69), Tier.RED, False),
        ((0.9, 0.4, 0.1), Tier.RED, False),
        ((0.5, 0.39, 0.1), Tier.AMBER, False),
        ((0.3, 0.2, 0.1), Tier.AMBER, True),  # below amber, but in the uncertain band of red
        ((0.3, 0.19, 0.1), Tier.GREEN, False),
    ],
)
def test_ordinal_tier_boundaries(cuts, tier, uncertain):
    decision = ordinal_tier(cuts, MODEL)
    assert (decision.tier, decision.uncertain) == (tier, uncertain)


def test_tier_model_round_trips_through_json():
    assert OrdinalTierModel.from_json(MODEL.to_json()) == MODEL


def _dev_rows(gold: list[str]) -> list[Row]:
    return [row(tier) for tier in gold]


def test_fit_reaches_the_urgent_recall_on_dev():
    rng = np.random.default_rng(0)
    gold = ["crisis"] * 10 + ["red"] * 30 + ["amber"] * 20 + ["green"] * 40
    rank = np.array([Tier(t).rank for t in gold])  # 0 crisis .. 3 green
    logits = np.stack([(2 - rank) * 1.5 + rng.normal(0, 1.5, len(gold)) + k for k in (1, 0, -1)], 1)
    model = fit_tier_model(logits, _dev_rows(gold), ThresholdPolicy(tier_urgent_recall=0.95))
    assert model is not None and model.uncertain <= model.red <= model.crisis
    probs = model.cut_probabilities(logits)
    predicted = [ordinal_tier(p, model).tier.value for p in probs]
    urgent = tier_metrics(gold, predicted)
    assert urgent["urgent_recall"] >= 0.95


def _everyday_rows(n: int) -> list[Row]:
    return [row(self_harm=0, distress=0) for _ in range(n)]


def test_everyday_floor_keeps_the_uncertain_band_off_most_everyday_posts():
    """configs/thresholds.yaml tier_everyday_uncertain_share: the uncertain band's cut-off rises
    until at most that share of the everyday dev posts reach it; off, the recall decides alone."""
    rng = np.random.default_rng(1)
    gold = ["crisis"] * 20 + ["red"] * 40 + ["amber"] * 30 + ["green"] * 60
    rank = np.array([Tier(t).rank for t in gold])
    noise = rng.normal(0, 1.5, (3, len(gold)))
    annotated = np.stack([(2 - rank) * 1.5 + noise[j] + k for j, k in enumerate((1, 0, -1))], 1)
    everyday = rng.normal(-3.0, 1.5, (400, 3))  # overlaps the urgent posts' low tail
    logits, rows = np.concatenate([annotated, everyday]), _dev_rows(gold) + _everyday_rows(400)

    def raised(model: OrdinalTierModel) -> float:  # share sent to amber by the band
        decisions = [ordinal_tier(p, model) for p in model.cut_probabilities(everyday)]
        return float(np.mean([d.uncertain for d in decisions]))

    plain = fit_tier_model(logits, rows, ThresholdPolicy())
    capped = fit_tier_model(logits, rows, ThresholdPolicy(tier_everyday_uncertain_share=0.02))
    assert plain is not None and capped is not None
    assert raised(plain) > 0.02  # the recall target alone would raise more than the cap
    assert raised(capped) <= 0.02 and capped.uncertain > plain.uncertain
    assert capped.uncertain <= capped.red and capped.everyday_uncertain_share == 0.02
    assert plain.everyday_uncertain_share == 0.0 and capped.red == plain.red
    loose = fit_tier_model(logits, rows, ThresholdPolicy(tier_everyday_uncertain_share=0.9))
    assert loose is not None and loose.uncertain == plain.uncertain  # a floor never lowers it


@pytest.mark.parametrize(
    ("scores", "share", "floor"),
    [
        ([0.9, 0.5, 0.1, 0.0], 0.25, 0.5001),  # one of four may reach it: strictly above 0.5
        ([0.9, 0.5, 0.1, 0.0], 0.2, 0.9001),  # none may: above the highest
        ([0.3, 0.3, 0.3, 0.3], 0.5, 0.3001),  # ties: none of them, not half
    ],
)
def test_everyday_floor_by_hand(scores, share, floor):
    assert everyday_floor(np.array(scores), share) == pytest.approx(floor)


def test_too_few_annotated_posts_mean_no_tier_head():
    gold = ["red", "green"] * 5
    assert fit_tier_model(np.zeros((10, 3)), _dev_rows(gold), ThresholdPolicy()) is None


def test_tier_metrics_by_hand():
    gold = ["crisis", "red", "amber", "green", "red"]
    predicted = ["red", "red", "green", "green", "amber"]
    report = tier_metrics(gold, predicted)
    assert report["urgent_recall"] == pytest.approx(2 / 3, abs=1e-4)  # crisis->red counts
    assert report["urgent_ppv"] == 1.0
    assert report["f1"]["crisis"] == 0.0
    assert report["f1"]["green"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["confusion"]["rows_annotated_cols_predicted"][1] == [0, 1, 1, 0]  # red row


def test_the_model_card_states_the_everyday_floor_only_when_one_was_used():
    from triage.training.export.card import everyday_floor_sentence

    assert everyday_floor_sentence(None) == ""
    assert everyday_floor_sentence(MODEL.to_json()) == ""
    sentence = everyday_floor_sentence({**MODEL.to_json(), "everyday_uncertain_share": 0.015})
    assert "1.5% of the everyday dev posts" in sentence
