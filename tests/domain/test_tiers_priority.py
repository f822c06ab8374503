"""Tier boundaries and the priority rule, including the anti-starvation case."""

from __future__ import annotations

import pytest

from triage.domain.labels import Tier
from triage.domain.priority import compute_priority
from triage.domain.tier_rules import TierRules
from triage.domain.tiers import assign_tier
from triage.paths import DEFAULT_CONFIG_DIR

POINTS = TierRules.load(DEFAULT_CONFIG_DIR / "tiers.yaml").priority  # the shipped points
RULES = TierRules(
    rules={
        "crisis": {"self_harm": 0.95},
        "red": {"self_harm": 0.5},
        "amber": {"self_harm": 0.2, "distress": 0.5},
    },
    sla_minutes={"crisis": 15, "red": 60, "amber": 480, "green": None},
    priority=POINTS,
)


@pytest.mark.parametrize(
    ("self_harm", "distress", "tier"),
    [
        (0.95, 0.0, Tier.CRISIS),
        (0.9499, 0.0, Tier.RED),
        (0.5, 0.0, Tier.RED),
        (0.4999, 0.0, Tier.AMBER),
        (0.2, 0.0, Tier.AMBER),
        (0.1999, 0.0, Tier.GREEN),
        (0.0, 0.5, Tier.AMBER),
        (0.0, 0.4999, Tier.GREEN),
        (None, None, Tier.GREEN),
    ],
)
def test_tier_boundaries(self_harm, distress, tier):
    assert assign_tier({"self_harm": self_harm, "distress": distress}, RULES) is tier


def test_crisis_outranks_everything():
    crisis = compute_priority(Tier.CRISIS, ["self_harm"], {"self_harm": 0.96}, points=POINTS)
    hostile = compute_priority(
        Tier.GREEN,
        ["hostile", "spam"],
        {"hostile": 1.0, "spam": 1.0},
        waited_minutes=10_000,
        sla_minutes=None,
        points=POINTS,
    )
    assert crisis.value > hostile.value
    assert "tier crisis" in crisis.reasons


def test_amber_at_its_sla_rises_above_a_fresh_low_confidence_red():
    fresh_red = compute_priority(Tier.RED, ["self_harm"], {"self_harm": 0.51}, 0, 60, points=POINTS)
    new_amber = compute_priority(
        Tier.AMBER, [], {"self_harm": 0.3, "distress": 0.6}, 0, 480, points=POINTS
    )
    old_amber = compute_priority(
        Tier.AMBER, [], {"self_harm": 0.3, "distress": 0.6}, 480, 480, points=POINTS
    )
    assert new_amber.value < fresh_red.value < old_amber.value
    assert any("SLA" in reason for reason in old_amber.reasons)


def test_priority_is_bounded_and_grows_with_waiting():
    values = [
        compute_priority(Tier.RED, ["self_harm"], {"self_harm": 0.99}, w, 60, points=POINTS).value
        for w in (0, 30, 60, 6000)
    ]
    assert values == sorted(values) and values[-1] <= 100 and values[0] >= 0


def test_threshold_minimum_follows_the_bundle():
    rules = TierRules(
        rules={"red": {"self_harm": "threshold"}, "amber": {"distress": 0.5}},
        sla_minutes={"crisis": 15, "red": 60, "amber": 480, "green": None},
        priority=POINTS,
    )
    assert assign_tier({"self_harm": 0.3}, rules, {"self_harm": 0.25}) is Tier.RED
    assert assign_tier({"self_harm": 0.2}, rules, {"self_harm": 0.25}) is Tier.GREEN
    assert assign_tier({"self_harm": 0.9}, rules, None) is Tier.GREEN  # no bundle: rule skipped
