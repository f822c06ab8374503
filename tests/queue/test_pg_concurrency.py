"""Concurrent writes on PostgreSQL (issue 12, point 4): two replicas ingesting the same items in
opposite orders at the same moment used to deadlock (one request a 500 DeadlockDetected, nearly
every round). Rows are now taken in a fixed order and a transaction PostgreSQL aborts as a
deadlock victim or a serialization failure is re-run (Database.write_retrying)."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.conftest import TABLES, bearer, create_keys
from triage.settings import Settings
from triage.storage import database
from triage.storage.database import Database
from triage.storage.tables import Event, Item, ModeratorPrefs

ROUNDS = 20
COMMUNITY = "night-owls"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture()
def replicas(postgres_url, tmp_path):
    """Two apps (as two replicas) sharing one emptied PostgreSQL database, with no model loaded
    (every ingest then also writes a scoring failure for each item), and a platform key."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    db = Database(postgres_url)
    with db.write() as session:
        session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    db.dispose()
    keys = create_keys(postgres_url)
    settings = Settings(
        bundle_dir=tmp_path / "no-such-bundle",
        database_url=postgres_url,
        migrate_on_start=False,
        rate_limit_enabled=False,
        rescore_interval_s=3600,
        rerank_interval_s=3600,
        secret_key="s" * 32,
    )
    clients = [
        TestClient(
            create_app(settings),
            headers=bearer(keys["platform"]),
            raise_server_exceptions=False,  # a 500 is an answer to count, not an exception
        ).__enter__()
        for _ in range(2)
    ]
    yield clients
    for client in clients:
        client.__exit__(None, None, None)


def _post_at_once(clients, bodies) -> list[int]:
    """POST each body to its client from its own thread, released together."""
    start = threading.Barrier(len(clients))
    statuses: list[int] = [0] * len(clients)

    def post(index: int) -> None:
        start.wait()
        statuses[index] = clients[index].post("/v1/items", json=bodies[index]).status_code

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def _item(external_id: str) -> dict:
    return {"id": external_id, "community": COMMUNITY, "text": f"a post {external_id}"}


def test_opposite_orders_on_two_replicas_never_deadlock(replicas, postgres_url, caplog):
    """Before the fix, 15 to 17 of the 40 requests failed with a 500 (DeadlockDetected)."""
    caplog.set_level(logging.WARNING, logger=database.__name__)
    failures = Counter()
    sent: list[str] = []
    for round_ in range(ROUNDS):
        first, second = f"r{round_}-a", f"r{round_}-b"
        sent += [first, second]
        bodies = [
            {"items": [_item(first), _item(second)]},
            {"items": [_item(second), _item(first)]},
        ]
        for status in _post_at_once(replicas, bodies):
            if status != 200:
                failures[status] += 1
    assert not failures, f"{sum(failures.values())} of {2 * ROUNDS} requests failed: {failures}"
    retries = [r.getMessage() for r in caplog.records if r.name == database.__name__]
    assert not retries, "rows taken in one order never deadlock; retries are only a safety net"

    db = Database(postgres_url)
    try:
        with db.read() as session:
            stored = Counter(session.scalars(select(Item.external_id)))
            ingested = session.scalar(
                select(func.count()).select_from(Event).where(Event.type == "ingested")
            )
    finally:
        db.dispose()
    assert stored == Counter(sent), "an item is missing or stored twice"
    assert ingested == len(sent), "an item has no `ingested` event, or more than one"


# --- the retry helper ------------------------------------------------------------------------
def _db_error(orig: Exception, kind=OperationalError):
    return kind("INSERT INTO items ...", None, orig)


class Flaky:
    """A transaction body that fails `failures` times with `error`, then returns "done"."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error, self.failures, self.calls = error, failures, 0

    def __call__(self, session) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


@pytest.fixture()
def sqlite_db(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'retry.db'}")
    yield db
    db.dispose()


@pytest.mark.parametrize(
    "orig", [psycopg.errors.DeadlockDetected("deadlock"), psycopg.errors.SerializationFailure("x")]
)
def test_a_deadlock_or_serialization_failure_reruns_the_transaction(orig, sqlite_db):
    body = Flaky(_db_error(orig), failures=2)
    assert sqlite_db.write_retrying(body) == "done"
    assert body.calls == 3


def test_a_transaction_that_keeps_losing_gives_up_with_the_error(sqlite_db):
    error = _db_error(psycopg.errors.DeadlockDetected("deadlock"))
    body = Flaky(error, failures=99)
    with pytest.raises(OperationalError) as raised:
        sqlite_db.write_retrying(body)
    assert raised.value is error and body.calls == database.WRITE_ATTEMPTS


@pytest.mark.parametrize(
    "error",
    [
        _db_error(psycopg.errors.UniqueViolation("duplicate"), IntegrityError),
        _db_error(psycopg.errors.UndefinedTable("no table")),
        _db_error(Exception("no sqlstate")),
        ValueError("not a database error"),
    ],
)
def test_other_errors_are_not_retried(error, sqlite_db):
    body = Flaky(error, failures=1)
    with pytest.raises(type(error)):
        sqlite_db.write_retrying(body)
    assert body.calls == 1


def test_the_retried_transaction_is_rolled_back_and_committed_once(sqlite_db):
    """What a failed attempt wrote is rolled back: only the last attempt's rows remain."""
    sqlite_db.upgrade()
    deadlock = _db_error(psycopg.errors.DeadlockDetected("deadlock"))
    calls = []

    def body(session) -> None:
        calls.append(1)
        session.add(ModeratorPrefs(actor=f"m{len(calls)}", opted_out=[], updated_at=NOW))
        session.flush()
        if len(calls) < 3:
            raise deadlock

    sqlite_db.write_retrying(body)
    with sqlite_db.read() as session:
        rows = session.scalars(select(ModeratorPrefs.actor)).all()
    assert rows == ["m3"]
