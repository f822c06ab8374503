"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode (readers never block the writer) and write transactions start with
BEGIN IMMEDIATE, so two writers queue up instead of failing half-way through (they cannot
deadlock: the write lock is taken whole, at BEGIN). On PostgreSQL a write transaction locks the
rows it changes (SELECT ... FOR UPDATE, see triage/queue/store.py), always in one order (the
unique key, or the id), and Database.write_retrying re-runs a transaction PostgreSQL still
aborts as a deadlock victim or a serialization failure.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000
# PostgreSQL aborts a transaction with these when re-running it may succeed
RETRYABLE_SQLSTATES = {"40P01": "deadlock_detected", "40001": "serialization_failure"}
WRITE_ATTEMPTS = 5
RETRY_BACKOFF_S = 0.02  # the first retry waits up to this; each further one up to twice as long

log = logging.getLogger(__name__)
T = TypeVar("T")


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

    def write_retrying(self, work: Callable[[Session], T], attempts: int = WRITE_ATTEMPTS) -> T:
        """Run `work(session)` in one write transaction and return what it returns; when
        PostgreSQL aborts the transaction as a deadlock victim or a serialization failure, roll
        it back and run `work` again in a fresh one (up to `attempts` runs, after a short
        random pause, so two transactions that collided do not collide again). `work` must be
        safe to re-run: it should only touch the database through `session`."""
        for attempt in range(1, attempts + 1):
            try:
                with self.write() as session:
                    return work(session)
            except DBAPIError as error:
                state = retryable_state(error)
                if state is None or attempt == attempts:
                    raise
                log.warning("write transaction aborted (%s); retry %d", state, attempt)
                time.sleep(random.uniform(0, RETRY_BACKOFF_S * 2 ** (attempt - 1)))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied (a no-op on an up-to-date database)."""
        _quiet_alembic()
        from alembic import command

        command.upgrade(alembic_config(self._plain_url()), "head")

    def pending_migrations(self) -> list[str]:
        """The migrations this code has and the database lacks, oldest first; [] when it is up to
        date, or at a revision newer than this code knows (a rolling deploy's older replica)."""
        _quiet_alembic()
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config(self._plain_url()))
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and current not in {r.revision for r in script.walk_revisions()}:
            return []
        newest_first = script.iterate_revisions("heads", current or "base")
        return [revision.revision for revision in reversed(list(newest_first))]

    def _plain_url(self) -> str:
        return str(self.url.render_as_string(hide_password=False))

    def dispose(self) -> None:
        self.engine.dispose()


def _quiet_alembic() -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines are noise here


def retryable_state(error: DBAPIError) -> str | None:
    """The name of the SQLSTATE if the driver's error says the transaction may be re-run."""
    return RETRYABLE_SQLSTATES.get(getattr(error.orig, "sqlstate", None) or "")


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
