"""Language and text repairs on items: the language a post was identified as (and whether the
model reads it), and how its text was repaired at the schema boundary (NUL removed, lone
surrogates replaced) (issue 12)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 23:59:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("language", sa.String(length=16), nullable=True))
    op.add_column(
        "items",
        sa.Column("language_unsupported", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("items", sa.Column("text_repairs", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("text_repairs")
        batch_op.drop_column("language_unsupported")
        batch_op.drop_column("language")
