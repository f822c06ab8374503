"""Moderation as an append-only event log plus a derived status (after Ozone, atproto).

Pure: no database, no web. `apply_event(status, event)` is the one place a review status
changes; the storage layer calls it inside the same transaction that appends the event, so the
log and the status can never disagree.

States: open -> claimed -> resolved, with escalated as a side state a senior reviewer works.
Assignment (assign / unassign) is beside the state: it names the moderator an item is for,
and leaves the state, the claim and the ranking as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType

from triage.domain.labels import HOSTILE, LABELS, SELF_HARM, SPAM


class ReviewState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class EventType(StrEnum):
    # moderator events
    CLAIM = "claim"
    RELEASE = "release"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    COMMENT = "comment"
    RELABEL = "relabel"
    REOPEN = "reopen"
    ASSIGN = "assign"  # for a moderator (the event's assignee); see apply_event
    UNASSIGN = "unassign"
    # system events
    INGESTED = "ingested"
    SCORED = "scored"
    SCORING_FAILED = "scoring_failed"
    TEXT_PURGED = "text_purged"
    REPORT = "report"  # a member's report, sent by a platform key (POST /v1/reports)
    RESCORED = "rescored"  # a new bundle's scores (`triage rescore --write-back`); note: versions


class ModeratorEventType(StrEnum):
    """The events a person may append (API and console); triage records the others itself."""

    CLAIM = EventType.CLAIM.value
    RELEASE = EventType.RELEASE.value
    RESOLVE = EventType.RESOLVE.value
    ESCALATE = EventType.ESCALATE.value
    COMMENT = EventType.COMMENT.value
    RELABEL = EventType.RELABEL.value
    REOPEN = EventType.REOPEN.value
    ASSIGN = EventType.ASSIGN.value
    UNASSIGN = EventType.UNASSIGN.value


MODERATOR_EVENTS = frozenset(EventType(kind.value) for kind in ModeratorEventType)
SYSTEM_EVENTS = frozenset(EventType) - MODERATOR_EVENTS
SYSTEM_ACTOR = "triage"  # the actor of system events; no API key may take this name
# Routing, not handling: these do not count as an item's first action (the SLA figures of
# /v1/stats), or a lead who shares out the queue would seem to act on every item at once.
ROUTING_EVENTS = frozenset({EventType.ASSIGN, EventType.UNASSIGN})


class Outcome(StrEnum):
    NO_ACTION = "no_action"
    SUPPORTED = "supported"
    ESCALATED_TO_CRISIS_TEAM = "escalated_to_crisis_team"
    CONFIRMED_SPAM = "confirmed_spam"
    CONFIRMED_HOSTILE = "confirmed_hostile"
    FALSE_POSITIVE = "false_positive"


# The label a resolution confirms the post carries: the one outcome -> label table. The override
# rate (disagrees_with_model, /v1/stats), the dashboard's per-label figures and the training rows
# of moderator feedback (training/data/feedback.py) all read it, so a moderator who escalates a
# post the model did not flag self_harm is counted as overruling the model on the post the
# training data then learns is self_harm. The other outcomes confirm no label: false_positive
# clears the model's flags, and no_action or supported say nothing about them.
OUTCOME_LABELS: Mapping[Outcome, str] = MappingProxyType(
    {
        Outcome.CONFIRMED_SPAM: SPAM,
        Outcome.CONFIRMED_HOSTILE: HOSTILE,
        Outcome.ESCALATED_TO_CRISIS_TEAM: SELF_HARM,
    }
)


def confirmed_label(outcome: Outcome | None) -> str | None:
    """The label a resolution with `outcome` confirms (OUTCOME_LABELS), or None."""
    return None if outcome is None else OUTCOME_LABELS.get(outcome)


# A member's report is upheld when a moderator resolves its item with one of these; any other
# outcome (no_action, false_positive) rejects it. The reporter's history weighs their next
# reports (queue/reporters.py, priority.report_points).
UPHELD_OUTCOMES = frozenset(
    {
        Outcome.SUPPORTED,
        Outcome.ESCALATED_TO_CRISIS_TEAM,
        Outcome.CONFIRMED_SPAM,
        Outcome.CONFIRMED_HOSTILE,
    }
)


class TransitionError(ValueError):
    """The event does not apply to the item's current status (the API answers 409)."""

    def __init__(self, message: str, expected: str, found: str) -> None:
        super().__init__(message)
        self.expected, self.found = expected, found


@dataclass(frozen=True)
class ReviewEvent:
    type: EventType
    actor: str  # the API key's name (unique among active keys), or SYSTEM_ACTOR
    outcome: Outcome | None = None
    labels: dict[str, int] | None = None  # relabel: the moderator's view, label -> 0/1
    note: str | None = None
    actor_key_id: int | None = None  # the API key that acted; None for system events
    reporter_id: str | None = None  # report: the member who reported (the platform's id)
    report_reason: str | None = None  # report: one of configs/reports.yaml reasons
    assignee: str | None = None  # assign: the moderator (an active key's name) it is for

    def __post_init__(self) -> None:
        reporting = self.type is EventType.REPORT
        if reporting and not (self.reporter_id and self.report_reason):
            raise ValueError("a report event needs a reporter_id and a report_reason")
        if not reporting and (self.reporter_id is not None or self.report_reason is not None):
            raise ValueError(f"only report events carry a reporter, not {self.type.value}")
        if self.type is EventType.RESOLVE and self.outcome is None:
            raise ValueError("a resolve event needs an outcome")
        if self.type is not EventType.RESOLVE and self.outcome is not None:
            raise ValueError(f"only resolve events carry an outcome, not {self.type.value}")
        if self.type is EventType.RELABEL:
            if not self.labels:
                raise ValueError("a relabel event needs labels: {label: 0 or 1}")
            unknown = set(self.labels) - set(LABELS)
            if unknown:
                raise ValueError(f"relabel: unknown labels {sorted(unknown)}; known: {LABELS}")
            if any(value not in (0, 1) for value in self.labels.values()):
                raise ValueError("relabel: every label value must be 0 or 1")
        elif self.labels is not None:
            raise ValueError(f"only relabel events carry labels, not {self.type.value}")
        if self.type is EventType.ASSIGN and not (self.assignee and self.assignee.strip()):
            raise ValueError("an assign event needs an assignee: a moderator's key name")
        if self.type is not EventType.ASSIGN and self.assignee is not None:
            raise ValueError(f"only assign events carry an assignee, not {self.type.value}")


@dataclass(frozen=True)
class ReviewStatus:
    state: ReviewState = ReviewState.OPEN
    claimed_by: str | None = None
    escalated: bool = False  # stays true through a claim, so a release returns it to escalated
    outcome: Outcome | None = None
    labels: dict[str, int] | None = None  # the latest relabel, if any
    assigned_to: str | None = None  # kept through claims and resolutions until unassigned

    @property
    def needs_review(self) -> bool:
        return self.state in (ReviewState.OPEN, ReviewState.ESCALATED)


@dataclass(frozen=True)
class ReviewedPost:
    """A stored post, the model's flags on it and what moderators decided: plain values, so that
    the queue can hand its decisions to the training data (training/data/feedback.py) without
    the training code reading the database."""

    community: str
    external_id: str
    thread_id: str | None
    text: str
    parent_text: str | None
    flags: tuple[str, ...]
    outcome: Outcome | None
    relabels: Mapping[str, int] | None


def _unclaimed_state(status: ReviewStatus) -> ReviewState:
    return ReviewState.ESCALATED if status.escalated else ReviewState.OPEN


def _check_not_claimed_by_other(status: ReviewStatus, event: ReviewEvent) -> None:
    if status.state is ReviewState.CLAIMED and status.claimed_by != event.actor:
        raise TransitionError(
            f"item is claimed by {status.claimed_by}; release it first",
            "an item that is not claimed by someone else",
            f"claimed by {status.claimed_by}",
        )


def _check_not_resolved(status: ReviewStatus, event: ReviewEvent) -> None:
    if status.state is ReviewState.RESOLVED:
        raise TransitionError(
            f"cannot {event.type.value} a resolved item; reopen it first",
            "an item that is not resolved",
            "resolved",
        )


def apply_event(status: ReviewStatus, event: ReviewEvent) -> ReviewStatus:
    """The status after `event`; raises TransitionError if the event does not apply."""
    match event.type:
        case EventType.CLAIM:
            _check_not_resolved(status, event)
            if status.state is ReviewState.CLAIMED:
                raise TransitionError(
                    f"item is already claimed by {status.claimed_by}",
                    "an unclaimed item",
                    f"claimed by {status.claimed_by}",
                )
            return replace(status, state=ReviewState.CLAIMED, claimed_by=event.actor)
        case EventType.RELEASE:
            if status.state is not ReviewState.CLAIMED:
                raise TransitionError(
                    "only a claimed item can be released", "a claimed item", status.state.value
                )
            _check_not_claimed_by_other(status, event)
            return replace(status, state=_unclaimed_state(status), claimed_by=None)
        case EventType.ESCALATE:
            _check_not_resolved(status, event)
            _check_not_claimed_by_other(status, event)
            return replace(status, state=ReviewState.ESCALATED, claimed_by=None, escalated=True)
        case EventType.RESOLVE:
            _check_not_resolved(status, event)
            _check_not_claimed_by_other(status, event)
            return replace(
                status, state=ReviewState.RESOLVED, claimed_by=None, outcome=event.outcome
            )
        case EventType.REOPEN:
            if status.state is not ReviewState.RESOLVED:
                raise TransitionError(
                    "only a resolved item can be reopened", "a resolved item", status.state.value
                )
            return replace(status, state=_unclaimed_state(status), outcome=None)
        case EventType.RELABEL:
            return replace(status, labels=dict(event.labels or {}))
        case EventType.ASSIGN:
            _check_not_resolved(status, event)
            if status.assigned_to == event.assignee:
                raise TransitionError(
                    f"item is already assigned to {event.assignee}",
                    "an item not assigned to them",
                    f"assigned to {event.assignee}",
                )
            return replace(status, assigned_to=event.assignee)
        case EventType.UNASSIGN:
            if status.assigned_to is None:
                raise TransitionError(
                    "only an assigned item can be unassigned", "an assigned item", "unassigned"
                )
            return replace(status, assigned_to=None)
        case _:  # comment and system events leave the review state as it is
            return status


def disagrees_with_model(
    flags: list[str], outcome: Outcome | None, relabels: dict[str, int] | None
) -> bool:
    """Did the moderator overrule the model? (the override rate in /v1/stats)

    A false positive, a confirmation of a label the model did not flag (OUTCOME_LABELS: an
    escalation to the crisis team confirms self_harm), or a relabel that contradicts a flag all
    count; agreeing or taking no action does not.
    """
    flagged = set(flags)
    if outcome is Outcome.FALSE_POSITIVE:
        return True
    confirmed = confirmed_label(outcome)
    if confirmed is not None and confirmed not in flagged:
        return True
    return any(bool(value) != (label in flagged) for label, value in (relabels or {}).items())
