"""Events record the API key that acted (events.actor_key_id), and no two active API keys share
a name (a partial unique index on api_keys.name where revoked_at IS NULL) (issue 12, point 9);
an index finds a post's replies, whose copies of its text retention purges with it (point 10)

Before this a key's name was the whole actor: two keys named "alice" were one person in the
audit trail, and a key named "triage" wrote person events under the system's name. An existing
database may hold such names, which the new index would refuse: every active key whose name an
earlier active key already holds, or whose name is reserved, is renamed to "<name>-<id>" first,
with a warning in the log (`triage keys list` shows the new names). Its earlier events keep the
old name: which of the two keys wrote them was never recorded.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:00:00.000000
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

log = logging.getLogger("triage.storage.migrations")

NAME = 200  # tables.NAME when this migration was written
RESERVED = ("triage", "system")  # triage.storage.keys.RESERVED_NAMES at this revision
ACTIVE = sa.text("revoked_at IS NULL")
API_KEYS = sa.table(
    "api_keys",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("revoked_at", sa.DateTime),
)


def upgrade() -> None:
    _rename_clashing_active_keys()
    op.add_column("events", sa.Column("actor_key_id", sa.Integer(), nullable=True))
    op.create_index(
        "uq_api_keys_active_name",
        "api_keys",
        ["name"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index("ix_items_parent", "items", ["community", "parent_external_id"])


def downgrade() -> None:
    op.drop_index("ix_items_parent", table_name="items")
    op.drop_index("uq_api_keys_active_name", table_name="api_keys")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("actor_key_id")


def _rename_clashing_active_keys() -> None:
    """The earliest active key keeps a shared name; each later one becomes "<name>-<id>"."""
    connection = op.get_bind()
    active = connection.execute(
        sa.select(API_KEYS.c.id, API_KEYS.c.name)
        .where(API_KEYS.c.revoked_at.is_(None))
        .order_by(API_KEYS.c.id)
    ).all()
    in_use = {name for _, name in active}
    kept: set[str] = set()
    for key_id, name in active:
        if name not in kept and name.strip().lower() not in RESERVED:
            kept.add(name)
            continue
        new_name = _free_name(name, key_id, in_use)
        in_use.add(new_name)
        connection.execute(sa.update(API_KEYS).where(API_KEYS.c.id == key_id).values(name=new_name))
        log.warning(
            "API key %d renamed from %r to %r: its name was taken by an earlier active key "
            "or is reserved for the system (migration 0006)",
            key_id,
            name,
            new_name,
        )


def _free_name(name: str, key_id: int, in_use: set[str]) -> str:
    suffix = f"-{key_id}"
    while True:
        candidate = name[: NAME - len(suffix)] + suffix
        if candidate not in in_use:
            return candidate
        suffix += f"-{key_id}"
