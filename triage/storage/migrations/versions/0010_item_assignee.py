"""Team work (issue 14, point 5): items.assigned_to (the moderator an item is assigned to,
derived from `assign` / `unassign` events), the assignee of an `assign` event, and a partial
index that reads one moderator's assigned items in queue order; indexes for the search by
author and by the platform's id in any community

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-11 12:00:00.000000
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NAME = 200  # tables.NAME when this migration was written
ORDER: list[str | sa.ColumnElement[Any]] = [sa.literal_column("priority DESC"), "received_at", "id"]
ASSIGNED = sa.text("assigned_to IS NOT NULL")


def upgrade() -> None:
    op.add_column("items", sa.Column("assigned_to", sa.String(length=NAME), nullable=True))
    op.add_column("events", sa.Column("assignee", sa.String(length=NAME), nullable=True))
    op.create_index(
        "ix_items_assigned",
        "items",
        ["assigned_to", "waiting", *ORDER],
        sqlite_where=ASSIGNED,
        postgresql_where=ASSIGNED,
    )
    op.create_index("ix_items_author_id", "items", ["author_id"])
    op.create_index("ix_items_external_id", "items", ["external_id"])


def downgrade() -> None:
    op.drop_index("ix_items_external_id", table_name="items")
    op.drop_index("ix_items_author_id", table_name="items")
    op.drop_index("ix_items_assigned", table_name="items")
    # a plain DROP COLUMN (SQLite 3.35+), not batch mode: a batch copy of `items` would rebuild
    # the queue indexes without their DESC on SQLite (see 0004)
    op.drop_column("events", "assignee")
    op.drop_column("items", "assigned_to")
