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
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tier_scores", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("tier_uncertain", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("tier_uncertain")
        batch_op.drop_column("tier_scores")
