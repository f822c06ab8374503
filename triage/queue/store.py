"""The queue's reads and writes. Each function runs inside a session the caller opened
(`Database.read()` or `Database.write()`), so a route decides its own transaction.

- ingest() stores items before anything else happens to them (idempotent on community +
  external id), as `pending`; record_scores() / record_failure() then set their scores;
- append_event() is the only way a review status changes: it locks the item, applies
  review.apply_event and appends the event in the caller's transaction;
- priority is stored, derived by ranking.rank() and refreshed by ranking.refresh_priorities()
  when ageing changes it, so the queue is an index scan at any depth.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, exists, func, or_, select, true
from sqlalchemy import text as sql  # not `text`: items have a column of that name
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from triage.domain.priority import Priority, unscored_priority
from triage.domain.review import (
    MODERATOR_EVENTS,
    ROUTING_EVENTS,
    SYSTEM_ACTOR,
    EventType,
    Outcome,
    ReviewEvent,
    ReviewState,
    ReviewStatus,
    apply_event,
)
from triage.domain.tier_rules import TierRules
from triage.queue import assignment, reporters
from triage.queue.cursor import after_cursor, encode_cursor
from triage.queue.ranking import rank
from triage.queue.search import Search
from triage.queue.search import condition as search_condition
from triage.storage.tables import QUEUE_ORDER, Event, Item, ItemFlag

UNSCORED = "unscored"  # the tier filter value for items without scores
DEFAULT_STATES = (ReviewState.OPEN, ReviewState.ESCALATED)


class ItemNotFound(LookupError):
    pass


@dataclass(frozen=True)
class NewItem:
    community: str
    external_id: str
    text: str
    parent_external_id: str | None = None
    parent_text: str | None = None
    thread_id: str | None = None
    author_id: str | None = None
    text_repairs: list[str] | None = None  # what triage.domain.text.clean_text repaired, per field
    url: str | None = None  # the platform's link to the post (checked http/https at ingest)


@dataclass(frozen=True)
class NewReport:
    """A member's report of an item, as a platform sent it (POST /v1/reports)."""

    reporter_id: str
    reason: str
    text: str | None = None
    actor: str = SYSTEM_ACTOR  # the platform key's name, and its id
    actor_key_id: int | None = None


@dataclass(frozen=True)
class ModelView:
    """What the model said about an item: stored on the item and copied into each event."""

    model_version: str
    scores: dict[str, float | None]
    flags: list[str]
    tier: str
    evidence: list[dict] = field(default_factory=list)
    tier_scores: dict[str, float] | None = None
    tier_uncertain: bool = False  # amber because of the uncertain band of the tier head
    language: str | None = None  # ISO 639-1 or "und" (triage/scoring/language.py)
    language_unsupported: bool = False  # the model does not read it: tier at least amber
    spam_withheld_by: str | None = None  # the crisis resource that kept it from a spam flag


# --- ingest and scoring ----------------------------------------------------------------------
def ingest(
    session: Session, items: Sequence[NewItem], now: datetime, rules: TierRules
) -> list[tuple[Item, bool]]:
    """Store each item unless (community, external_id) is already there.

    Returns (item, created) in input order. A retried or concurrent ingest of the same item
    never creates a second row: the insert is ON CONFLICT DO NOTHING on the unique key, after
    the keys are locked in one fixed order (_lock_keys). A new item ranks as an unscored one
    until it is scored or re-ranked, by the priority points of `rules`.
    """
    _lock_keys(session, items)
    pending = unscored_priority(points=rules.priority)
    results = []
    for new in items:
        values = _new_item_values(new, now, pending)
        statement = _insert(session)(Item).values(**values)
        statement = statement.on_conflict_do_nothing(
            index_elements=["community", "external_id"]
        ).returning(Item.id)
        created = session.execute(statement).first() is not None
        item = session.scalars(
            select(Item).where(Item.community == new.community, Item.external_id == new.external_id)
        ).one()
        if created:
            _add_event(
                session, item, ReviewEvent(EventType.INGESTED, SYSTEM_ACTOR), now, person=False
            )
        results.append((item, created))
    return results


def _lock_keys(session: Session, items: Sequence[NewItem]) -> None:
    """On PostgreSQL, take a transaction-scoped advisory lock on each item's unique key, in
    sorted order. An insert waits for a concurrent transaction's insert of the same key to
    end, so two ingests of [A, B] and [B, A] would otherwise each wait for the row the other
    inserted: a deadlock. The rows themselves are still inserted in input order, which their
    ids keep (the order of a thread's posts sent in one request). SQLite needs no lock: its
    write transactions run one at a time (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name != "postgresql" or not items:
        return
    lock_ids = sorted({_key_lock_id(new.community, new.external_id) for new in items})
    # unnest yields the array in order, so the locks are taken in that order
    session.execute(
        sql("SELECT pg_advisory_xact_lock(key) FROM unnest(CAST(:keys AS bigint[])) AS key"),
        {"keys": lock_ids},
    )


def _key_lock_id(community: str, external_id: str) -> int:
    """A stable signed 64-bit id for an advisory lock (two keys sharing one only wait longer)."""
    digest = hashlib.blake2b(f"items\0{community}\0{external_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _new_item_values(new: NewItem, now: datetime, pending: Priority) -> dict:
    return {
        "community": new.community,
        "external_id": new.external_id,
        "text": new.text,
        "parent_external_id": new.parent_external_id,
        "parent_text": new.parent_text,
        "thread_id": new.thread_id,
        "author_id": new.author_id,
        "url": new.url,
        "text_repairs": new.text_repairs or None,
        "received_at": now,
        "scoring_state": "pending",
        "flags": [],
        "evidence": [],
        "priority": pending.value,
        "priority_reasons": list(pending.reasons),
        "rerank_at": now,
        "state": ReviewState.OPEN.value,
        "waiting": True,
        "tier_uncertain": False,
        "escalated": False,
        "updated_at": now,
    }


def record_scores(
    session: Session, item_id: int, view: ModelView, rules: TierRules, now: datetime
) -> Item:
    item = _locked(session, item_id)
    item.scoring_state, item.scoring_error = "scored", None
    item.scores, item.flags, item.tier = view.scores, list(view.flags), view.tier
    item.evidence, item.model_version = list(view.evidence), view.model_version
    item.tier_scores, item.tier_uncertain = view.tier_scores, view.tier_uncertain
    item.language, item.language_unsupported = view.language, view.language_unsupported
    item.spam_withheld_by = view.spam_withheld_by
    _set_flags(session, item)
    rank(item, rules, now)
    _add_event(session, item, ReviewEvent(EventType.SCORED, SYSTEM_ACTOR), now, person=False)
    return item


def record_failure(
    session: Session, item_id: int, reason: str, rules: TierRules, now: datetime
) -> Item:
    """Scoring failed: the item stays in the queue as `unscored`, ranked for a person."""
    item = _locked(session, item_id)
    item.scoring_state, item.scoring_error = "unscored", reason[:400]
    rank(item, rules, now)
    event = ReviewEvent(EventType.SCORING_FAILED, SYSTEM_ACTOR, note=reason[:400])
    _add_event(session, item, event, now, person=False)
    return item


def record_rescore(
    session: Session, item_id: int, view: ModelView, rules: TierRules, now: datetime
) -> Item | None:
    """A new bundle's scores for an item that is not resolved (`triage rescore --write-back`):
    stored, re-ranked and logged as a `rescored` event whose note names the old and the new
    model. None, and nothing written, for a resolved item (its scores are what its moderator
    saw) or one that already has these scores from this model, so a rerun adds nothing."""
    item = _locked(session, item_id)
    if item.state == ReviewState.RESOLVED.value or _has_view(item, view):
        return None
    before = f"model {item.model_version or 'none'}; tier {item.tier or 'unscored'}"
    item.scoring_state, item.scoring_error = "scored", None
    item.scores, item.flags, item.tier = view.scores, list(view.flags), view.tier
    item.evidence, item.model_version = list(view.evidence), view.model_version
    item.tier_scores, item.tier_uncertain = view.tier_scores, view.tier_uncertain
    item.language, item.language_unsupported = view.language, view.language_unsupported
    item.spam_withheld_by = view.spam_withheld_by
    _set_flags(session, item)
    rank(item, rules, now)
    note = f"re-scored: {before} -> model {view.model_version}; tier {view.tier}"
    _add_event(
        session, item, ReviewEvent(EventType.RESCORED, SYSTEM_ACTOR, note=note), now, person=False
    )
    return item


def _has_view(item: Item, view: ModelView) -> bool:
    return item.scoring_state == "scored" and (
        item.model_version,
        item.scores,
        list(item.flags or []),
        item.tier,
        item.tier_scores,
        list(item.evidence or []),
        item.tier_uncertain,
        item.language,
        item.language_unsupported,
        item.spam_withheld_by,
    ) == (
        view.model_version,
        view.scores,
        list(view.flags),
        view.tier,
        view.tier_scores,
        list(view.evidence),
        view.tier_uncertain,
        view.language,
        view.language_unsupported,
        view.spam_withheld_by,
    )


def needing_scores(session: Session, older_than: datetime, limit: int) -> list[int]:
    """Items still unscored (or left pending by a crash) to retry, oldest first."""
    rows = session.scalars(
        select(Item.id)
        .where(
            Item.scoring_state.in_(("pending", "unscored")),
            Item.received_at <= older_than,
            Item.text.is_not(None),
        )
        .order_by(Item.received_at)
        .limit(limit)
    )
    return list(rows)


def _set_flags(session: Session, item: Item) -> None:
    # a Core DELETE on the table (no ORM session sync); declarative types __table__ as a FromClause
    flags = cast(Table, ItemFlag.__table__)
    session.execute(flags.delete().where(ItemFlag.item_id == item.id))
    for label in item.flags:
        session.add(ItemFlag(item_id=item.id, label=label))


# --- moderator events ------------------------------------------------------------------------
def append_event(
    session: Session, item_id: int, event: ReviewEvent, now: datetime
) -> tuple[Item, Event]:
    """Apply a moderator event to the item's status and log it, in one transaction.

    The item row is locked first (FOR UPDATE on PostgreSQL; SQLite's write transactions are
    already serial), so of two moderators claiming at once exactly one wins; the other gets
    review.TransitionError. Only moderator events: system events are appended by triage alone.
    """
    if event.type not in MODERATOR_EVENTS:
        raise ValueError(f"{event.type.value} is a system event; a person cannot append it")
    if event.type is EventType.ASSIGN:  # assignment.UnknownAssignee for anyone else
        assignment.check_assignee(session, event.assignee or "")
    item = _locked(session, item_id)
    before = status_of(item)
    status = apply_event(before, event)
    item.state, item.waiting = status.state.value, status.needs_review
    item.claimed_by, item.escalated = status.claimed_by, status.escalated
    item.outcome = status.outcome.value if status.outcome else None
    item.relabels = status.labels
    item.assigned_to = status.assigned_to
    if item.first_action_at is None and event.type not in ROUTING_EVENTS:
        item.first_action_at = now
    if event.type is EventType.RESOLVE and status.outcome is not None:
        item.resolved_at, item.rerank_at = now, None
        reporters.credit(session, item, status.outcome, now)
    elif event.type is EventType.REOPEN:
        item.resolved_at, item.rerank_at = None, now
        if before.outcome is not None:
            reporters.take_back(session, item, before.outcome, now)
    item.updated_at = now
    return item, _add_event(session, item, event, now, person=True)


def find_item(session: Session, community: str, external_id: str) -> Item:
    """The stored item of this community + platform id; ItemNotFound if there is none."""
    item = session.scalars(
        select(Item).where(Item.community == community, Item.external_id == external_id)
    ).one_or_none()
    if item is None:
        raise ItemNotFound(external_id)
    return item


def add_report(
    session: Session, item_id: int, report: NewReport, rules: TierRules, now: datetime
) -> tuple[Item, bool]:
    """Log a member's report of the item as a `report` event and count it toward its priority;
    (item, False) without a change when this member already reported it. The item row is
    locked first, so two copies of one report sent at once count once.

    The report's weight is the reporter's record now (reporters.weight_of), kept on the item as
    Discourse keeps a flag's score. Nothing else changes: not the tier, the flags, the review
    state or the text. A resolved item stays resolved (a moderator reopens it if need be)."""
    item = _locked(session, item_id)
    already = session.scalar(
        select(Event.id).where(Event.item_id == item.id, Event.reporter_id == report.reporter_id)
    )
    if already is not None:
        return item, False
    reasons = dict(item.report_reasons or {})
    reasons[report.reason] = reasons.get(report.reason, 0) + 1
    item.report_reasons = reasons  # a new dict: the JSON column is saved only when replaced
    item.report_count = (item.report_count or 0) + 1
    weight = reporters.weight_of(session, item.community, report.reporter_id)
    item.report_weight = (item.report_weight or 0.0) + weight
    rank(item, rules, now)
    item.updated_at = now
    event = ReviewEvent(
        EventType.REPORT,
        report.actor,
        note=report.text,
        actor_key_id=report.actor_key_id,
        reporter_id=report.reporter_id,
        report_reason=report.reason,
    )
    _add_event(session, item, event, now, person=False, kind="member")
    return item, True


def status_of(item: Item) -> ReviewStatus:
    return ReviewStatus(
        state=ReviewState(item.state),
        claimed_by=item.claimed_by,
        escalated=item.escalated,
        outcome=Outcome(item.outcome) if item.outcome else None,
        labels=item.relabels,
        assigned_to=item.assigned_to,
    )


def add_system_event(session: Session, item: Item, event: ReviewEvent, now: datetime) -> Event:
    """Log what the system did to an item (e.g. retention) without changing its status."""
    return _add_event(session, item, event, now, person=False)


def _add_event(
    session: Session,
    item: Item,
    event: ReviewEvent,
    now: datetime,
    person: bool,
    kind: str | None = None,
) -> Event:
    """`kind` overrides person/system: "member" for a report (a member's word, sent by a
    platform key)."""
    row = Event(
        item_id=item.id,
        type=event.type.value,
        actor=event.actor,
        actor_key_id=event.actor_key_id,
        actor_kind=kind or ("person" if person else "system"),
        created_at=now,
        outcome=event.outcome.value if event.outcome else None,
        labels=event.labels,
        note=event.note,
        model_version=item.model_version,
        scores=item.scores,
        tier=item.tier,
        priority=item.priority,
        state_after=item.state,
        reporter_id=event.reporter_id,
        report_reason=event.report_reason,
        assignee=event.assignee,
    )
    session.add(row)
    session.flush()
    return row


def _locked(session: Session, item_id: int) -> Item:
    item = session.scalars(select(Item).where(Item.id == item_id).with_for_update()).one_or_none()
    if item is None:
        raise ItemNotFound(item_id)
    return item


# --- reads -----------------------------------------------------------------------------------
def get_item(session: Session, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise ItemNotFound(item_id)
    return item


def history(session: Session, item_id: int) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.item_id == item_id).order_by(Event.id)))


def thread_context(session: Session, item: Item, limit: int = 50) -> list[Item]:
    """The item's parent and the other items of its thread, oldest first (the item included)."""
    conditions = []
    if item.thread_id:
        conditions.append(Item.thread_id == item.thread_id)
    if item.parent_external_id:
        conditions.append(Item.external_id == item.parent_external_id)
    if not conditions:
        return [item]
    rows = session.scalars(
        select(Item)
        .where(Item.community == item.community, or_(*conditions, Item.id == item.id))
        .order_by(Item.received_at, Item.id)
        .limit(limit)
    )
    return list(rows)


def thread_so_far(session: Session, item: Item, limit: int) -> tuple[list[Item], int]:
    """The items of `item`'s thread received up to it (it included), oldest first: the last
    `limit` of them, and how many earlier ones that leaves out."""
    same_thread = and_(Item.community == item.community, Item.thread_id == item.thread_id)
    up_to_item = or_(
        Item.received_at < item.received_at,
        and_(Item.received_at == item.received_at, Item.id <= item.id),
    )
    rows = list(
        session.scalars(
            select(Item)
            .where(same_thread, up_to_item)
            .order_by(Item.received_at.desc(), Item.id.desc())
            .limit(limit)
        )
    )
    left_out = 0
    if len(rows) == limit:
        oldest = rows[-1]
        older = (
            select(func.count())
            .select_from(Item)
            .where(
                same_thread,
                or_(
                    Item.received_at < oldest.received_at,
                    and_(Item.received_at == oldest.received_at, Item.id < oldest.id),
                ),
            )
        )
        left_out = session.scalar(older) or 0  # `or 0` for the type checker: COUNT gives a row
    return rows[::-1], left_out


@dataclass(frozen=True)
class QueueFilter:
    states: tuple[ReviewState, ...] = DEFAULT_STATES
    community: str | None = None
    tier: str | None = None  # a Tier value, or UNSCORED
    label: str | None = None  # only items flagged with this label
    exclude_labels: tuple[str, ...] = ()  # a moderator's opt-outs
    reported: bool | None = None  # only items members reported (True) or did not (False)
    report_reason: str | None = None  # only items reported for this reason
    assigned: bool | None = None  # only items assigned to someone (True) or to no one (False)
    assignee: str | None = None  # only items assigned to this moderator (a key's name)
    search: Search | None = None  # only items matching by id, author or text (search.py)


@dataclass(frozen=True)
class QueuePage:
    items: list[Item]
    next_cursor: str | None


def list_queue(
    session: Session,
    where: QueueFilter,
    limit: int,
    cursor: str | None = None,
    only_ids: Collection[int] | None = None,
) -> QueuePage:
    """Items by priority (highest first), then oldest first; keyset paging with `cursor`.
    `only_ids`: of these items only (the console's live updates ask which changed items a
    view shows)."""
    if set(where.states) == set(DEFAULT_STATES):
        query = select(Item).where(Item.waiting == true())
    elif set(where.states) == set(ReviewState):  # e.g. a search: no condition to check
        query = select(Item)
    else:
        query = select(Item).where(Item.state.in_([s.value for s in where.states]))
    if where.community is not None:
        query = query.where(Item.community == where.community)
    if where.tier == UNSCORED:
        query = query.where(Item.tier.is_(None))  # only unscored items have no tier
    elif where.tier is not None:
        query = query.where(Item.tier == where.tier)
    if where.label is not None:
        query = query.where(
            exists().where(ItemFlag.item_id == Item.id, ItemFlag.label == where.label)
        )
    if where.exclude_labels:
        query = query.where(
            ~exists().where(ItemFlag.item_id == Item.id, ItemFlag.label.in_(where.exclude_labels))
        )
    query = _report_filter(query, where)
    query = _assignment_filter(query, where)
    if where.search is not None:
        query = query.where(search_condition(where.search))
    if only_ids is not None:
        query = query.where(Item.id.in_(list(only_ids)))
    if cursor:
        query = query.where(after_cursor(cursor))
    query = query.order_by(*QUEUE_ORDER).limit(limit + 1)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return QueuePage(rows, encode_cursor(rows[-1]) if more and rows else None)


def _report_filter(query, where: QueueFilter):
    """`report_count > 0` is the condition of the partial index ix_items_reported, so reported
    items are read in queue order from that small index; a reason is then checked on the few
    report events of each."""
    if where.reported is False:
        query = query.where(Item.report_count == 0)
    elif where.reported or where.report_reason is not None:
        query = query.where(Item.report_count > 0)
    if where.report_reason is not None:
        query = query.where(
            exists().where(
                Event.item_id == Item.id,
                Event.type == EventType.REPORT.value,
                Event.report_reason == where.report_reason,
            )
        )
    return query


def _assignment_filter(query, where: QueueFilter):
    """`assigned_to IS NOT NULL` is the condition of the partial index ix_items_assigned, which
    an `assigned_to = name` implies: one moderator's items are read from it in queue order."""
    if where.assignee is not None:
        query = query.where(Item.assigned_to == where.assignee)
    elif where.assigned:
        query = query.where(Item.assigned_to.is_not(None))
    if where.assigned is False:
        query = query.where(Item.assigned_to.is_(None))
    return query
