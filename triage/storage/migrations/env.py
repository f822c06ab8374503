"""Alembic environment: the URL comes from the caller (Database.upgrade or `triage db upgrade`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, engine_from_config, event, pool

from triage.storage.tables import Base

config = context.config


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    if connectable.dialect.name == "sqlite":
        _real_sqlite_transactions(connectable)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,
            transactional_ddl=True,  # all pending migrations commit together, or none does
        )
        with context.begin_transaction():
            context.run_migrations()


def _real_sqlite_transactions(engine: Engine) -> None:
    """Python's sqlite3 opens a transaction only before INSERT/UPDATE/DELETE, so each CREATE
    or ALTER of a migration used to commit on its own: a process killed half-way through left
    tables that the next start could not create again. SQLite's DDL is transactional when the
    transaction is begun explicitly (tests/system/test_crash_safety.py kills migrations to
    check)."""

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
