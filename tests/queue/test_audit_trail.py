"""Who did what (issue 12, points 9, 10 and 14): only moderator events can be appended through the
API, events record the key that acted, key names are unique among active keys and cannot be the
system's, migration 0006 renames clashing keys, and purging a post clears its replies' copies."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.conftest import bearer, create_keys, run_cli
from tests.service.api.test_service import assert_error_shape
from tests.service.console.test_console import csrf_of, sign_in
from triage.domain.review import EventType, ModeratorEventType, Outcome, ReviewEvent
from triage.queue import store as queue
from triage.queue.retention import purge
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage.database import Database, alembic_config
from triage.storage.keys import BadKeyName, Role, create_key, list_keys, revoke_key
from triage.storage.tables import ApiKey, Event, Item

RULES = Settings().tier_rules
NOW = datetime.now(UTC)
SYSTEM_EVENTS = ("ingested", "scored", "scoring_failed", "text_purged", "rescored")
MODERATOR_EVENTS = (
    "claim", "release", "resolve", "escalate", "comment", "relabel", "reopen", "assign", "unassign",
)  # fmt: skip


@pytest.fixture()
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture()
def app(tmp_path):
    """(client, keys, database): the app on a fresh SQLite file, no model (items are stored
    with chosen scores by put(), events go through the API and the console)."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    keys = create_keys(url)
    settings = Settings(bundle_dir=tmp_path / "no-model", database_url=url, secret_key="k" * 40)
    with TestClient(create_app(settings)) as client:
        yield client, keys, context_of(client.app).database


def put(db, external_id, received=NOW, parent=None, parent_text=None) -> int:
    new = queue.NewItem(
        "c",
        external_id,
        f"the words of {external_id}",
        parent_external_id=parent,
        parent_text=parent_text,
    )
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [new], received, RULES)
        view = queue.ModelView("m:1", {"self_harm": 0.8, "hostile": 0.3}, ["self_harm"], "red")
        queue.record_scores(session, item.id, view, RULES, received)
        return item.id


def resolve(db, item_id, days_ago) -> None:
    event = ReviewEvent(EventType.RESOLVE, "alice", Outcome.SUPPORTED)
    with db.write() as session:
        queue.append_event(session, item_id, event, NOW - timedelta(days=days_ago))


def key_id(db, name) -> int:
    with db.read() as session:
        return next(row.id for row in list_keys(session) if row.name == name and not row.revoked_at)


def events_of(db, item_id) -> list[Event]:
    with db.read() as session:
        return queue.history(session, item_id)


# --- point 9: moderators append moderator events only -----------------------------------------
@pytest.mark.parametrize("kind", SYSTEM_EVENTS)
def test_a_moderator_key_cannot_append_a_system_event(app, kind):
    client, keys, db = app
    item_id = put(db, "p1")
    before = len(events_of(db, item_id))
    for holder in ("alice", "admin"):  # an admin key is no exception
        reply = client.post(
            f"/v1/items/{item_id}/events", json={"type": kind}, headers=bearer(keys[holder])
        )
        error = assert_error_shape(reply, 422, "type")
        expected = error["details"][0]["expected"]
        assert all(allowed in expected for allowed in MODERATOR_EVENTS), expected
        assert f"{kind} is a system event" in expected
    assert len(events_of(db, item_id)) == before


def test_the_openapi_enum_lists_only_moderator_events(app):
    client, _, _ = app
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    ref = schemas["EventIn"]["properties"]["type"]["$ref"].rsplit("/", 1)[-1]
    assert sorted(schemas[ref]["enum"]) == sorted(MODERATOR_EVENTS)
    assert {kind.value for kind in ModeratorEventType} == set(MODERATOR_EVENTS)


def test_storage_refuses_a_system_event_as_a_person_event(app):
    _, _, db = app
    item_id = put(db, "p1")
    with pytest.raises(ValueError, match="system event"), db.write() as session:
        queue.append_event(session, item_id, ReviewEvent(EventType.SCORED, "alice"), NOW)


def test_moderator_events_still_work_and_record_the_key(app):
    client, keys, db = app
    item_id = put(db, "p1")
    alice = bearer(keys["alice"])
    steps = [
        {"type": "claim"},
        {"type": "comment", "note": "reached out"},
        {"type": "relabel", "labels": {"self_harm": 0}},
        {"type": "release"},
        {"type": "escalate"},
        {"type": "resolve", "outcome": "false_positive"},
        {"type": "reopen"},
    ]
    for body in steps:
        reply = client.post(f"/v1/items/{item_id}/events", json=body, headers=alice)
        assert reply.status_code == 201, reply.text
        event = reply.json()["event"]
        assert (event["type"], event["actor"]) == (body["type"], "alice")
        assert event["actor_key_id"] == key_id(db, "alice")
    shown = client.get(f"/v1/items/{item_id}", headers=alice).json()["events"]
    assert {(e["actor_kind"], e["actor_key_id"]) for e in shown} == {
        ("system", None),
        ("person", key_id(db, "alice")),
    }


def test_two_holders_of_one_name_are_told_apart_by_key_id(app):
    """alice's key is revoked and the name given to a new key: the events say which acted."""
    client, keys, db = app
    first, second = put(db, "p1"), put(db, "p2")
    old_id = key_id(db, "alice")
    client.post(
        f"/v1/items/{first}/events", json={"type": "comment"}, headers=bearer(keys["alice"])
    )
    with db.write() as session:
        revoke_key(session, old_id, NOW)
        new = create_key(session, "alice", Role.MODERATOR, NOW)
    reply = client.post(
        f"/v1/items/{second}/events", json={"type": "comment"}, headers=bearer(new.secret)
    )
    assert reply.status_code == 201, reply.text
    (old_event,) = [e for e in events_of(db, first) if e.actor_kind == "person"]
    (new_event,) = [e for e in events_of(db, second) if e.actor_kind == "person"]
    assert old_event.actor == new_event.actor == "alice"
    assert (old_event.actor_key_id, new_event.actor_key_id) == (old_id, new.principal.key_id)
    assert old_id != new.principal.key_id


def test_the_console_records_and_shows_the_key(app):
    client, keys, db = app
    item_id = put(db, "p1")
    token = sign_in(client, keys["bob"])
    page = client.post(
        f"/items/{item_id}/events",
        data={"type": "comment", "note": "checked in", "csrf_token": token},
        headers={"accept": "text/html"},
    )
    assert page.status_code == 200, page.text
    bob_id = key_id(db, "bob")
    (event,) = [e for e in events_of(db, item_id) if e.actor_kind == "person"]
    assert (event.actor, event.actor_key_id) == ("bob", bob_id)
    assert f"(key {bob_id})" in page.text
    assert csrf_of(page.text)


# --- points 9 and 14: names unique among active keys, system names reserved ---------------------
def test_key_names_are_unique_among_active_keys(db):
    with db.write() as session:
        first = create_key(session, "carol", Role.MODERATOR, NOW)
    with pytest.raises(BadKeyName, match="held by active key"), db.write() as session:
        create_key(session, "carol", Role.ADMIN, NOW)
    with db.write() as session:  # the database refuses it too, whatever the code does
        session.add(ApiKey(name="carol", role="admin", prefix="x", digest="d" * 64, created_at=NOW))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
    with db.write() as session:
        revoke_key(session, first.principal.key_id, NOW)
        again = create_key(session, "carol", Role.MODERATOR, NOW)  # a revoked key's name is free
    assert again.principal.key_id != first.principal.key_id
    with db.read() as session:
        names = session.scalars(select(ApiKey.name).where(ApiKey.revoked_at.is_(None))).all()
    assert names.count("carol") == 1


@pytest.mark.parametrize("name", ["triage", "Triage", " system ", "", "   ", "x" * 201])
def test_reserved_blank_and_long_names_are_refused(db, name):
    with pytest.raises(BadKeyName), db.write() as session:
        create_key(session, name, Role.MODERATOR, NOW)


def test_keys_create_refuses_a_name_in_use_and_reserved_names(database_url):
    made = run_cli(
        "keys", "create", "--name", "dana", "--role", "moderator", "--database", database_url
    )
    assert made.exit_code == 0, made.output
    again = run_cli(
        "keys", "create", "--name", "dana", "--role", "admin", "--database", database_url
    )
    assert again.exit_code != 0 and "held by active key" in again.output
    assert "trg_" not in again.output
    system = run_cli(
        "keys", "create", "--name", "triage", "--role", "admin", "--database", database_url
    )
    assert system.exit_code != 0 and "reserved" in system.output
    dana = made.output.split("created key ")[1].split()[0]
    assert run_cli("keys", "revoke", dana, "--database", database_url).exit_code == 0
    reused = run_cli(
        "keys", "create", "--name", "dana", "--role", "moderator", "--database", database_url
    )
    assert reused.exit_code == 0, reused.output


# --- migration 0006 -----------------------------------------------------------------------------
def test_migration_0006_renames_clashing_active_keys(tmp_path, caplog):
    from alembic import command
    from sqlalchemy import insert

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0005")
    database = Database(url)
    rows = [  # (name, revoked): as a database before 0006 could hold them
        ("alice", False),
        ("alice", False),
        ("alice", True),  # revoked: keeps its name
        ("alice-2", False),  # the name the second alice would get
        ("bob", False),
        ("triage", False),  # would write person events as the system
        ("alice", False),
    ]
    with database.write() as session:
        for n, (name, revoked) in enumerate(rows, start=1):
            session.execute(
                insert(ApiKey.__table__).values(
                    id=n,
                    name=name,
                    role="moderator",
                    prefix=f"p{n}",
                    digest=f"{n:064d}",
                    created_at=NOW,
                    revoked_at=NOW if revoked else None,
                )
            )
    with caplog.at_level(logging.WARNING, logger="triage.storage.migrations"):
        database.upgrade()
    with database.read() as session:
        names = {row.id: row.name for row in list_keys(session)}
    database.dispose()
    assert names == {
        1: "alice",
        2: "alice-2-2",
        3: "alice",
        4: "alice-2",
        5: "bob",
        6: "triage-6",
        7: "alice-7",
    }
    renamed = [r.getMessage() for r in caplog.records if "renamed" in r.getMessage()]
    assert len(renamed) == 3 and "'triage-6'" in renamed[1]


# --- point 10: purging a post clears its replies' copies ---------------------------------------
def test_purging_a_parent_clears_the_copy_in_every_reply(db):
    long_ago = NOW - timedelta(days=60)
    parent = put(db, "op", received=long_ago)
    open_reply = put(db, "r1", long_ago, parent="op", parent_text="the words of op")
    resolved_reply = put(db, "r2", long_ago, parent="op", parent_text="the words of op")
    other = put(db, "r3", long_ago, parent="elsewhere", parent_text="another post")
    resolve(db, parent, days_ago=40)
    resolve(db, resolved_reply, days_ago=5)  # too recent to be purged itself
    with db.read() as session:
        scores_before = queue.get_item(session, open_reply).scores

    dry = purge(db, 30, NOW, dry_run=True)
    assert (dry.items, dry.parent_copies) == (1, 2)
    result = purge(db, 30, NOW)
    assert (result.items, result.parent_copies) == (1, 2)
    with db.read() as session:
        items = {i: queue.get_item(session, i) for i in (open_reply, resolved_reply, other)}
    for reply_id in (open_reply, resolved_reply):
        reply = items[reply_id]
        assert reply.parent_text is None and reply.text is not None
        last = events_of(db, reply_id)[-1]
        assert (last.type, last.actor, last.actor_kind) == ("text_purged", "triage", "system")
        assert f"item {parent}" in last.note and "words" not in last.note
    assert items[open_reply].scores == scores_before and items[open_reply].state == "open"
    assert items[other].parent_text == "another post"  # its parent is not purged

    # a reply that arrives after its parent was purged loses its copy at the next purge
    late = put(db, "r4", parent="op", parent_text="the words of op")
    assert purge(db, 30, NOW).parent_copies == 1
    with db.read() as session:
        assert queue.get_item(session, late).parent_text is None
    assert purge(db, 30, NOW).parent_copies == 0  # idempotent: no second event
    assert sum(e.type == "text_purged" for e in events_of(db, late)) == 1


def test_the_purge_command_reports_parent_copies(db, database_url):
    long_ago = NOW - timedelta(days=60)
    parent = put(db, "op", received=long_ago)
    put(db, "r1", long_ago, parent="op", parent_text="the words of op")
    resolve(db, parent, days_ago=40)
    dry = run_cli("purge", "--days", "30", "--dry-run", "--database", database_url)
    assert "would purge the copy of a purged post's text in 1 replies" in dry.output
    done = run_cli("purge", "--days", "30", "--database", database_url)
    assert done.exit_code == 0 and "purged the text of 1 items" in done.output
    assert "in 1 replies" in done.output


def test_parent_copies_are_cleared_across_batches(db, monkeypatch):
    from triage.queue import retention

    monkeypatch.setattr(retention, "BATCH", 1)
    long_ago = NOW - timedelta(days=60)
    for n in range(3):
        parent = put(db, f"op{n}", received=long_ago)
        put(db, f"r{n}", long_ago, parent=f"op{n}", parent_text="the words")
        resolve(db, parent, days_ago=40)
    assert purge(db, 30, NOW).parent_copies == 3
    for n in range(2):  # replies that came after their posts were purged: the sweep pages too
        put(db, f"late{n}", parent=f"op{n}", parent_text="the words")
    assert purge(db, 30, NOW).parent_copies == 2
    with db.read() as session:
        assert session.scalars(select(Item.id).where(Item.parent_text.is_not(None))).all() == []
