"""How much high-risk work each moderator has taken on lately, who else is active, and the next
waiting item of a moderator's queue: what the per-moderator high-risk limit
(triage/domain/high_risk_limit.py) decides from. Reads only; nothing here changes an item.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select, true
from sqlalchemy.orm import Session

from triage.domain.high_risk_limit import LIMIT_WINDOW, Colleague
from triage.domain.labels import URGENT_TIERS
from triage.domain.review import EventType
from triage.storage.keys import Role
from triage.storage.tables import ApiKey, Event, Item, ItemFlag

# A moderator takes an item on when they claim it, and handles it when they resolve or escalate
# it; an item counts once whatever they did to it.
TAKING_EVENTS = (EventType.CLAIM.value, EventType.RESOLVE.value, EventType.ESCALATE.value)
CONSOLE_ROLES = (Role.MODERATOR.value, Role.ADMIN.value)


def _high_risk_taken_by(actors, now: datetime):
    return (
        select(Event.actor, func.count(func.distinct(Event.item_id)))
        .where(
            Event.actor.in_(actors),
            Event.actor_kind == "person",
            Event.type.in_(TAKING_EVENTS),
            Event.tier.in_(URGENT_TIERS),
            Event.created_at > now - LIMIT_WINDOW,
            Event.created_at <= now,
        )
        .group_by(Event.actor)
    )


def high_risk_taken(session: Session, actor: str, now: datetime) -> int:
    """Distinct crisis or red items this moderator claimed, resolved or escalated in the last
    hour (the tier each event recorded: what the item was when they took it on)."""
    row = session.execute(_high_risk_taken_by([actor], now)).first()
    return row[1] if row else 0


def active_colleagues(
    session: Session, actor: str, now: datetime, active_within: timedelta
) -> list[Colleague]:
    """Other moderators (an active moderator or admin key) who acted on any item within
    `active_within`, with their high-risk items of the last hour; by name."""
    names = list(
        session.scalars(
            select(Event.actor)
            .where(
                Event.actor != actor,
                Event.actor_kind == "person",
                Event.created_at > now - active_within,
                Event.created_at <= now,
                exists().where(
                    ApiKey.name == Event.actor,
                    ApiKey.revoked_at.is_(None),
                    ApiKey.role.in_(CONSOLE_ROLES),
                ),
            )
            .distinct()
        )
    )
    if not names:
        return []
    taken = {name: count for name, count in session.execute(_high_risk_taken_by(names, now))}
    return [Colleague(name, taken.get(name, 0)) for name in sorted(names)]


def next_waiting_item(
    session: Session, exclude_labels: Sequence[str] = (), known_low_risk: bool = False
) -> Item | None:
    """The top waiting (open or escalated) item of a moderator's queue, in queue order, less
    the labels they opted out of; with `known_low_risk`, only scored items below red (an
    unscored item may hold anything)."""
    query = select(Item).where(Item.waiting == true())
    if exclude_labels:
        query = query.where(
            ~exists().where(ItemFlag.item_id == Item.id, ItemFlag.label.in_(exclude_labels))
        )
    if known_low_risk:
        query = query.where(Item.tier.is_not(None), Item.tier.not_in(URGENT_TIERS))
    query = query.order_by(Item.priority.desc(), Item.received_at, Item.id).limit(1)
    return session.scalars(query).first()
