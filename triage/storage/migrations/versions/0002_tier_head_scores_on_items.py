"""Tier head scores on items: P(tier >= cut) and whether the uncertain band chose amber

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:19:50.594122
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: on SQLite batch mode rebuilt the table and recreated the
    # queue indexes without their DESC (migration 0004 repairs databases that went through that).
    op.add_column("items", sa.Column("tier_scores", sa.JSON(), nullable=True))
    op.add_column(
        "items",
        sa.Column("tier_uncertain", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("tier_uncertain")
        batch_op.drop_column("tier_scores")
