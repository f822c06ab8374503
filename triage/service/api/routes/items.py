"""POST /v1/items (ingest), GET /v1/items/{item_id}, POST /v1/items/{item_id}/events."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path

from triage.domain.review import EventType, ReviewEvent, TransitionError
from triage.problems import Detail
from triage.queue import store as queue
from triage.queue.assignment import UnknownAssignee
from triage.service.api import bulk_events
from triage.service.api.bulk_schemas import BulkEventIn, BulkEventResultOut, BulkItemResultOut
from triage.service.api.error_docs import error_responses
from triage.service.api.queue_schemas import (
    DEFAULT_COMMUNITY,
    EventIn,
    EventResultOut,
    IngestRequest,
    IngestResponse,
    IngestResultOut,
    ItemOut,
)
from triage.service.api.rendering import event_out, item_out, queue_item_out
from triage.service.api.validation import check_items
from triage.service.deps import DatabaseDep, IngestDep, ModeratorDep, PlatformDep, SettingsDep
from triage.service.errors import TriageError
from triage.settings import Settings
from triage.storage.keys import Principal
from triage.storage.tables import Item

router = APIRouter(prefix="/v1/items", tags=["queue"])
# item ids are PostgreSQL `integer`s: a larger number is refused (422) before it reaches the
# database, which would otherwise fail on it (SQLite: OverflowError past 2**63; found by fuzzing)
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1, description="triage's id of a stored item")]


def _new_item(item) -> queue.NewItem:
    return queue.NewItem(
        community=item.community or DEFAULT_COMMUNITY,
        external_id=item.id,
        text=item.text,
        parent_external_id=item.parent_id,
        parent_text=item.parent_text,
        thread_id=item.thread_id,
        author_id=item.author_id,
        text_repairs=item.text_repairs or None,
        url=item.url,
    )


def _ingest_result(item: Item, created: bool) -> IngestResultOut:
    return IngestResultOut(
        item_id=item.id,
        id=item.external_id,
        community=item.community,
        created=created,
        text_repairs=list(item.text_repairs or []),
        scoring="scored" if item.scoring_state == "scored" else "unscored",
        tier=item.tier if item.scoring_state == "scored" else None,
        priority=item.priority,
        flags=list(item.flags or []),
        scores=item.scores,
        language=item.language,
        language_unsupported=item.language_unsupported,
    )


@router.post("", response_model=IngestResponse, summary="Store items, then score and queue them")
def ingest(
    _caller: PlatformDep,
    body: IngestRequest,
    db: DatabaseDep,
    settings: SettingsDep,
    scoring: IngestDep,
) -> IngestResponse:
    """Each item is stored before it is scored; a retry of the same community + id returns the
    stored item (`created: false`) and never makes a duplicate. If scoring fails or times out
    the item is still queued, as `unscored`, for a person."""
    check_items(
        body.items,
        settings,
        key=lambda i: (i.community or DEFAULT_COMMUNITY, i.id),
        key_name="community + id pairs",
    )
    new_items, now = [_new_item(i) for i in body.items], datetime.now(UTC)
    rules = settings.tier_rules
    stored = db.write_retrying(lambda session: queue.ingest(session, new_items, now, rules))
    to_score = [item for item, _ in stored if item.scoring_state != "scored"]
    scoring.score_stored(to_score)
    with db.read() as session:
        results = [
            _ingest_result(queue.get_item(session, item.id), created) for item, created in stored
        ]
    return IngestResponse(results=results)


def _not_found(item_id: int) -> TriageError:
    return TriageError(
        404,
        "item_not_found",
        f"no item {item_id}",
        [Detail("item_id", "the item_id of a stored item (POST /v1/items)", str(item_id))],
    )


@router.get(
    "/{item_id}",
    response_model=ItemOut,
    responses=error_responses(404),
    summary="An item with its history and thread",
)
def get_item(
    item_id: ItemId, _caller: ModeratorDep, db: DatabaseDep, settings: SettingsDep
) -> ItemOut:
    with db.read() as session:
        try:
            item = queue.get_item(session, item_id)
        except queue.ItemNotFound:
            raise _not_found(item_id) from None
        events = queue.history(session, item_id)
        thread = queue.thread_context(session, item)
        return item_out(item, events, thread, settings.tier_rules)


@router.post(
    "/{item_id}/events",
    response_model=EventResultOut,
    status_code=201,
    responses=error_responses(404, 409),
    summary="Append a moderator event (claim, release, resolve, escalate, comment, relabel, "
    "reopen, assign, unassign)",
)
def post_event(
    item_id: ItemId, caller: ModeratorDep, body: EventIn, db: DatabaseDep, settings: SettingsDep
) -> EventResultOut:
    """System events (ingested, scored, scoring_failed, text_purged, rescored) are refused with
    a 422: only triage records them. The event's actor is the caller's key: its name and its id.
    `assign` names an active moderator (or admin) key in `assignee`; any other name is a 422."""
    event = _event(body, caller)
    try:
        with db.write() as session:
            item, row = queue.append_event(session, item_id, event, datetime.now(UTC))
    except queue.ItemNotFound:
        raise _not_found(item_id) from None
    except TransitionError as error:
        raise bulk_events.conflict(error) from None
    except UnknownAssignee as error:
        raise bulk_events.unknown_assignee(error) from None
    return EventResultOut(event=event_out(row), item=queue_item_out(item, settings.tier_rules))


def _event(body: EventIn, caller: Principal) -> ReviewEvent:
    try:
        return ReviewEvent(
            EventType(body.type.value),
            caller.name,
            body.outcome,
            body.labels,
            body.note,
            actor_key_id=caller.key_id,
            assignee=body.assignee,
        )
    except ValueError as error:
        raise TriageError(
            422,
            "invalid_event",
            str(error),
            [Detail("body", "an event of that type with its required fields", str(error))],
        ) from None


@router.post(
    "/bulk-events",
    response_model=BulkEventResultOut,
    summary="Append one moderator event to each of many items",
)
def post_bulk_events(
    caller: ModeratorDep, body: BulkEventIn, db: DatabaseDep, settings: SettingsDep
) -> BulkEventResultOut:
    """The event of POST /v1/items/{item_id}/events, appended to each item in `item_ids` in its
    own transaction: one event per item, each with the caller as its actor. An item the event
    does not apply to (404, 409, 422) is reported in its result and the others are still
    recorded, so the answer is 200 whatever each item's fate; an event that is invalid in
    itself (a resolve without an outcome) is a 422 for the whole request."""
    outcomes = bulk_events.append_to_each(db, body.item_ids, _event(body, caller))
    results = [_bulk_result(outcome, settings) for outcome in outcomes]
    applied = sum(outcome.applied for outcome in outcomes)
    return BulkEventResultOut(applied=applied, refused=len(results) - applied, results=results)


def _bulk_result(outcome: bulk_events.ItemOutcome, settings: Settings) -> BulkItemResultOut:
    if outcome.error is not None:
        error = outcome.error
        body = {
            "status": error.status,
            "code": error.code,
            "message": error.message,
            "details": [asdict(detail) for detail in error.details],
        }
        return BulkItemResultOut(item_id=outcome.item_id, status=error.status, error=body)
    assert outcome.event is not None and outcome.item is not None  # an applied event has both
    return BulkItemResultOut(
        item_id=outcome.item_id,
        status=201,
        event=event_out(outcome.event),
        item=queue_item_out(outcome.item, settings.tier_rules),
    )
