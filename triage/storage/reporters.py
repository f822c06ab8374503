"""Members' records of upheld and rejected reports (the `reporters` table), which weigh their
next reports (triage/reports.py reporter_weight). Runs inside the caller's write transaction.

A resolve credits every member who reported the item by then: upheld for an outcome in
review.UPHELD_OUTCOMES, rejected otherwise. A reopen takes that credit back, so an item
resolved, reopened and resolved again counts once, with its last outcome.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from triage.reports import reporter_weight, upholds
from triage.review import EventType, Outcome
from triage.storage.tables import Event, Item, Reporter


def weight_of(session: Session, community: str, reporter_id: str) -> float:
    """The weight of this member's next report: 0.5 without a record."""
    record = session.get(Reporter, (community, reporter_id))
    return reporter_weight(record.upheld, record.rejected) if record else reporter_weight(0, 0)


def reporters_of(session: Session, item_id: int, up_to: datetime | None = None) -> list[str]:
    """The members who reported the item (by `up_to`, when given), sorted: rows are then
    updated in one order, so two resolutions sharing reporters cannot deadlock."""
    query = select(Event.reporter_id).where(
        Event.item_id == item_id, Event.type == EventType.REPORT.value
    )
    if up_to is not None:
        query = query.where(Event.created_at <= up_to)
    return sorted(reporter for reporter in session.scalars(query) if reporter)


def credit(session: Session, item: Item, outcome: Outcome, now: datetime) -> None:
    """The item was resolved with `outcome`: count it for each member who reported it."""
    _add(session, item.community, reporters_of(session, item.id), outcome, 1, now)


def take_back(
    session: Session, item: Item, outcome: Outcome, resolved_at: datetime | None, now: datetime
) -> None:
    """The item was reopened: undo credit() for the members it credited (reported by then)."""
    reporters = reporters_of(session, item.id, up_to=resolved_at)
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
