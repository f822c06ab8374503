"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode (readers never block the writer) and write transactions start with
BEGIN IMMEDIATE, so two writers queue up instead of failing half-way through; on PostgreSQL a
write transaction locks the rows it changes (SELECT ... FOR UPDATE, see queue.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


class Database:
    """hide_parameters: a database error's message (and SQL logged at INFO) would otherwise
    carry the statement's parameters, i.e. post text, into logs."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            _ensure_sqlite_folder(self.url.database)
            self.engine = create_engine(
                self.url,
                echo=echo,
                hide_parameters=True,
                connect_args={"check_same_thread": False, "timeout": 10},
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(
                self.url, echo=echo, pool_pre_ping=True, hide_parameters=True
            )
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(triage_write=True)
        self._writes = sessionmaker(writer, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reads() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self._writes.begin() as session:
            yield session

    def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied (a no-op on an up-to-date database)."""
        logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise here
        from alembic import command

        command.upgrade(alembic_config(str(self.url.render_as_string(hide_password=False))), "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("triage.storage") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _ensure_sqlite_folder(database: str | None) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        write = connection.get_execution_options().get("triage_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
