"""What changed in the queue since a console page last asked: its live updates.

Every change to an item appends an event (ingested, scored, claim, report, ...), so the events
table's id is the queue's version: a page keeps a cursor (an event id) and asks for the items
touched by events after it. Only ids, tiers, states and names leave here, never post text.

PostgreSQL hands out ids when a transaction inserts, not when it commits, so an event with a
lower id can become visible after one with a higher id. The cursor therefore stops short of the
last LAG of events: they are read again on the next ask (the console applies a change twice
without harm), and an event committed late within that window is not skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.domain.labels import URGENT_TIERS
from triage.domain.review import EventType
from triage.queue import store as queue
from triage.storage.tables import Event, Item

LAG = timedelta(seconds=60)  # how late an event may still commit and be seen
MAX_EVENTS = 200  # events read in one ask; past it, `more` says to ask again


@dataclass(frozen=True)
class Position:
    """Where a freshly rendered page starts: `cursor` to ask from, `seen` the newest event id
    the page could have shown (a crisis scored at or before it is not new to this page)."""

    cursor: int
    seen: int


@dataclass(frozen=True)
class Change:
    item: Item
    in_view: bool  # the page's filter (and the moderator's opt-outs) lets it through
    alert: int | None  # the id of an event in this batch that scored it crisis or red


@dataclass(frozen=True)
class Changes:
    cursor: int
    changes: list[Change]
    more: bool  # more events are waiting past `cursor`: ask again at once


def latest_event_id(session: Session) -> int:
    return session.scalar(select(func.max(Event.id))) or 0


def current_position(session: Session, now: datetime) -> Position:
    seen = latest_event_id(session)
    floor = max(seen - MAX_EVENTS, 0)
    rows = session.execute(
        select(Event.id, Event.created_at).where(Event.id > floor).order_by(Event.id)
    ).all()
    return Position(_cursor_before_recent(floor, rows, now), seen)


def _cursor_before_recent(since: int, rows: Sequence, now: datetime) -> int:
    """The id of the last event (in id order) before the first one younger than LAG."""
    cursor = since
    for row in rows:
        if row.created_at >= now - LAG:
            break
        cursor = row.id
    return cursor


def changes_since(
    session: Session,
    since: int,
    where: queue.QueueFilter,
    now: datetime,
    limit: int = MAX_EVENTS,
) -> Changes:
    """The items touched by events after `since`, in the order of their latest event."""
    rows = session.execute(
        select(Event.id, Event.item_id, Event.type, Event.tier, Event.created_at)
        .where(Event.id > since)
        .order_by(Event.id)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        latest = latest_event_id(session)
        return Changes(min(since, latest), [], False)  # a cursor past the end starts again
    cursor = rows[-1].id if more else _cursor_before_recent(since, rows, now)
    last_event: dict[int, int] = {}
    alerts: dict[int, int] = {}
    for row in rows:
        last_event[row.item_id] = row.id
        if row.type == EventType.SCORED.value and row.tier in URGENT_TIERS:
            alerts[row.item_id] = row.id
    ids = sorted(last_event, key=last_event.__getitem__)
    items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_(ids)))}
    shown = queue.list_queue(session, where, len(ids), only_ids=ids).items
    in_view = {item.id for item in shown}
    changes = [
        Change(items[item_id], item_id in in_view, alerts.get(item_id))
        for item_id in ids
        if item_id in items  # an item deleted since (retention) has nothing to show
    ]
    return Changes(cursor, changes, more)
