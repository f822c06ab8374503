"""Issue 13, points 5 and 6, as rules: a post flagged self_harm is never green, the priority
within a tier follows the evidence for escalation (not distress), and a post that shares a
crisis resource is not flagged spam unless it also promotes something."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from triage.domain.labels import Tier
from triage.domain.priority import (
    SELF_HARM_FLOOR_REASON,
    compute_priority,
    crisis_resource_in,
    crisis_resource_reason,
    escalation_evidence,
)
from triage.domain.resource_guard import ResourceGuard, hosts_in
from triage.domain.tier_rules import TierRules
from triage.domain.tiers import floor_for_self_harm
from triage.paths import DEFAULT_BUNDLE, DEFAULT_CONFIG_DIR
from triage.queue import ranking
from triage.scoring.bundle import Bundle, load_bundle
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage.tables import Item

SLA = Settings().tier_rules.sla_minutes
POINTS = Settings().tier_rules.priority
NOW = datetime(2025, 1, 1, tzinfo=UTC)
NEVER = 1.01  # a threshold or cut-off no calibrated probability reaches

# The two posts of the issue, as score vectors: both red, and both got 75 (65 + 10 confidence
# points from distress 0.99 and self_harm 0.97): "distress saturates the confidence points".
ANXIETY = {"self_harm": 0.31, "distress": 0.99}  # a plain anxiety post
ANXIETY_CUTS = {"amber": 0.93, "red": 0.52, "crisis": 0.04}
PILLS = {"self_harm": 0.97, "distress": 0.62}  # "I have the pills in front of me. Tonight..."
PILLS_CUTS = {"amber": 0.99, "red": 0.96, "crisis": 0.47}


# --- (a) a post flagged self_harm is never green ----------------------------------------------
@pytest.mark.parametrize(
    ("tier", "flags", "floored"),
    [
        (Tier.GREEN, ["self_harm"], Tier.AMBER),
        (Tier.GREEN, ["self_harm", "distress"], Tier.AMBER),
        (Tier.GREEN, ["distress", "hostile"], Tier.GREEN),
        (Tier.GREEN, [], Tier.GREEN),
        (Tier.AMBER, ["self_harm"], Tier.AMBER),
        (Tier.RED, ["self_harm"], Tier.RED),
        (Tier.CRISIS, ["self_harm"], Tier.CRISIS),
    ],
)
def test_a_flagged_self_harm_post_is_at_least_amber(tier, flags, floored):
    assert floor_for_self_harm(tier, flags) is floored


def test_the_floor_reason_is_given_where_the_floor_holds():
    floored = compute_priority(Tier.AMBER, ["self_harm"], {"self_harm": 0.62}, points=POINTS)
    assert SELF_HARM_FLOOR_REASON in floored.reasons
    assert floored.value >= POINTS.tier_base[Tier.AMBER]
    green = compute_priority(
        Tier.GREEN, ["distress"], {"self_harm": 0.01, "distress": 0.7}, points=POINTS
    )
    red = compute_priority(Tier.RED, ["self_harm"], {"self_harm": 0.9}, points=POINTS)
    assert SELF_HARM_FLOOR_REASON not in green.reasons + red.reasons


# --- (b) priority within a tier follows the evidence for escalation ---------------------------
def test_the_two_posts_of_the_issue_no_longer_tie():
    anxiety = compute_priority(
        Tier.RED, ["self_harm", "distress"], ANXIETY, 0, 60, ANXIETY_CUTS, points=POINTS
    )
    pills = compute_priority(
        Tier.RED, ["self_harm", "distress"], PILLS, 0, 60, PILLS_CUTS, points=POINTS
    )
    assert pills.value > anxiety.value
    assert anxiety.value == POINTS.tier_base[Tier.RED]  # P(>= crisis) 0.04: no within-tier points
    assert pills.value == POINTS.tier_base[Tier.RED] + round(POINTS.confidence_points * 0.47)


@pytest.mark.parametrize(
    ("tier", "cut"),
    [(Tier.GREEN, "amber"), (Tier.AMBER, "red"), (Tier.RED, "crisis"), (Tier.CRISIS, "crisis")],
)
def test_with_a_tier_head_the_points_are_p_of_the_next_tier_up(tier, cut):
    cuts = {"amber": 0.2, "red": 0.3, "crisis": 0.4} | {cut: 0.9}
    assert escalation_evidence(tier, {"distress": 1.0, "self_harm": 0.0}, cuts) == 0.9
    low = compute_priority(
        tier, [], {"distress": 0.99}, tier_scores=cuts | {cut: 0.1}, points=POINTS
    )
    high = compute_priority(
        tier, [], {"distress": 0.01}, tier_scores=cuts | {cut: 0.8}, points=POINTS
    )
    assert high.value > low.value


@pytest.mark.parametrize("tier", [Tier.CRISIS, Tier.RED, Tier.AMBER])
def test_without_a_tier_head_distress_never_beats_stronger_self_harm_evidence(tier):
    stronger = compute_priority(tier, [], {"self_harm": 0.6, "distress": 0.05}, points=POINTS)
    distressed = compute_priority(tier, [], {"self_harm": 0.3, "distress": 0.99}, points=POINTS)
    assert stronger.value > distressed.value
    calm = compute_priority(tier, [], {"self_harm": 0.3, "distress": 0.0}, points=POINTS)
    assert distressed.value == calm.value  # distress adds nothing from amber up


def test_in_green_distress_is_the_evidence_for_amber():
    distressed = compute_priority(
        Tier.GREEN, [], {"self_harm": 0.01, "distress": 0.9}, points=POINTS
    )
    calm = compute_priority(Tier.GREEN, [], {"self_harm": 0.01, "distress": 0.1}, points=POINTS)
    assert distressed.value > calm.value


def test_a_flag_score_no_longer_buys_within_tier_points():
    """A confident hostile or spam flag keeps its base; its score is not escalation evidence."""
    sure = compute_priority(
        Tier.GREEN, ["hostile"], {"hostile": 0.99}, tier_scores={"amber": 0}, points=POINTS
    )
    unsure = compute_priority(
        Tier.GREEN, ["hostile"], {"hostile": 0.4}, tier_scores={"amber": 0}, points=POINTS
    )
    assert sure.value == unsure.value


def test_an_amber_post_at_its_sla_still_outranks_a_fresh_red_one():
    """Distress no longer gives amber posts points, so amber's base carries the ageing promise:
    at its SLA an amber post with no evidence for red beats a red one in its first minute with
    half the evidence for crisis, and, with the shipped tier head, any red post in its first
    minute (a red post has P(>= crisis) under the crisis cut-off)."""
    amber = compute_priority(
        Tier.AMBER, [], {"self_harm": 0.0, "distress": 0.9}, 480, 480, points=POINTS
    )
    half = compute_priority(
        Tier.RED, ["self_harm"], {"self_harm": 0.5}, 1, SLA["red"], points=POINTS
    )
    assert amber.value > half.value
    crisis_cut = load_bundle(DEFAULT_BUNDLE).tier_model.crisis
    near_crisis = {"amber": 1.0, "red": 1.0, "crisis": crisis_cut - 1e-4}
    red = compute_priority(
        Tier.RED, ["self_harm"], PILLS, 1, SLA["red"], near_crisis, points=POINTS
    )
    head_amber = compute_priority(
        Tier.AMBER, [], ANXIETY, 480, 480, {"amber": 0.6, "red": 0.0}, points=POINTS
    )
    assert head_amber.value > red.value


def _stored(tier: str, flags: list[str], scores: dict, tier_scores: dict | None) -> Item:
    return Item(
        received_at=NOW,
        scoring_state="scored",
        tier=tier,
        flags=flags,
        scores=scores,
        tier_scores=tier_scores,
        tier_uncertain=False,
        language_unsupported=False,
        thread_corumination=None,
        state="open",
    )


def test_the_queue_re_ranks_with_the_same_function_and_inputs():
    rules = Settings().tier_rules
    later = NOW + timedelta(minutes=20)
    for scores, cuts in ((ANXIETY, ANXIETY_CUTS), (PILLS, PILLS_CUTS), (PILLS, None)):
        item = _stored("red", ["self_harm"], scores, cuts)
        ranking.rank(item, rules, later)
        expected = compute_priority(
            Tier.RED, ["self_harm"], scores, 20, SLA["red"], cuts, points=POINTS
        )
        assert (item.priority, item.priority_reasons) == (expected.value, list(expected.reasons))
    anxiety, pills = (
        _stored("red", [], ANXIETY, ANXIETY_CUTS),
        _stored("red", [], PILLS, PILLS_CUTS),
    )
    ranking.rank(anxiety, rules, later)
    ranking.rank(pills, rules, later)
    assert pills.priority > anxiety.priority


def test_the_queue_keeps_the_floor_reason():
    item = _stored("amber", ["self_harm"], {"self_harm": 0.62}, {"amber": 0.3, "red": 0.05})
    ranking.rank(item, Settings().tier_rules, NOW + timedelta(hours=1))
    assert SELF_HARM_FLOOR_REASON in item.priority_reasons


# --- (c) crisis resources are never spam ------------------------------------------------------
SHARED = {
    "if anyone's in the UK you can call Samaritans free on 116 123, any time": "Samaritans",
    "please call 988, they are kind": "988 Suicide & Crisis Lifeline",
    "text SHOUT to 85258 if you can't talk out loud": "Shout",
    "this helped me: https://www.samaritans.org/how-we-can-help/": "Samaritans",
    "ring 111 or see your GP tomorrow": "NHS 111",
    "in Australia it's 13 11 14, or text 0477 13 11 14": "Lifeline",
    "you can email jo@samaritans.org if calling is too much": "Samaritans",
    "crisistextline.org, or text HOME to 741741": "Crisis Text Line",
    "the 9-8-8 line picks up at night": "988 Suicide & Crisis Lifeline",
}
PROMOTED = [
    "use code HEAL20 for 20% off at calmpath.app",
    "Call Samaritans on 116 123, or get our calm course at calmpath.app",
    "call 988 if it's bad, then use code HEAL20 for our coaching",
    "Samaritans are ok but DM me for real help, $49 a session",
]
NOT_SHARED = [
    "I just want to shout at everyone today",  # "Shout" the service, not the word
    "my sister has been a lifeline this week",
    "never mind, I'll be fine",
    "I have 1,000 followers and $5000 in savings",
    "I was tired.Then I slept all day",
]


@pytest.fixture(scope="module")
def guard() -> ResourceGuard:
    return ResourceGuard.load(DEFAULT_CONFIG_DIR)


@pytest.mark.parametrize(("text", "resource"), SHARED.items())
def test_a_shared_crisis_resource_withholds_the_spam_flag(guard, text, resource):
    assert guard.withholds_spam(text) == resource


@pytest.mark.parametrize("text", PROMOTED)
def test_a_promotion_keeps_the_spam_flag_even_next_to_a_resource(guard, text):
    assert guard.withholds_spam(text) is None
    assert guard.promotion(text) is not None


@pytest.mark.parametrize("text", NOT_SHARED)
def test_everyday_words_numbers_and_sentences_are_not_resources(guard, text):
    assert guard.shared_resource(text) is None


def test_the_guard_knows_every_line_of_every_resources_file(guard):
    for path in sorted((DEFAULT_CONFIG_DIR / "resources").glob("*.yaml")):
        for line in yaml.safe_load(path.read_text())["lines"]:
            for dialled in (line.get("phone"), line.get("text")):
                if dialled is not None:  # 988 is the US and the Canadian line: either name
                    assert guard.shared_resource(f"try {dialled} tonight") is not None, dialled
            assert guard.shared_resource(f"see {line['url']}") == line["name"]


def test_hosts_are_links_not_sentences():
    assert hosts_in("see https://www.Samaritans.org/x and calmpath.app.") == [
        "samaritans.org",
        "calmpath.app",
    ]
    assert hosts_in("e.g. i.e. a.m. tired.Then St.Louis") == []


def test_a_config_folder_of_its_own_is_read_too(tmp_path: Path):
    (tmp_path / "resources").mkdir()
    en = yaml.safe_load((DEFAULT_CONFIG_DIR / "resources" / "en.yaml").read_text())
    en["lines"] = [en["lines"][2]]  # Samaritans only
    (tmp_path / "resources" / "en.yaml").write_text(yaml.safe_dump(en))
    own = ResourceGuard.load(tmp_path)  # no resource_guard.yaml: no extra services
    assert own.withholds_spam("call Samaritans") == "Samaritans"
    assert own.shared_resource("ring 111") is None
    (tmp_path / "resource_guard.yaml").write_text("services: [{name: X, numbers: ['12']}]\n")
    assert ResourceGuard.load(tmp_path).shared_resource("dial 12") == "X"
    (tmp_path / "resource_guard.yaml").write_text("services: [{name: X, phone: '12'}]\n")
    with pytest.raises(ValueError, match="resource_guard.yaml"):
        ResourceGuard.load(tmp_path)


def test_settings_load_the_guard_once():
    settings = Settings()
    assert settings.resource_guard is settings.resource_guard
    assert settings.resource_guard.numbers["116123"] == "Samaritans"


# --- end to end through OnnxScorer, with the tiny test bundle ---------------------------------
def _scorer(bundle: Bundle, *, self_harm: float, spam: float = NEVER) -> OnnxScorer:
    """A scorer whose tier head (or rules, without one) always says green, with the given flag
    thresholds; every other label is never flagged."""
    thresholds = dict.fromkeys(bundle.thresholds, NEVER) | {"self_harm": self_harm, "spam": spam}
    head = bundle.tier_model and replace(
        bundle.tier_model, crisis=NEVER, red=NEVER, amber=NEVER, uncertain=NEVER
    )
    always_green = TierRules(rules={}, sla_minutes=dict(SLA), priority=POINTS)
    return OnnxScorer(
        replace(bundle, thresholds=thresholds, tier_model=head), always_green, evidence=False
    )


@pytest.fixture(scope="module")
def bundle(tiny_bundle) -> Bundle:
    return load_bundle(tiny_bundle)


@pytest.mark.parametrize("tier_head", [True, False], ids=["tier head", "rules"])
def test_the_scorer_shows_a_flagged_self_harm_post_amber(bundle, tier_head):
    bundle = bundle if tier_head else replace(bundle, tier_model=None)  # outputs kept
    post = [ScoreInput("a", "i cant do this anymore, wrote my note")]
    (flagged,) = _scorer(bundle, self_harm=0.0).score(post)
    assert "self_harm" in flagged.flags
    assert (flagged.tier, flagged.self_harm_floor) == (Tier.AMBER, True)
    assert SELF_HARM_FLOOR_REASON in flagged.reasons
    (unflagged,) = _scorer(bundle, self_harm=NEVER).score(post)
    assert (unflagged.tier, unflagged.self_harm_floor) == (Tier.GREEN, False)
    assert SELF_HARM_FLOOR_REASON not in unflagged.reasons


def test_the_scorer_withholds_spam_from_a_crisis_resource_and_keeps_the_score(bundle):
    scorer = _scorer(bundle, self_harm=NEVER, spam=0.0)  # every spam score is over threshold
    texts = [SHARED_TEXT := next(iter(SHARED)), *PROMOTED[:2], "Hi, how was your week?"]
    results = scorer.score([ScoreInput(str(n), text) for n, text in enumerate(texts)])
    shared, *others = results
    assert "spam" not in shared.flags and shared.scores["spam"] is not None
    assert crisis_resource_reason(SHARED[SHARED_TEXT]) in shared.reasons
    assert shared.reasons[-1] == "shares a crisis resource (Samaritans): not flagged as spam"
    assert shared.spam_withheld_by == "Samaritans"  # stored with a queue item (queue/ranking.py)
    for other in others:
        assert "spam" in other.flags and other.spam_withheld_by is None
        assert not any("crisis resource" in reason for reason in other.reasons)


def test_the_crisis_resource_is_read_back_from_its_reason():
    name = "988 Suicide & Crisis Lifeline (US)"
    assert crisis_resource_in(["tier amber", crisis_resource_reason(name)]) == name
    assert crisis_resource_in(["tier amber", "flag spam (0.91)"]) is None


def test_the_score_api_carries_the_floor(client, bundle):
    context_of(client.app).model.scorer = _scorer(bundle, self_harm=0.0)
    response = client.post("/v1/score", json={"items": [{"id": "a", "text": "wrote my note"}]})
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert (result["tier"], result["self_harm_floor"]) == ("amber", True)
    assert SELF_HARM_FLOOR_REASON in result["reasons"]
