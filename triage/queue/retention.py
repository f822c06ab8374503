"""Retention: the text of items resolved more than N days ago is purged (Settings.retention_days,
`triage purge`, and hourly in the service when set).

What goes: the post's `text`, the `parent_text` copied with it and the post's `url` (set to
null: a link's path often holds the words of the post's title), the free text members wrote in
their reports of it (the `note` of its `report` events, then or later: a member's words, often
about the post or its author), and every copy of the purged post in its replies' `parent_text`,
open or resolved, then or later (a reply keeps its own text, scores and history, and gets a
`text_purged` event saying why). What stays:
ids, community, thread, author id, scores, flags, tier, evidence offsets, priority, outcome,
relabels, and the whole event log (a report event keeps its reporter id and reason), to which a
system event `text_purged` is appended. The moderators' event notes stay: they are their own
words and part of the audit trail (the log is append-only); moderators are asked not to quote
posts in them (README, Privacy).

Counted from `resolved_at`, not from when the item arrived: a moderator who resolves an old
item still has its text for N days. A reopened item is not resolved, so it keeps its text; a
purged item that is reopened stays purged (the console shows "text purged"). Idempotent and
safe for several replicas at once: only rows that still hold text (a link, a report comment)
are picked, locked with SKIP LOCKED on PostgreSQL (SQLite's write transactions are serial).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from triage.domain.review import SYSTEM_ACTOR, EventType, ReviewEvent, ReviewState
from triage.queue import store as queue
from triage.storage.database import Database
from triage.storage.tables import Event, Item

BATCH = 500


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime  # items resolved before this moment
    items: int  # purged (or, in a dry run, that would be)
    dry_run: bool
    parent_copies: int = 0  # replies whose copy of a purged post (parent_text) was removed


PARENT = aliased(Item, name="parent")


def cutoff_for(days: float, now: datetime) -> datetime:
    if days <= 0:
        raise ValueError(f"retention days: expected a number > 0, found {days:g}")
    return now - timedelta(days=days)


def _resolved_before(item: type[Item], cutoff: datetime) -> ColumnElement[bool]:
    return and_(item.state == ReviewState.RESOLVED.value, item.resolved_at < cutoff)


def _report_comments(item_ids: ColumnElement[bool]):
    """Where `item_ids`: the report events that still hold a member's free text."""
    return and_(item_ids, Event.type == EventType.REPORT.value, Event.note.is_not(None))


def _purgeable(cutoff: datetime):
    return select(Item).where(
        _resolved_before(Item, cutoff),
        or_(
            Item.text.is_not(None),
            Item.parent_text.is_not(None),
            Item.url.is_not(None),
            exists().where(_report_comments(Event.item_id == Item.id)),
        ),
    )


def _replies_copying(parent_condition: ColumnElement[bool]):
    """Replies that hold a copy (parent_text) of a stored post meeting `parent_condition`."""
    return (
        select(Item, PARENT.id)
        .join(
            PARENT,
            and_(
                PARENT.community == Item.community,
                PARENT.external_id == Item.parent_external_id,
            ),
        )
        .where(Item.parent_text.is_not(None), parent_condition)
    )


def count_purgeable(session: Session, cutoff: datetime) -> int:
    query = _purgeable(cutoff).with_only_columns(func.count())
    return session.scalar(query) or 0


def count_parent_copies(session: Session, cutoff: datetime) -> int:
    """Replies, not purged whole themselves, whose parent is purged or will be at `cutoff`."""
    parent_goes = or_(PARENT.text.is_(None), _resolved_before(PARENT, cutoff))
    reply_stays = or_(Item.state != ReviewState.RESOLVED.value, Item.resolved_at >= cutoff)
    query = _replies_copying(and_(parent_goes, reply_stays)).with_only_columns(func.count())
    return session.scalar(query) or 0


def purge_batch(session: Session, cutoff: datetime, days: float, now: datetime) -> tuple[int, int]:
    """Purge up to BATCH items, and their replies' copies of them, in the caller's transaction
    (so no copy outlives its post); returns (items, copies)."""
    items = session.scalars(
        _purgeable(cutoff).order_by(Item.resolved_at).limit(BATCH).with_for_update(skip_locked=True)
    ).all()
    note = (
        f"retention: resolved more than {days:g} days ago; text, parent text, link and "
        "members' report comments removed, scores, outcome and history kept"
    )
    for item in items:
        item.text, item.parent_text, item.url, item.updated_at = None, None, None, now
        event = ReviewEvent(EventType.TEXT_PURGED, SYSTEM_ACTOR, note=note)
        queue.add_system_event(session, item, event, now)
    if not items:
        return 0, 0
    ids = [item.id for item in items]
    # the one change to logged events: a member's words go with the post's (the items are locked)
    clear_comments = update(Event).where(_report_comments(Event.item_id.in_(ids))).values(note=None)
    session.execute(clear_comments.execution_options(synchronize_session=False))
    return len(items), clear_parent_copies(session, PARENT.id.in_(ids), now)


def clear_parent_copies(
    session: Session, parent_condition: ColumnElement[bool], now: datetime, limit: int | None = None
) -> int:
    """Remove from replies' parent_text their copy of a purged post (one meeting
    `parent_condition`); returns how many replies.

    Every reply, open or not, and whenever it arrived: a purged post's text is kept nowhere,
    as retention is for the privacy of the person who wrote it. The reply keeps its scores
    (made with the parent in view) and its own text; if it is scored again, it is without.
    """
    rows = session.execute(
        _replies_copying(parent_condition)
        .order_by(Item.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Item)
    ).all()
    for reply, parent_id in rows:
        reply.parent_text, reply.updated_at = None, now
        note = (
            f"retention: the text of the post this replies to (item {parent_id}) was purged, "
            "so its copy here was removed; this reply's own text, scores and history are kept"
        )
        event = ReviewEvent(EventType.TEXT_PURGED, SYSTEM_ACTOR, note=note)
        queue.add_system_event(session, reply, event, now)
    return len(rows)


def purge(db: Database, days: float, now: datetime, dry_run: bool = False) -> PurgeResult:
    """Purge every item resolved more than `days` ago with its replies' copies of it, one
    transaction per batch; first the copies in replies that came after their post was purged."""
    cutoff = cutoff_for(days, now)
    if dry_run:
        with db.read() as session:
            items, copies = count_purgeable(session, cutoff), count_parent_copies(session, cutoff)
        return PurgeResult(cutoff, items, dry_run=True, parent_copies=copies)
    copies = 0
    while True:
        with db.write() as session:
            done = clear_parent_copies(session, PARENT.text.is_(None), now, limit=BATCH)
        copies += done
        if done < BATCH:
            break
    items = 0
    while True:
        with db.write() as session:
            done, copied = purge_batch(session, cutoff, days, now)
        items, copies = items + done, copies + copied
        if done < BATCH:
            return PurgeResult(cutoff, items, dry_run=False, parent_copies=copies)
