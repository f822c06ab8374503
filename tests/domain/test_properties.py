"""Property tests (hypothesis) of the pure ranking rules: triage/domain/priority.py and
triage/domain/tiers.py.

Each property is checked on 100 generated cases per run, with the SLAs of configs/tiers.yaml
where a property depends on them (crisis has the shortest SLA)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from triage.domain.calibration import Calibration
from triage.domain.labels import LABELS, RISK_LABELS, TIERS, Tier
from triage.domain.priority import (
    ESCALATION_LABELS,
    NEXT_TIER_UP,
    ageing_points,
    compute_priority,
    minutes_until_ageing_changes,
    unscored_priority,
)
from triage.domain.tier_rules import TierRules
from triage.domain.tiers import OrdinalTierModel, assign_tier, ordinal_tier
from triage.settings import Settings

RULES = Settings().tier_rules  # configs/tiers.yaml
POINTS = RULES.priority
URGENCY = {Tier.GREEN: 0, Tier.AMBER: 1, Tier.RED: 2, Tier.CRISIS: 3}
PROPERTIES = settings(max_examples=100, deadline=None)

probability = st.floats(0.0, 1.0, allow_nan=False)
scores_st = st.dictionaries(st.sampled_from(LABELS), st.none() | probability)
flags_st = st.lists(st.sampled_from(LABELS), unique=True, max_size=len(LABELS))
tier_st = st.sampled_from(list(Tier))
minutes = st.floats(0.0, 100_000.0, allow_nan=False)
sla_st = st.none() | st.floats(0.5, 10_000.0, allow_nan=False)
tier_scores_st = st.none() | st.fixed_dictionaries(
    {"amber": probability, "red": probability, "crisis": probability}
)


# --- priority --------------------------------------------------------------------------------
@PROPERTIES
@given(tier_st, flags_st, scores_st, st.floats(-1e6, 1e6, allow_nan=False), sla_st)
def test_priority_is_bounded(tier, flags, scores, waited, sla):
    priority = compute_priority(tier, flags, scores, waited, sla, points=POINTS)
    assert 0 <= priority.value <= 100
    assert 0 <= unscored_priority(waited, sla, points=POINTS).value <= 100


@PROPERTIES
@given(tier_st, flags_st, scores_st, minutes, minutes, sla_st)
def test_priority_never_falls_as_an_item_waits(tier, flags, scores, wait_a, wait_b, sla):
    shorter, longer = sorted((wait_a, wait_b))
    before = compute_priority(tier, flags, scores, shorter, sla, points=POINTS).value
    assert before <= compute_priority(tier, flags, scores, longer, sla, points=POINTS).value
    assert (
        unscored_priority(shorter, sla, points=POINTS).value
        <= unscored_priority(longer, sla, points=POINTS).value
    )


@PROPERTIES
@given(flags_st, scores_st, st.sampled_from([Tier.RED, Tier.AMBER, Tier.GREEN]), flags_st,
       scores_st, minutes)  # fmt: skip
def test_crisis_ranks_above_any_other_item_that_waited_as_long(
    crisis_flags, crisis_scores, other_tier, other_flags, other_scores, waited
):
    crisis = compute_priority(
        Tier.CRISIS, crisis_flags, crisis_scores, waited, RULES.sla_for("crisis"), points=POINTS
    )
    other = compute_priority(
        other_tier,
        other_flags,
        other_scores,
        waited,
        RULES.sla_for(other_tier.value),
        points=POINTS,
    )
    unscored = unscored_priority(waited, RULES.sla_for(None), points=POINTS)
    assert crisis.value > other.value, (crisis, other)
    assert crisis.value > unscored.value


@PROPERTIES
@given(tier_st, flags_st, scores_st, tier_scores_st, st.integers(0, 1), probability, minutes,
       sla_st)  # fmt: skip
def test_within_a_tier_more_escalation_evidence_never_ranks_lower(
    tier, flags, scores, tier_scores, which, raised, waited, sla
):
    """Evidence: the tier head's P(>= the next tier up); without a head, ESCALATION_LABELS."""
    higher_scores, higher_cuts = dict(scores), tier_scores
    if tier_scores is not None:
        cut = NEXT_TIER_UP[tier].value
        higher_cuts = {**tier_scores, cut: max(raised, tier_scores[cut])}
    else:
        label = ESCALATION_LABELS[tier][which % len(ESCALATION_LABELS[tier])]
        higher_scores[label] = max(raised, scores.get(label) or 0.0)
    before = compute_priority(tier, flags, scores, waited, sla, tier_scores, points=POINTS)
    after = compute_priority(tier, flags, higher_scores, waited, sla, higher_cuts, points=POINTS)
    assert 0 <= before.value <= after.value <= 100


@PROPERTIES
@given(tier_st, flags_st, scores_st, tier_scores_st, st.none() | probability, minutes, sla_st)
def test_distress_never_moves_an_item_whose_tier_reads_self_harm(
    tier, flags, scores, tier_scores, distress, waited, sla
):
    """With a tier head, or from amber up, distress is not escalation evidence: it can never
    rank an item above one of its tier with stronger self-harm evidence."""
    assume(tier_scores is not None or tier is not Tier.GREEN)
    before = compute_priority(tier, flags, scores, waited, sla, tier_scores, points=POINTS)
    distressed = {**scores, "distress": distress}
    after = compute_priority(tier, flags, distressed, waited, sla, tier_scores, points=POINTS)
    assert before.value == after.value


@PROPERTIES
@given(minutes)
def test_an_unscored_item_is_read_soon_but_below_a_fresh_red_one(waited):
    unscored = unscored_priority(waited, RULES.sla_for(None), points=POINTS)
    assert (
        POINTS.unscored_priority
        <= unscored.value
        <= POINTS.unscored_priority + POINTS.ageing_points
    )
    assert unscored.reasons[0].startswith("not scored")
    fresh_red = compute_priority(Tier.RED, ["self_harm"], {"self_harm": 0.0}, 0, 60, points=POINTS)
    assert unscored_priority(0, RULES.sla_for(None), points=POINTS).value < fresh_red.value


@PROPERTIES
@given(minutes, st.floats(0.5, 10_000.0, allow_nan=False))
def test_ageing_changes_exactly_when_minutes_until_ageing_changes_says(waited, sla):
    points = ageing_points(waited, sla, points=POINTS)
    assert 0 <= points <= POINTS.ageing_points
    step = minutes_until_ageing_changes(waited, sla, points=POINTS)
    if step is None:
        assert points == POINTS.ageing_points
        assert ageing_points(waited * 2 + sla, sla, points=POINTS) == POINTS.ageing_points
        return
    assert step > 0 and points < POINTS.ageing_points
    tolerance = 1e-6 * sla
    assume(step > 2 * tolerance)  # a wait within float noise of a boundary
    assert (
        ageing_points(waited + step - tolerance, sla, points=POINTS) == points
    )  # nothing moves before...
    assert (
        ageing_points(waited + step + tolerance, sla, points=POINTS) == points + 1
    )  # ...and then one point


@PROPERTIES
@given(minutes)
def test_no_sla_means_no_ageing(waited):
    assert ageing_points(waited, None, points=POINTS) == 0
    assert minutes_until_ageing_changes(waited, None, points=POINTS) is None


# --- tier rules ------------------------------------------------------------------------------
minimum_st = st.one_of(probability, st.just("threshold"))
rules_st = st.builds(
    lambda rules: TierRules(rules=rules, sla_minutes=dict.fromkeys(TIERS, None), priority=POINTS),
    st.dictionaries(
        st.sampled_from(["crisis", "red", "amber"]),
        st.dictionaries(st.sampled_from(RISK_LABELS), minimum_st, max_size=3),  # tiers.yaml's
    ),
)
thresholds_st = st.none() | st.dictionaries(st.sampled_from(LABELS), probability)


@PROPERTIES
@given(rules_st | st.just(RULES), thresholds_st, scores_st, st.sampled_from(LABELS), probability)
def test_assign_tier_never_falls_when_a_score_rises(rules, thresholds, scores, label, raised):
    before = scores.get(label)
    assume(before is None or raised >= before)
    lower = assign_tier(scores, rules, thresholds)
    higher = assign_tier({**scores, label: raised}, rules, thresholds)
    assert URGENCY[higher] >= URGENCY[lower]


calibration_st = st.builds(
    Calibration, st.floats(0.05, 5.0, allow_nan=False), st.floats(-5.0, 5.0, allow_nan=False)
)
ordinal_st = st.builds(
    OrdinalTierModel,
    st.tuples(calibration_st, calibration_st, calibration_st),
    probability,
    probability,
    probability,
    probability,
)
cut_probs_st = st.tuples(probability, probability, probability)


@PROPERTIES
@given(ordinal_st, cut_probs_st, st.integers(0, 2), probability)
def test_ordinal_tier_never_falls_when_a_cut_probability_rises(model, probs, cut, raised):
    assume(raised >= probs[cut])
    higher = list(probs)
    higher[cut] = raised
    before, after = ordinal_tier(probs, model), ordinal_tier(higher, model)
    assert URGENCY[after.tier] >= URGENCY[before.tier]
    assert not before.uncertain or before.tier is Tier.AMBER


logits_st = st.lists(
    st.tuples(*[st.floats(-30.0, 30.0, allow_nan=False)] * 3), min_size=1, max_size=8
)


@PROPERTIES
@given(ordinal_st, logits_st)
def test_cut_probabilities_are_ordered_amber_red_crisis(model, rows):
    probs = model.cut_probabilities(np.array(rows, dtype=np.float64))
    assert probs.shape == (len(rows), 3)
    assert np.all((probs >= 0) & (probs <= 1))
    assert np.all(probs[:, 0] >= probs[:, 1]) and np.all(probs[:, 1] >= probs[:, 2])


@PROPERTIES
@given(ordinal_st, logits_st, st.integers(0, 2), st.floats(0.0, 10.0, allow_nan=False))
def test_cut_probabilities_never_fall_when_a_logit_rises(model, rows, cut, bump):
    logits = np.array(rows, dtype=np.float64)
    raised = logits.copy()
    raised[:, cut] += bump
    before, after = model.cut_probabilities(logits), model.cut_probabilities(raised)
    assert np.all(after >= before)
