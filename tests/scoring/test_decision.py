"""decision.py: the tier head's uncertain band travels as `tier_uncertain`, with its reason."""

from __future__ import annotations

import numpy as np
import pytest

from triage.domain.labels import LABELS, Tier
from triage.domain.priority import UNCERTAIN_REASON
from triage.domain.resource_guard import ResourceGuard
from triage.paths import DEFAULT_BUNDLE
from triage.scoring.bundle import load_bundle
from triage.scoring.decision import Decider
from triage.scoring.results import ScoreInput
from triage.settings import Settings

ITEM = ScoreInput("a", "I have been feeling a bit flat this week, not sure why")
CALM = np.full(len(LABELS), 0.01)


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider(load_bundle(DEFAULT_BUNDLE), Settings().tier_rules, ResourceGuard.shipped())


def cuts_for(decider: Decider, band: str) -> np.ndarray:
    """P(tier >= amber, red, crisis) that the shipped tier head reads as `band`."""
    model = decider.bundle.tier_model
    assert model is not None
    if band == "uncertain":  # under the amber and red cut-offs, in the band below red
        return np.array([model.amber / 2, (model.uncertain + model.red) / 2, 0.0])
    if band == "amber":
        return np.array([model.amber, model.uncertain / 2, 0.0])
    return np.array([model.amber / 2, model.uncertain / 2, 0.0])


@pytest.mark.parametrize(
    ("band", "tier", "uncertain"),
    [("uncertain", Tier.AMBER, True), ("amber", Tier.AMBER, False), ("green", Tier.GREEN, False)],
)
def test_the_uncertain_band_is_a_field_and_a_reason(decider, band, tier, uncertain):
    result = decider.decide(ITEM, CALM, cuts_for(decider, band))
    assert result.tier is tier
    assert result.tier_uncertain is uncertain
    assert (UNCERTAIN_REASON in result.reasons) is uncertain


def test_without_a_tier_head_a_tier_is_never_uncertain(decider):
    result = decider.decide(ITEM, CALM, None)
    assert result.tier_scores is None and not result.tier_uncertain
