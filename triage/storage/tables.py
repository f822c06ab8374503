"""The tables. Changing them means a new Alembic migration in storage/migrations/versions
(tests/storage/test_schema.py fails when the migrations and these tables disagree)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy import text as sql  # not `text`: Item has a column of that name
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAME = 200  # longest id, community or actor name the API accepts
URL_LENGTH = 2000  # longest link to a post the API accepts
MAX_ID = 2**31 - 1  # items.id and items.priority are PostgreSQL `integer`s


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC in and out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Item(Base):
    """A post or reply as ingested, its latest scores, and its derived review status."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(NAME))
    external_id: Mapped[str] = mapped_column(String(NAME))
    text: Mapped[str | None] = mapped_column(Text)  # None once purged (retention)
    parent_external_id: Mapped[str | None] = mapped_column(String(NAME))
    parent_text: Mapped[str | None] = mapped_column(Text)
    thread_id: Mapped[str | None] = mapped_column(String(NAME))
    author_id: Mapped[str | None] = mapped_column(String(NAME))
    # the platform's link to the post, when it sends one (http/https only, checked at ingest)
    url: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # repairs made to the text fields at the schema boundary (triage/domain/text.py), e.g.
    # ["text: 1 NUL removed"]; None when the text arrived intact
    text_repairs: Mapped[list | None] = mapped_column(JSON)
    # the language identified when the item was scored (triage/scoring/language.py); None until then
    language: Mapped[str | None] = mapped_column(String(16))
    # a language the scoring model does not read: tier at least amber, for a person (priority.py)
    language_unsupported: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # scoring
    scoring_state: Mapped[str] = mapped_column(String(16))  # pending / scored / unscored
    scoring_error: Mapped[str | None] = mapped_column(String(400))
    scores: Mapped[dict | None] = mapped_column(JSON)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    tier: Mapped[str | None] = mapped_column(String(16))  # None while unscored
    tier_scores: Mapped[dict | None] = mapped_column(JSON)  # P(tier >= cut), tier head only
    tier_uncertain: Mapped[bool] = mapped_column(  # amber because the tier head was unsure
        Boolean, default=False, server_default=false()
    )
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    # the crisis resource the post shares, which kept it from being flagged spam
    # (triage/domain/resource_guard.py): its reason is re-derived whenever the item is re-ranked
    spam_withheld_by: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(NAME))
    # a reply's thread corumination when it was scored (triage/scoring/threads.py;
    # queue/thread_scoring.py)
    thread_corumination: Mapped[dict | None] = mapped_column(JSON)
    # members' reports (POST /v1/reports; each is also a `report` event): how many members
    # reported the item, per reason ({reason: n}), and the sum of their weights
    # (triage/domain/reports.py)
    report_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    report_reasons: Mapped[dict | None] = mapped_column(JSON)
    report_weight: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    # ranking: priority is stored and refreshed when ageing changes it (see priority.py)
    priority: Mapped[int] = mapped_column(Integer)
    priority_reasons: Mapped[list] = mapped_column(JSON, default=list)
    rerank_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # derived review status (review.apply_event)
    state: Mapped[str] = mapped_column(String(16))
    # state is open or escalated: what the default queue shows. Kept as its own column so that
    # one equality leads the queue indexes (state IN (...) would force a sort of every row).
    waiting: Mapped[bool] = mapped_column(Boolean)
    claimed_by: Mapped[str | None] = mapped_column(String(NAME))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(40))
    relabels: Mapped[dict | None] = mapped_column(JSON)
    # the moderator the item is assigned to (an `assign` event; None after `unassign`)
    assigned_to: Mapped[str | None] = mapped_column(String(NAME))
    first_action_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    events: Mapped[list[Event]] = relationship(
        back_populates="item", order_by="Event.id", lazy="raise"
    )

    __table_args__ = (
        UniqueConstraint("community", "external_id"),
        Index("ix_items_rerank", "rerank_at"),
        Index("ix_items_thread", "community", "thread_id", "received_at"),
        Index("ix_items_resolved", "resolved_at"),
        # a post's replies (retention removes their copies of its text when it is purged)
        Index("ix_items_parent", "community", "parent_external_id"),
        # an author's other recent items (the item page; queue/item_context.py)
        Index("ix_items_author", "community", "author_id", "received_at"),
    )


# The queue's order is priority DESC, received_at, id: indexes in that order serve it (and its
# keyset cursor) without a sort, for the default view and under each filter.
QUEUE_ORDER = (Item.priority.desc(), Item.received_at, Item.id)
Index("ix_items_waiting_queue", Item.waiting, *QUEUE_ORDER)
Index("ix_items_community_queue", Item.community, Item.waiting, *QUEUE_ORDER)
Index("ix_items_tier_queue", Item.tier, Item.waiting, *QUEUE_ORDER)
Index("ix_items_state_queue", Item.state, *QUEUE_ORDER)
# ?reported=true and ?report_reason=: only reported items, in queue order (partial: small)
REPORTED = sql("report_count > 0")
Index(
    "ix_items_reported",
    Item.waiting,
    *QUEUE_ORDER,
    sqlite_where=REPORTED,
    postgresql_where=REPORTED,
)
# ?assignee= (a moderator's "mine"): assigned items only, per assignee in queue order (partial:
# most items are never assigned). ?assigned=false reads the waiting index and skips these.
ASSIGNED = sql("assigned_to IS NOT NULL")
Index(
    "ix_items_assigned",
    Item.assigned_to,
    Item.waiting,
    *QUEUE_ORDER,
    sqlite_where=ASSIGNED,
    postgresql_where=ASSIGNED,
)
# the queue's search by author or by the platform's id, in any community (queue/search.py)
Index("ix_items_author_id", Item.author_id)
Index("ix_items_external_id", Item.external_id)


class ItemFlag(Base):
    """One row per flagged label of an item, so the queue can filter by label on an index."""

    __tablename__ = "item_flags"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(40), primary_key=True)

    __table_args__ = (Index("ix_item_flags_label", "label", "item_id"),)


class Event(Base):
    """Append-only: never deleted, and never updated but for retention removing a member's report
    comment (note; queue/retention.py). Who, when, and what the model said at the time."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(NAME))  # the key's name, or "triage" (system)
    # api_keys.id of the key that acted: a name can be reused once its key is revoked, an id
    # never. None for system events and for events logged before migration 0006.
    actor_key_id: Mapped[int | None] = mapped_column(Integer)
    actor_kind: Mapped[str] = mapped_column(String(8))  # person / system
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(40))
    labels: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    # the model's view when the event happened
    model_version: Mapped[str | None] = mapped_column(String(NAME))
    scores: Mapped[dict | None] = mapped_column(JSON)
    tier: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[int | None] = mapped_column(Integer)
    state_after: Mapped[str] = mapped_column(String(16))
    # a `report` event: the member who reported (the platform's id; actor is the platform's key)
    # and the reason (configs/reports.yaml); the member's words are in note (purged with the
    # post's text by retention)
    reporter_id: Mapped[str | None] = mapped_column(String(NAME))
    report_reason: Mapped[str | None] = mapped_column(String(40))
    # an `assign` event: the moderator the item was assigned to
    assignee: Mapped[str | None] = mapped_column(String(NAME))

    item: Mapped[Item] = relationship(back_populates="events", lazy="raise")

    __table_args__ = (
        Index("ix_events_actor_time", "actor", "created_at"),
        # one report per member and item: a repeated report is not counted twice
        Index(
            "uq_events_item_reporter",
            "item_id",
            "reporter_id",
            unique=True,
            sqlite_where=sql("reporter_id IS NOT NULL"),
            postgresql_where=sql("reporter_id IS NOT NULL"),
        ),
    )


class Reporter(Base):
    """A member's record of reports moderators upheld or rejected (triage/domain/reports.py weighs
    their next reports by it); updated when an item they reported is resolved or reopened."""

    __tablename__ = "reporters"

    community: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    reporter_id: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    upheld: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rejected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiKey(Base):
    """An API key, stored as a SHA-256 digest (keys are 256-bit random, so no slow hash needed)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME))
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        # a name is the actor events show, so no two active keys share one (a revoked key's
        # name may be given again)
        Index(
            "uq_api_keys_active_name",
            "name",
            unique=True,
            sqlite_where=sql("revoked_at IS NULL"),
            postgresql_where=sql("revoked_at IS NULL"),
        ),
    )


class WebhookEndpoint(Base):
    """A receiver of alerts (Settings.webhook_urls), shared by all replicas: whether it is
    enabled and how its deliveries went. The URL itself is not stored (incoming-webhook URLs of
    chat tools carry their own secret): its SHA-256 and a display form without path or query."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url_digest: Mapped[str] = mapped_column(String(64), unique=True)
    display: Mapped[str] = mapped_column(String(300))  # e.g. https://hooks.example.org/…
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(400))
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(64))  # a kind, never a response body
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WebhookDelivery(Base):
    """One alert: an (item, endpoint, condition) fires at most once, across restarts and
    replicas (the unique key); attempts are retried with backoff until delivered or failed."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    condition: Mapped[str] = mapped_column(String(32))  # crisis / red / red_near_sla / unscored
    payload_digest: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the last body
    status: Mapped[str] = mapped_column(String(16))  # pending / delivered / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # when the next attempt is due; while an attempt is in flight, when its claim runs out
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(64))  # a kind, never a response body
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("item_id", "endpoint_id", "condition"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )


class ModeratorPrefs(Base):
    """Per-moderator settings the console keeps: category opt-outs."""

    __tablename__ = "moderator_prefs"

    actor: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    opted_out: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
