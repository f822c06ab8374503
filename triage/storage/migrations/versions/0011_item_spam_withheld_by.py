"""items.spam_withheld_by: the crisis resource a post shares, which kept it from being flagged
spam (triage/domain/resource_guard.py), so the queue's re-ranking gives the scorer's reason for
it too

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 09:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("spam_withheld_by", sa.Text(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+), not batch mode: a batch copy of `items` would rebuild
    # the queue indexes without their DESC on SQLite (see 0004)
    op.drop_column("items", "spam_withheld_by")
