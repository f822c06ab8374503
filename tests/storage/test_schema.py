"""The schema: the Alembic migrations build exactly the tables of triage/storage/tables.py, and
the queue's indexes keep priority descending (SQLite and PostgreSQL)."""

from __future__ import annotations

from triage.storage.database import Database


def test_migrations_match_the_tables(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from triage.storage.tables import Base

    database = Database(database_url)
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    database.dispose()
    assert diff == [], "tables.py changed without a migration: add one in storage/migrations"


def test_queue_indexes_keep_priority_descending(database_url):
    """The queue is an index scan only if its indexes are (..., priority DESC, received_at, id);
    an earlier migration in batch mode silently dropped the DESC on SQLite."""
    from sqlalchemy import text

    database = Database(database_url)
    query = (
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_items_%queue'"
        if database.is_sqlite
        else "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'ix_items_%queue'"
    )
    with database.engine.connect() as connection:
        definitions = [row[0] for row in connection.execute(text(query))]
    database.dispose()
    assert len(definitions) == 4
    assert all("priority DESC" in d for d in definitions), definitions
