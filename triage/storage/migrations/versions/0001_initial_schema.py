"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 15:01:37.222589
"""

import sqlalchemy as sa
from alembic import op

from triage.storage.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_keys_digest")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_prefix"), ["prefix"], unique=False)

    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community", sa.String(length=200), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("parent_external_id", sa.String(length=200), nullable=True),
        sa.Column("parent_text", sa.Text(), nullable=True),
        sa.Column("thread_id", sa.String(length=200), nullable=True),
        sa.Column("author_id", sa.String(length=200), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("scoring_state", sa.String(length=16), nullable=False),
        sa.Column("scoring_error", sa.String(length=400), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("priority_reasons", sa.JSON(), nullable=False),
        sa.Column("rerank_at", UtcDateTime(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("relabels", sa.JSON(), nullable=True),
        sa.Column("first_action_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint(
            "community", "external_id", name=op.f("uq_items_community_external_id")
        ),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_items_community_queue",
            ["community", "waiting", sa.literal_column("priority DESC"), "received_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_items_rerank", ["rerank_at"], unique=False)
        batch_op.create_index("ix_items_resolved", ["resolved_at"], unique=False)
        batch_op.create_index(
            "ix_items_state_queue",
            ["state", sa.literal_column("priority DESC"), "received_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_items_thread", ["community", "thread_id", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_items_tier_queue",
            ["tier", "waiting", sa.literal_column("priority DESC"), "received_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_items_waiting_queue",
            ["waiting", sa.literal_column("priority DESC"), "received_at", "id"],
            unique=False,
        )

    op.create_table(
        "moderator_prefs",
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("opted_out", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("actor", name=op.f("pk_moderator_prefs")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("model_version", sa.String(length=200), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("state_after", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_events_item_id_items"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_actor_time", ["actor", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_item_id"), ["item_id"], unique=False)

    op.create_table(
        "item_flags",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_flags_item_id_items"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", "label", name=op.f("pk_item_flags")),
    )
    with op.batch_alter_table("item_flags", schema=None) as batch_op:
        batch_op.create_index("ix_item_flags_label", ["label", "item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_item_flags_label")

    op.drop_table("item_flags")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_item_id"))
        batch_op.drop_index("ix_events_actor_time")

    op.drop_table("events")
    op.drop_table("moderator_prefs")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_waiting_queue")
        batch_op.drop_index("ix_items_tier_queue")
        batch_op.drop_index("ix_items_thread")
        batch_op.drop_index("ix_items_state_queue")
        batch_op.drop_index("ix_items_resolved")
        batch_op.drop_index("ix_items_rerank")
        batch_op.drop_index("ix_items_community_queue")

    op.drop_table("items")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_prefix"))

    op.drop_table("api_keys")
