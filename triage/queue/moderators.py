"""What the console keeps per moderator: category opt-outs, and their exposure to high-risk items.

Opt-outs only narrow one moderator's own view of the queue (QueueFilter.exclude_labels); the
items stay queued for everyone else and in the API, so an opt-out never hides an item from all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from triage.domain.labels import LABELS, URGENT_TIERS
from triage.domain.review import EventType
from triage.storage.tables import Event, ModeratorPrefs

HANDLING_EVENTS = (EventType.RESOLVE.value, EventType.ESCALATE.value)
EXPOSURE_WINDOW = timedelta(hours=1)


def opt_outs(session: Session, actor: str) -> tuple[str, ...]:
    """The labels this moderator chose not to be shown, in LABELS order."""
    chosen = session.scalar(select(ModeratorPrefs.opted_out).where(ModeratorPrefs.actor == actor))
    return tuple(label for label in LABELS if label in set(chosen or ()))


def set_opt_outs(session: Session, actor: str, labels: Iterable[str], now: datetime) -> None:
    """Replace the moderator's opt-outs (an upsert, safe under concurrent saves)."""
    chosen = sorted(set(labels))
    unknown = [label for label in chosen if label not in LABELS]
    if unknown:
        raise ValueError(f"unknown labels {unknown}; expected some of {list(LABELS)}")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(ModeratorPrefs).values(actor=actor, opted_out=chosen, updated_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["actor"], set_={"opted_out": chosen, "updated_at": now}
        )
    )


def high_risk_handled(session: Session, actor: str, now: datetime) -> int:
    """Distinct crisis or red items this moderator resolved or escalated in the last hour.

    The tier is the one the event recorded, i.e. what the item was when they handled it.
    """
    count = session.scalar(
        select(func.count(func.distinct(Event.item_id))).where(
            Event.actor == actor,
            Event.actor_kind == "person",
            Event.type.in_(HANDLING_EVENTS),
            Event.tier.in_(URGENT_TIERS),
            Event.created_at > now - EXPOSURE_WINDOW,
            Event.created_at <= now,
        )
    )
    return count or 0  # `or 0` for the type checker: COUNT gives a row
