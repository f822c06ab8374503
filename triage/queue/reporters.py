"""Members' records of upheld and rejected reports (the `reporters` table), which weigh their
next reports (triage/domain/reports.py reporter_weight). Runs inside the caller's write transaction.

A resolve credits every member who reported the item by then: upheld for an outcome in
review.UPHELD_OUTCOMES, rejected otherwise. A reopen takes that credit back, so an item
resolved, reopened and resolved again counts once, with its last outcome.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from triage.domain.reports import reporter_weight, upholds
from triage.domain.review import EventType, Outcome
from triage.storage.tables import Event, Item, Reporter


def weight_of(session: Session, community: str, reporter_id: str) -> float:
    """The weight of this member's next report: 0.5 without a record."""
    record = session.get(Reporter, (community, reporter_id))
    return reporter_weight(record.upheld, record.rejected) if record else reporter_weight(0, 0)


def reporters_of(session: Session, item_id: int, before_event: int | None = None) -> list[str]:
    """The members who reported the item (before the event with id `before_event`, when
    given), sorted: rows are then updated in one order, so two resolutions sharing reporters
    cannot deadlock."""
    query = select(Event.reporter_id).where(
        Event.item_id == item_id, Event.type == EventType.REPORT.value
    )
    if before_event is not None:
        query = query.where(Event.id < before_event)
    return sorted(reporter for reporter in session.scalars(query) if reporter)


def credit(session: Session, item: Item, outcome: Outcome, now: datetime) -> None:
    """The item was resolved with `outcome`: count it for each member who reported it."""
    _add(session, item.community, reporters_of(session, item.id), outcome, 1, now)


def take_back(session: Session, item: Item, outcome: Outcome, now: datetime) -> None:
    """The item was reopened: undo credit() for the members it credited: those whose report
    came before the resolution. By event order, not time: a report's time is taken before it
    waits for the item's lock (and on another replica's clock), its event id after."""
    last_resolve = session.scalar(
        select(func.max(Event.id)).where(
            Event.item_id == item.id, Event.type == EventType.RESOLVE.value
        )
    )
    reporters = reporters_of(session, item.id, before_event=last_resolve)
    _add(session, item.community, reporters, outcome, -1, now)


def _add(
    session: Session,
    community: str,
    reporters: list[str],
    outcome: Outcome,
    step: int,
    now: datetime,
) -> None:
    if not reporters:
        return
    column = "upheld" if upholds(outcome) else "rejected"
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for reporter_id in reporters:
        first = {"upheld": 0, "rejected": 0, column: max(step, 0)}
        statement = insert(Reporter).values(
            community=community, reporter_id=reporter_id, updated_at=now, **first
        )
        statement = statement.on_conflict_do_update(
            index_elements=["community", "reporter_id"],
            set_={column: _at_least_zero(getattr(Reporter, column) + step), "updated_at": now},
        )
        session.execute(statement)


def _at_least_zero(expression):
    return case((expression < 0, 0), else_=expression)
