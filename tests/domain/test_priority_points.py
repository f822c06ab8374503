"""The priority points are policy in configs/tiers.yaml (`priority:`), checked against the
taxonomy: every tier and label named, no unknown name, every value in range."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from triage.domain.labels import LABELS, TIERS, Tier
from triage.domain.tier_rules import PriorityPoints, TierRules
from triage.paths import DEFAULT_CONFIG_DIR, read_yaml

TIERS_YAML = DEFAULT_CONFIG_DIR / "tiers.yaml"


def shipped() -> dict:
    return read_yaml(TIERS_YAML)["priority"]


def test_the_shipped_points_are_the_ones_the_code_used_to_hold():
    points = TierRules.load(TIERS_YAML).priority
    assert points.tier_base == {Tier.CRISIS: 85, Tier.RED: 65, Tier.AMBER: 42, Tier.GREEN: 5}
    assert points.label_base == {
        "hostile": 35,
        "corumination": 30,
        "spam": 15,
        "self_harm": 40,
        "distress": 25,
    }
    assert (points.confidence_points, points.ageing_points) == (10, 30)
    assert (points.report_points, points.report_points_cap) == (10, 15)
    assert (points.unscored_priority, points.below_crisis_ceiling) == (60, 99)


def test_every_tier_and_label_of_the_taxonomy_has_a_base():
    points = PriorityPoints.model_validate(shipped())
    assert [tier.value for tier in points.tier_base] == list(TIERS)
    assert set(points.label_base) == set(LABELS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["label_base"].update(sadness=20), "unknown labels"),
        (lambda p: p["label_base"].pop("corumination"), "missing labels"),
        (lambda p: p["tier_base"].update(purple=50), "tier_base"),
        (lambda p: p["tier_base"].pop("green"), "expected exactly the tiers"),
        (lambda p: p["tier_base"].update(red=90), "more urgent tier must have a higher base"),
        (lambda p: p.update(ageing_points=-1), "ageing_points"),
        (lambda p: p.update(confidence_points=101), "confidence_points"),
        (lambda p: p["label_base"].update(spam=120), "label_base"),
        (lambda p: p.update(below_crisis_ceiling=100), "below_crisis_ceiling"),
        (lambda p: p.update(crisis_bonus=5), "crisis_bonus"),
        (lambda p: p.pop("unscored_priority"), "unscored_priority"),
    ],
)
def test_points_outside_the_taxonomy_or_the_range_are_refused(change, message):
    points = shipped()
    change(points)
    with pytest.raises(ValidationError, match=message):
        PriorityPoints.model_validate(points)


def test_a_tier_config_without_priority_points_is_refused():
    config = read_yaml(TIERS_YAML)
    del config["priority"]
    with pytest.raises(ValidationError, match="priority"):
        TierRules.model_validate(config)
