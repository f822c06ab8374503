"""Context for a decision on one item (the console's item page): the author's other recent
items, whether the author has shown self-harm risk recently, and the item's place in its thread.

Reads only, inside the caller's session. An author is the platform's id within one community
(ids are the platform's, and communities may be different platforms).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from triage.domain.labels import SELF_HARM, URGENT_TIERS
from triage.domain.review import Outcome, ReviewState
from triage.storage.tables import Item, ItemFlag

REPEAT_RISK_DAYS = 30
AUTHOR_ITEMS = 10
THREAD_BEFORE = 10  # thread items shown received before the item
THREAD_AFTER = 20  # and after it (its replies among them)


@dataclass(frozen=True)
class RepeatRisk:
    """The author's other items in the last `days` days that point to self-harm risk."""

    high_risk_items: int  # scored crisis or red, received in the window
    self_harm_outcomes: int  # resolved in the window as self-harm (see _self_harm_outcome)
    days: int

    @property
    def present(self) -> bool:
        return bool(self.high_risk_items or self.self_harm_outcomes)


@dataclass(frozen=True)
class AuthorHistory:
    author_id: str
    items: list[Item]  # the author's other items, most recent first, at most the limit
    more: bool  # more of them are stored than `items` holds
    repeat_risk: RepeatRisk


@dataclass(frozen=True)
class ThreadView:
    items: list[Item]  # the parent, the thread around the item, its replies: oldest first
    earlier_left_out: bool  # older items of the thread are not in `items`
    later_left_out: bool  # nor are some newer ones


def _same_author(item: Item):
    return and_(
        Item.community == item.community, Item.author_id == item.author_id, Item.id != item.id
    )


def _scored_high_risk():
    return and_(Item.scoring_state == "scored", Item.tier.in_(URGENT_TIERS))


def _self_harm_outcome():
    """Resolved as escalated to the crisis team, or as supported on an item the model put at
    crisis or red or flagged self_harm (a moderator may support someone in distress, too)."""
    flagged_self_harm = exists().where(ItemFlag.item_id == Item.id, ItemFlag.label == SELF_HARM)
    return and_(
        Item.state == ReviewState.RESOLVED.value,
        or_(
            Item.outcome == Outcome.ESCALATED_TO_CRISIS_TEAM.value,
            and_(
                Item.outcome == Outcome.SUPPORTED.value,
                or_(_scored_high_risk(), flagged_self_harm),
            ),
        ),
    )


def author_history(
    session: Session,
    item: Item,
    now: datetime,
    limit: int = AUTHOR_ITEMS,
    days: int = REPEAT_RISK_DAYS,
) -> AuthorHistory | None:
    """The author's other recent items and their repeat risk; None without an author id."""
    if not item.author_id:
        return None
    rows = list(
        session.scalars(
            select(Item)
            .where(_same_author(item))
            .order_by(Item.received_at.desc(), Item.id.desc())
            .limit(limit + 1)
        )
    )
    since = now - timedelta(days=days)
    counts = session.execute(
        select(
            func.count().filter(_scored_high_risk(), Item.received_at >= since),
            func.count().filter(_self_harm_outcome(), Item.resolved_at >= since),
        ).where(_same_author(item))
    ).one()
    return AuthorHistory(
        author_id=item.author_id,
        items=rows[:limit],
        more=len(rows) > limit,
        repeat_risk=RepeatRisk(int(counts[0]), int(counts[1]), days),
    )


def thread_around(
    session: Session, item: Item, before: int = THREAD_BEFORE, after: int = THREAD_AFTER
) -> ThreadView:
    """The item's stored parent, the thread items nearest it (`before` older, `after` newer,
    the newer including replies that carry no thread id), and the item itself, oldest first.

    Nearest rather than first: in a long thread the oldest posts would crowd out the item's
    own neighbourhood and its replies."""
    found = {item.id: item}
    if item.parent_external_id:
        parent = session.scalars(
            select(Item).where(
                Item.community == item.community, Item.external_id == item.parent_external_id
            )
        ).first()
        if parent is not None:
            found[parent.id] = parent
    earlier = []
    if item.thread_id:
        earlier = list(
            session.scalars(
                select(Item)
                .where(Item.community == item.community, Item.thread_id == item.thread_id)
                .where(_received_before(item))
                .order_by(Item.received_at.desc(), Item.id.desc())
                .limit(before + 1)
            )
        )
    later_condition = Item.parent_external_id == item.external_id
    if item.thread_id:
        later_condition = or_(later_condition, Item.thread_id == item.thread_id)
    later = list(
        session.scalars(
            select(Item)
            .where(Item.community == item.community, later_condition, Item.id != item.id)
            .where(~_received_before(item))
            .order_by(Item.received_at, Item.id)
            .limit(after + 1)
        )
    )
    for row in [*earlier[:before], *later[:after]]:
        found[row.id] = row
    ordered = sorted(found.values(), key=lambda row: (row.received_at, row.id))
    return ThreadView(ordered, len(earlier) > before, len(later) > after)


def _received_before(item: Item):
    return or_(
        Item.received_at < item.received_at,
        and_(Item.received_at == item.received_at, Item.id < item.id),
    )
