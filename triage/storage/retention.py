"""Retention: the text of items resolved more than N days ago is purged (Settings.retention_days,
`triage purge`, and hourly in the service when set).

What goes: the post's `text` and the `parent_text` copied with it (set to null). What stays:
ids, community, thread, author id, scores, flags, tier, evidence offsets, priority, outcome,
relabels, and the whole event log, to which a system event `text_purged` is appended. Event
notes stay too: they are the moderators' own words and part of the audit trail (the log is
append-only); moderators are asked not to quote posts in them (README, Privacy).

Counted from `resolved_at`, not from when the item arrived: a moderator who resolves an old
item still has its text for N days. A reopened item is not resolved, so it keeps its text; a
purged item that is reopened stays purged (the console shows "text purged"). Idempotent and
safe for several replicas at once: only rows that still hold text are picked, locked with
SKIP LOCKED on PostgreSQL (SQLite's write transactions are serial).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from triage.review import EventType, ReviewEvent, ReviewState
from triage.storage import queue
from triage.storage.database import Database
from triage.storage.tables import Item

BATCH = 500


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime  # items resolved before this moment
    items: int  # purged (or, in a dry run, that would be)
    dry_run: bool


def cutoff_for(days: float, now: datetime) -> datetime:
    if days <= 0:
        raise ValueError(f"retention days: expected a number > 0, found {days:g}")
    return now - timedelta(days=days)


def _purgeable(cutoff: datetime):
    return select(Item).where(
        Item.state == ReviewState.RESOLVED.value,
        Item.resolved_at < cutoff,
        or_(Item.text.is_not(None), Item.parent_text.is_not(None)),
    )


def count_purgeable(session: Session, cutoff: datetime) -> int:
    query = _purgeable(cutoff).with_only_columns(func.count())
    return session.scalar(query) or 0


def purge_batch(session: Session, cutoff: datetime, days: float, now: datetime) -> int:
    """Purge up to BATCH items in the caller's transaction; returns how many."""
    items = session.scalars(
        _purgeable(cutoff).order_by(Item.resolved_at).limit(BATCH).with_for_update(skip_locked=True)
    ).all()
    note = (
        f"retention: resolved more than {days:g} days ago; text and parent text removed, "
        "scores, outcome and history kept"
    )
    for item in items:
        item.text, item.parent_text, item.updated_at = None, None, now
        event = ReviewEvent(EventType.TEXT_PURGED, queue.SYSTEM, note=note)
        queue.add_system_event(session, item, event, now)
    return len(items)


def purge(db: Database, days: float, now: datetime, dry_run: bool = False) -> PurgeResult:
    """Purge every item resolved more than `days` ago, one transaction per batch."""
    cutoff = cutoff_for(days, now)
    if dry_run:
        with db.read() as session:
            return PurgeResult(cutoff, count_purgeable(session, cutoff), dry_run=True)
    total = 0
    while True:
        with db.write() as session:
            done = purge_batch(session, cutoff, days, now)
        total += done
        if done < BATCH:
            return PurgeResult(cutoff, total, dry_run=False)
