"""The pure review state machine: every allowed move, and the moves it refuses."""

from __future__ import annotations

import pytest

from triage.domain.labels import LABELS
from triage.domain.review import (
    OUTCOME_LABELS,
    EventType,
    Outcome,
    ReviewEvent,
    ReviewState,
    ReviewStatus,
    TransitionError,
    apply_event,
    disagrees_with_model,
)


def ev(kind: EventType, actor: str = "alice", **extra) -> ReviewEvent:
    return ReviewEvent(kind, actor, **extra)


def run(*events: ReviewEvent) -> ReviewStatus:
    status = ReviewStatus()
    for event in events:
        status = apply_event(status, event)
    return status


def test_claim_then_resolve():
    status = run(ev(EventType.CLAIM), ev(EventType.RESOLVE, outcome=Outcome.SUPPORTED))
    assert status.state is ReviewState.RESOLVED
    assert status.outcome is Outcome.SUPPORTED and status.claimed_by is None


def test_second_claim_is_refused():
    with pytest.raises(TransitionError, match="already claimed by alice"):
        run(ev(EventType.CLAIM), ev(EventType.CLAIM, "bob"))


def test_others_cannot_resolve_or_release_a_claimed_item():
    for kind, extra in (
        (EventType.RESOLVE, {"outcome": Outcome.NO_ACTION}),
        (EventType.RELEASE, {}),
    ):
        with pytest.raises(TransitionError, match="claimed by alice"):
            run(ev(EventType.CLAIM), ev(kind, "bob", **extra))


def test_release_returns_to_the_state_before_the_claim():
    assert run(ev(EventType.CLAIM), ev(EventType.RELEASE)).state is ReviewState.OPEN
    escalated = run(
        ev(EventType.ESCALATE), ev(EventType.CLAIM, "lead"), ev(EventType.RELEASE, "lead")
    )
    assert escalated.state is ReviewState.ESCALATED


def test_resolved_items_refuse_work_until_reopened():
    done = run(ev(EventType.RESOLVE, outcome=Outcome.FALSE_POSITIVE))
    with pytest.raises(TransitionError, match="reopen"):
        apply_event(done, ev(EventType.CLAIM))
    reopened = apply_event(done, ev(EventType.REOPEN))
    assert reopened.state is ReviewState.OPEN and reopened.outcome is None
    with pytest.raises(TransitionError):
        apply_event(reopened, ev(EventType.REOPEN))


def test_comments_relabels_and_system_events_keep_the_state():
    claimed = run(ev(EventType.CLAIM))
    for event in (
        ev(EventType.COMMENT, note="checked in with them"),
        ev(EventType.RELABEL, labels={"hostile": 1}),
        ReviewEvent(EventType.SCORED, "triage"),
    ):
        after = apply_event(claimed, event)
        assert after.state is ReviewState.CLAIMED and after.claimed_by == "alice"
    assert apply_event(claimed, ev(EventType.RELABEL, labels={"hostile": 1})).labels == {
        "hostile": 1
    }


@pytest.mark.parametrize(
    ("kind", "extra", "message"),
    [
        (EventType.RESOLVE, {}, "needs an outcome"),
        (EventType.CLAIM, {"outcome": Outcome.NO_ACTION}, "only resolve"),
        (EventType.RELABEL, {}, "needs labels"),
        (EventType.RELABEL, {"labels": {"rudeness": 1}}, "unknown labels"),
        (EventType.RELABEL, {"labels": {"hostile": 2}}, "0 or 1"),
        (EventType.COMMENT, {"labels": {"hostile": 1}}, "only relabel"),
    ],
)
def test_malformed_events_are_refused(kind, extra, message):
    with pytest.raises(ValueError, match=message):
        ReviewEvent(kind, "alice", **extra)


def test_disagreement_with_the_model():
    assert disagrees_with_model(["hostile"], Outcome.FALSE_POSITIVE, None)
    assert disagrees_with_model([], Outcome.CONFIRMED_SPAM, None)
    assert not disagrees_with_model(["spam"], Outcome.CONFIRMED_SPAM, None)
    assert not disagrees_with_model(["self_harm"], Outcome.SUPPORTED, None)
    assert disagrees_with_model(["hostile"], None, {"hostile": 0})
    assert not disagrees_with_model(["hostile"], None, {"hostile": 1, "spam": 0})


def test_an_escalation_to_the_crisis_team_confirms_self_harm():
    """OUTCOME_LABELS, the table the feedback rows read too: escalating a post the model did not
    flag self_harm overrules the model; escalating a flagged one agrees with it."""
    escalated = Outcome.ESCALATED_TO_CRISIS_TEAM
    assert OUTCOME_LABELS[escalated] == "self_harm"
    assert disagrees_with_model(["distress"], escalated, None)
    assert not disagrees_with_model(["self_harm", "distress"], escalated, None)
    assert set(OUTCOME_LABELS.values()) <= set(LABELS)
    assert Outcome.FALSE_POSITIVE not in OUTCOME_LABELS and Outcome.SUPPORTED not in OUTCOME_LABELS
