"""Context for a decision (issue 14, point 4): items.url, the platform's link to the post when
the platform sends one, and an index on an author's items (the item page lists the author's
other recent items)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("url", sa.String(length=2000), nullable=True))
    op.create_index("ix_items_author", "items", ["community", "author_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_items_author", table_name="items")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("url")
