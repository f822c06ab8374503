"""Member reports (issue 14, point 1): report counts, reasons and weight on items, the reporter
and reason of `report` events (one per member and item), and each reporter's record of upheld
and rejected reports

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 12:00:00.000000
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAME = 200  # tables.NAME when this migration was written
ORDER: list[str | sa.ColumnElement[Any]] = [sa.literal_column("priority DESC"), "received_at", "id"]
REPORTED = sa.text("report_count > 0")
HAS_REPORTER = sa.text("reporter_id IS NOT NULL")


def upgrade() -> None:
    op.add_column(
        "items", sa.Column("report_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("items", sa.Column("report_reasons", sa.JSON(), nullable=True))
    op.add_column(
        "items", sa.Column("report_weight", sa.Float(), server_default="0", nullable=False)
    )
    op.create_index(
        "ix_items_reported",
        "items",
        ["waiting", *ORDER],
        sqlite_where=REPORTED,
        postgresql_where=REPORTED,
    )
    op.add_column("events", sa.Column("reporter_id", sa.String(length=NAME), nullable=True))
    op.add_column("events", sa.Column("report_reason", sa.String(length=40), nullable=True))
    op.create_index(
        "uq_events_item_reporter",
        "events",
        ["item_id", "reporter_id"],
        unique=True,
        sqlite_where=HAS_REPORTER,
        postgresql_where=HAS_REPORTER,
    )
    op.create_table(
        "reporters",
        sa.Column("community", sa.String(length=NAME), nullable=False),
        sa.Column("reporter_id", sa.String(length=NAME), nullable=False),
        sa.Column("upheld", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("community", "reporter_id", name=op.f("pk_reporters")),
    )


def downgrade() -> None:
    op.drop_table("reporters")
    op.drop_index("uq_events_item_reporter", table_name="events")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("report_reason")
        batch_op.drop_column("reporter_id")
    op.drop_index("ix_items_reported", table_name="items")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("report_weight")
        batch_op.drop_column("report_reasons")
        batch_op.drop_column("report_count")
