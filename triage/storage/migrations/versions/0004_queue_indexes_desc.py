"""Recreate the queue indexes with priority DESC

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 16:05:00

Migration 0002 once used batch mode, which on SQLite rebuilt the items table and recreated its
indexes from reflection, losing `priority DESC`; the queue query then sorted in a temporary
B-tree. Dropping and recreating the four queue indexes repairs such databases and is harmless
on the others.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ORDER: list[str | sa.ColumnElement[Any]] = [sa.literal_column("priority DESC"), "received_at", "id"]
QUEUE_INDEXES = {
    "ix_items_waiting_queue": ["waiting", *ORDER],
    "ix_items_community_queue": ["community", "waiting", *ORDER],
    "ix_items_tier_queue": ["tier", "waiting", *ORDER],
    "ix_items_state_queue": ["state", *ORDER],
}


def upgrade() -> None:
    for name, columns in QUEUE_INDEXES.items():
        op.drop_index(name, table_name="items")
        op.create_index(name, "items", columns, unique=False)


def downgrade() -> None:
    pass  # the recreated indexes are the ones 0001 meant to create
