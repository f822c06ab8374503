"""Team work (issue 14, point 5): assignment as an event with Mine / Unassigned views, bulk
actions recorded as one event per item, relabel from the console, and search by id, author or
text; on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import text as sql

from tests.conftest import bearer, create_keys
from tests.service.api.test_service import assert_error_shape
from tests.service.console.test_console import HTML, act, put, row_ids, sign_in
from triage.domain.review import (
    EventType,
    Outcome,
    ReviewEvent,
    ReviewState,
    ReviewStatus,
    TransitionError,
    apply_event,
)
from triage.queue import store as queue
from triage.queue.search import Search, SearchField
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.keys import list_keys, revoke_key


@pytest.fixture()
def team(database_url, tmp_path):
    """(client, keys, database) of the app on `database_url`, sending alice's key. No model:
    items are stored with chosen scores by put()."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    keys = create_keys(database_url)
    settings = Settings(
        bundle_dir=tmp_path / "no-model", database_url=database_url, secret_key="k" * 40
    )
    with TestClient(create_app(settings), headers=bearer(keys["alice"])) as client:
        yield client, keys, context_of(client.app).database


def person_events(db, item_id):
    with db.read() as session:
        return [
            (e.type, e.actor, e.actor_key_id, e.outcome, e.assignee, e.labels)
            for e in queue.history(session, item_id)
            if e.actor_kind == "person"
        ]


def key_id(db, name: str) -> int:
    with db.read() as session:
        return next(k.id for k in list_keys(session) if k.name == name and not k.revoked_at)


def queue_ids(client, **params) -> list[int]:
    response = client.get("/v1/queue", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return [item["item_id"] for item in response.json()["items"]]


def post_event(client, item_id, **body):
    return client.post(f"/v1/items/{item_id}/events", json=body)


# --- the pure state function -----------------------------------------------------------------
def test_assign_and_unassign_change_only_the_assignee():
    status = ReviewStatus()
    assigned = apply_event(status, ReviewEvent(EventType.ASSIGN, "alice", assignee="bob"))
    assert assigned == ReviewStatus(assigned_to="bob")
    claimed = apply_event(assigned, ReviewEvent(EventType.CLAIM, "carol"))
    assert (claimed.state, claimed.claimed_by, claimed.assigned_to) == ("claimed", "carol", "bob")
    resolve = ReviewEvent(EventType.RESOLVE, "carol", outcome=Outcome.SUPPORTED)
    resolved = apply_event(claimed, resolve)
    assert resolved.assigned_to == "bob"  # kept: who it was for
    with pytest.raises(TransitionError, match="reopen it first"):
        apply_event(resolved, ReviewEvent(EventType.ASSIGN, "alice", assignee="dan"))
    with pytest.raises(TransitionError, match="already assigned to bob"):
        apply_event(assigned, ReviewEvent(EventType.ASSIGN, "alice", assignee="bob"))
    assert apply_event(resolved, ReviewEvent(EventType.UNASSIGN, "alice")).assigned_to is None
    with pytest.raises(TransitionError, match="only an assigned item"):
        apply_event(status, ReviewEvent(EventType.UNASSIGN, "alice"))


def test_only_an_assign_event_carries_an_assignee():
    with pytest.raises(ValueError, match="needs an assignee"):
        ReviewEvent(EventType.ASSIGN, "alice")
    with pytest.raises(ValueError, match="needs an assignee"):
        ReviewEvent(EventType.ASSIGN, "alice", assignee="  ")
    with pytest.raises(ValueError, match="only assign events"):
        ReviewEvent(EventType.CLAIM, "alice", assignee="bob")


def test_a_search_needs_words_and_a_field():
    with pytest.raises(ValueError):
        Search("   ")
    with pytest.raises(ValueError):
        Search("x", frozenset())
    with pytest.raises(ValueError):
        Search("x" * 201)


# --- assignment ------------------------------------------------------------------------------
def test_assign_is_an_event_and_filters_the_queue(team):
    client, keys, db = team
    first, second, third = (put(db, f"p{n}") for n in range(3))
    reply = post_event(client, first, type="assign", assignee="bob")
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["event"]["type"] == "assign" and body["event"]["assignee"] == "bob"
    assert body["event"]["actor"] == "alice" and body["item"]["assigned_to"] == "bob"
    assert body["item"]["state"] == "open"  # the state and the claim are left as they were
    assert post_event(client, second, type="assign", assignee="alice").status_code == 201

    assert queue_ids(client, assignee="bob") == [first]
    assert queue_ids(client, assignee="alice") == [second]
    assert queue_ids(client, assigned="false") == [third]
    assert sorted(queue_ids(client, assigned="true")) == sorted([first, second])
    assert sorted(queue_ids(client)) == sorted([first, second, third])  # nothing hidden

    # routing is not handling: no first action for the SLA figures
    with db.read() as session:
        assert queue.get_item(session, first).first_action_at is None

    # reassign, then unassign: each an event, the filters follow
    assert post_event(client, first, type="assign", assignee="alice").status_code == 201
    assert sorted(queue_ids(client, assignee="alice")) == sorted([first, second])
    assert post_event(client, first, type="unassign").status_code == 201
    assert sorted(queue_ids(client, assigned="false")) == sorted([first, third])
    alice = key_id(db, "alice")
    assert person_events(db, first) == [
        ("assign", "alice", alice, None, "bob", None),
        ("assign", "alice", alice, None, "alice", None),
        ("unassign", "alice", alice, None, None, None),
    ]
    assert_error_shape(post_event(client, first, type="unassign"), 409, "state")


def test_assignee_must_be_an_active_moderator(team):
    client, keys, db = team
    item_id = put(db, "p1")
    for name in ("nobody", "platform"):  # unknown, and a key that cannot moderate
        reply = post_event(client, item_id, type="assign", assignee=name)
        assert_error_shape(reply, 422, "assignee")
    assert_error_shape(post_event(client, item_id, type="assign"), 422, "body")
    with db.write() as session:
        revoke_key(session, key_id(db, "bob"), datetime.now(UTC))
    assert_error_shape(post_event(client, item_id, type="assign", assignee="bob"), 422)
    assert post_event(client, item_id, type="assign", assignee="admin").status_code == 201
    assert person_events(db, item_id)[-1][4] == "admin"


def test_mine_reads_the_partial_assigned_index_on_sqlite(tmp_path):
    """The Mine view is one index range in queue order, not a scan of the waiting items."""
    database = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    database.upgrade()
    where = queue.QueueFilter(assignee="alice")
    with database.read() as session:
        compiled = _queue_sql(session, where)
        plan = session.execute(sql(f"EXPLAIN QUERY PLAN {compiled}")).all()
    database.dispose()
    details = " ".join(str(row[-1]) for row in plan)
    assert "ix_items_assigned" in details and "TEMP B-TREE" not in details, details


def _queue_sql(session, where) -> str:
    """The SQL list_queue runs for `where`, with its parameters inlined (for EXPLAIN)."""
    captured: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    from sqlalchemy import event

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        queue.list_queue(session, where, 50)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    for value in parameters:
        literal = f"'{value}'" if isinstance(value, str) else str(int(value))
        statement = statement.replace("?", literal, 1)
    return statement


# --- bulk actions ----------------------------------------------------------------------------
def test_bulk_api_appends_one_event_per_item_and_reports_each(team):
    client, keys, db = team
    ids = [put(db, f"s{n}", "green", ["spam"]) for n in range(3)]
    held = ids[1]
    reply = post_event(client, held, type="claim")
    assert reply.status_code == 201
    body = {"item_ids": [*ids, 999_999], "type": "resolve", "outcome": "confirmed_spam"}
    reply = client.post("/v1/items/bulk-events", json=body, headers=bearer(keys["bob"]))
    assert reply.status_code == 200, reply.text
    result = reply.json()
    assert (result["applied"], result["refused"]) == (2, 2)
    statuses = [(r["item_id"], r["status"]) for r in result["results"]]
    assert statuses == [(ids[0], 201), (held, 409), (ids[2], 201), (999_999, 404)]
    refused = result["results"][1]["error"]
    assert refused["code"] == "conflict" and "claimed by alice" in refused["message"]
    assert result["results"][0]["item"]["outcome"] == "confirmed_spam"
    bob = key_id(db, "bob")
    for item_id in (ids[0], ids[2]):
        assert person_events(db, item_id) == [("resolve", "bob", bob, "confirmed_spam", None, None)]
    assert [e[0] for e in person_events(db, held)] == ["claim"]  # untouched


def test_bulk_api_refuses_a_bad_request_whole(team):
    client, keys, db = team
    item_id = put(db, "p1")
    for body, field in [
        ({"item_ids": [item_id], "type": "resolve"}, "body"),  # no outcome
        ({"item_ids": [item_id, item_id], "type": "escalate"}, "item_ids"),
        ({"item_ids": [], "type": "escalate"}, "item_ids"),
        ({"item_ids": list(range(1, 202)), "type": "escalate"}, "item_ids"),
        ({"item_ids": [item_id], "type": "scored"}, "type"),
    ]:
        assert_error_shape(client.post("/v1/items/bulk-events", json=body), 422, field)
    reply = client.post(
        "/v1/items/bulk-events",
        json={"item_ids": [item_id], "type": "escalate"},
        headers=bearer(keys["platform"]),
    )
    assert_error_shape(reply, 403)
    assert person_events(db, item_id) == []


def test_bulk_assign_reports_an_unknown_assignee_per_item(team):
    client, keys, db = team
    ids = [put(db, f"p{n}") for n in range(2)]
    body = {"item_ids": ids, "type": "assign", "assignee": "bob"}
    assert client.post("/v1/items/bulk-events", json=body).json()["applied"] == 2
    assert queue_ids(client, assignee="bob") == ids
    body["assignee"] = "nobody"
    result = client.post("/v1/items/bulk-events", json=body).json()
    assert result["applied"] == 0 and {r["status"] for r in result["results"]} == {422}


def test_console_bulk_bar_records_one_event_per_item(team):
    client, keys, db = team
    ids = [put(db, f"s{n}", "green", ["spam"]) for n in range(3)]
    token = sign_in(client, keys["bob"])
    page = client.get("/", headers=HTML).text
    assert 'id="bulk-form"' in page and 'form="bulk-form"' in page
    assert f'name="item_id" value="{ids[0]}"' in page

    def bulk(action, item_ids, **more):
        data = {"csrf_token": token, "action": action, "item_id": [str(i) for i in item_ids]}
        return client.post("/queue/bulk", data={**data, **more}, headers=HTML)

    reply = bulk("resolve_spam", ids[:2], note="same spam wave")
    assert reply.status_code == 200 and "2 of 2 items" in reply.text
    bob = key_id(db, "bob")
    for item_id in ids[:2]:
        assert person_events(db, item_id) == [("resolve", "bob", bob, "confirmed_spam", None, None)]
        with db.read() as session:
            notes = [e.note for e in queue.history(session, item_id) if e.type == "resolve"]
        assert notes == ["same spam wave"]
    assert row_ids(client.get("/", headers=HTML).text) == [ids[2]]

    # release refuses an item nobody claimed, per item, and still does the others
    assert act(client, token, ids[2], "claim").status_code == 303
    other = put(db, "o1")
    reply = bulk("release", [ids[2], other])
    assert reply.status_code == 200 and "1 of 2 items" in reply.text
    assert f'data-bulk-item="{other}" data-bulk-ok="0"' in reply.text
    assert "only a claimed item can be released" in reply.text
    reply = bulk("escalate", [ids[2], other])
    assert "2 of 2 items" in reply.text
    assert [e[0] for e in person_events(db, other)] == ["escalate"]

    # the form's CSRF token and a known action are required
    no_token = client.post(
        "/queue/bulk", data={"action": "escalate", "item_id": str(other)}, headers=HTML
    )
    assert no_token.status_code == 403
    assert_error_shape(
        client.post("/queue/bulk", data={"csrf_token": token, "action": "delete", "item_id": "1"}),
        422,
        "action",
    )
    nothing_ticked = client.post("/queue/bulk", data={"csrf_token": token, "action": "release"})
    assert_error_shape(nothing_ticked, 422, "item_id")
    assert len(person_events(db, other)) == 1


# --- the console: assign, views, relabel -----------------------------------------------------
def test_console_assign_and_the_mine_and_unassigned_views(team):
    client, keys, db = team
    mine, theirs, nobodys = (put(db, f"p{n}") for n in range(3))
    token = sign_in(client, keys["alice"])
    page = client.get(f"/items/{mine}", headers=HTML).text
    assert "Not assigned to anyone." in page
    assert '<option value="alice" selected>alice (you)</option>' in page
    assert '<option value="platform"' not in page  # only moderators and admins
    reply = act(client, token, mine, "assign", assignee="alice")
    assert reply.status_code == 303 and reply.headers["location"] == f"/items/{mine}?done=assign"
    assert act(client, token, theirs, "assign", assignee="bob").status_code == 303
    page = client.get(f"/items/{mine}?done=assign", headers=HTML).text
    assert "Assigned item" in page and re.search(r"Assigned to\s+<strong>you</strong>", page)

    assert row_ids(client.get("/?view=mine", headers=HTML).text) == [mine]
    assert row_ids(client.get("/?view=unassigned", headers=HTML).text) == [nobodys]
    everything = client.get("/", headers=HTML).text
    assert sorted(row_ids(everything)) == sorted([mine, theirs, nobodys])
    assert "for you" in everything and "for bob" in everything
    assert 'href="/?view=mine"' in everything
    assert_error_shape(client.get("/?view=bobs"), 422, "view")

    reply = act(client, token, mine, "assign", assignee="nobody")
    assert reply.status_code == 422 and "No active moderator key" in reply.text
    assert act(client, token, mine, "unassign").status_code == 303
    assert sorted(row_ids(client.get("/?view=unassigned", headers=HTML).text)) == sorted(
        [mine, nobodys]
    )


def test_console_relabel_records_the_moderators_labels(team):
    client, keys, db = team
    item_id = put(db, "p1", "green", ["spam"])
    token = sign_in(client, keys["alice"])
    page = client.get(f"/items/{item_id}", headers=HTML).text
    assert 'data-action="relabel"' in page
    assert re.search(r'id="relabel-spam" name="label" value="spam"\s+checked', page)
    assert 'value="corumination"' not in page  # reply-only: this is a top-level post
    offered = re.findall(r'name="offered" value="([a-z_]+)"', page)
    assert "spam" in offered and "hostile" in offered
    data = {"offered": offered, "label": ["hostile"], "note": "not spam, a pile-on"}
    reply = act(client, token, item_id, "relabel", **data)
    assert reply.status_code == 303 and reply.headers["location"].endswith("done=relabel")
    expected = {label: int(label == "hostile") for label in offered}
    assert person_events(db, item_id) == [
        ("relabel", "alice", key_id(db, "alice"), None, None, expected)
    ]
    api = client.get(f"/v1/items/{item_id}").json()
    assert api["flags"] == ["spam"]  # the model's view stays; the relabel is beside it
    with db.read() as session:
        assert queue.get_item(session, item_id).relabels == expected
    page = client.get(f"/items/{item_id}", headers=HTML).text
    assert re.search(r'id="relabel-hostile" name="label" value="hostile"\s+checked', page)
    assert not re.search(r'id="relabel-spam" name="label" value="spam"\s+checked', page)

    bad = act(client, token, item_id, "relabel", offered=["spam"], label=["nonsense"])
    assert bad.status_code == 422
    assert act(client, token, item_id, "relabel").status_code == 422  # nothing offered


# --- search ----------------------------------------------------------------------------------
@pytest.fixture()
def searchable(team):
    client, keys, db = team
    ids = {
        "sale": put(db, "post-a", text="Huge SALE: 50% off, today only", author_id="u1"),
        "wild": put(db, "post-b", text="five hundred 500 x off", author_id="u2"),
        "under": put(db, "post-c", text="snake_case and a_b", author_id="u1"),
        "plain": put(db, "post-d", text="axb and nothing else", author_id="u3"),
    }
    return client, keys, db, ids


def test_search_by_id_author_and_text(searchable):
    client, keys, db, ids = searchable
    assert queue_ids(client, search=str(ids["wild"])) == [ids["wild"]]  # triage's id
    assert queue_ids(client, search="post-c") == [ids["under"]]  # the platform's id
    assert sorted(queue_ids(client, search="u1")) == sorted([ids["sale"], ids["under"]])
    assert queue_ids(client, search="sale") == [ids["sale"]]  # any case
    assert queue_ids(client, search="huge sale") == [ids["sale"]]
    # wildcards are characters: 50% is not "50 then anything", a_b is not "a, any, b"
    assert queue_ids(client, search="50%") == [ids["sale"]]
    assert queue_ids(client, search="a_b") == [ids["under"]]
    assert queue_ids(client, search="%") == [ids["sale"]]
    assert queue_ids(client, search="\\") == []
    # search_in narrows the fields
    assert queue_ids(client, search="u1", search_in="text") == []
    assert queue_ids(client, search="post-a", search_in="author") == []
    found = queue_ids(client, search="off", search_in=["id", "text"])
    assert sorted(found) == sorted([ids["sale"], ids["wild"]])
    assert_error_shape(client.get("/v1/queue", params={"search_in": "note"}), 422, "search_in")
    assert_error_shape(client.get("/v1/queue", params={"search": "x" * 201}), 422, "search")


def test_search_looks_in_every_state_unless_told(searchable):
    client, keys, db, ids = searchable
    reply = post_event(client, ids["sale"], type="resolve", outcome="confirmed_spam")
    assert reply.status_code == 201
    assert ids["sale"] not in queue_ids(client)
    assert queue_ids(client, search="sale") == [ids["sale"]]
    assert queue_ids(client, search="sale", status="open") == []


def test_search_is_for_moderators_only(searchable):
    client, keys, db, ids = searchable
    reply = client.get("/v1/queue", params={"search": "sale"}, headers=bearer(keys["platform"]))
    assert_error_shape(reply, 403, "role")
    assert_error_shape(
        client.get("/v1/queue", params={"search": "sale"}, headers={"Authorization": ""}), 401
    )


def test_console_search_box(searchable):
    client, keys, db, ids = searchable
    sign_in(client, keys["alice"])
    page = client.get("/", params={"q": "SALE"}, headers=HTML).text
    assert row_ids(page) == [ids["sale"]]
    assert 'name="q" type="search" value="SALE"' in page
    assert "in every state" in page
    page = client.get("/", params={"q": "u1", "search_in": "author"}, headers=HTML).text
    assert sorted(row_ids(page)) == sorted([ids["sale"], ids["under"]])
    page = client.get("/", params={"q": "post-d", "view": "unassigned"}, headers=HTML).text
    assert row_ids(page) == [ids["plain"]]
    assert client.get("/", params={"q": "x" * 201}, headers=HTML).status_code == 422
    # a platform key cannot sign in to the console at all, so cannot search there either
    client.cookies.clear()
    reply = client.get("/", params={"q": "sale"}, headers=HTML, follow_redirects=False)
    assert reply.status_code == 303


def test_search_of_a_purged_text_finds_it_by_id_only(searchable):
    client, keys, db, ids = searchable
    with db.write() as session:
        session.execute(sql("UPDATE items SET text = NULL WHERE id = :id"), {"id": ids["sale"]})
    assert queue_ids(client, search="sale") == []
    assert queue_ids(client, search="post-a") == [ids["sale"]]


def test_state_is_untouched_by_assignment_in_storage(database_url):
    db = Database(database_url)
    create_keys(database_url)
    item_id = put(db, "p1")
    with db.write() as session:
        event = ReviewEvent(EventType.ASSIGN, "alice", assignee="bob")
        item, row = queue.append_event(session, item_id, event, datetime.now(UTC))
        assert (item.state, item.waiting, item.assigned_to) == (ReviewState.OPEN, True, "bob")
        assert row.assignee == "bob" and row.state_after == "open"
    with db.read() as session:
        page = queue.list_queue(session, queue.QueueFilter(assignee="bob"), 10)
        assert [i.id for i in page.items] == [item_id]
        wanted = queue.QueueFilter(search=Search("p1", frozenset({SearchField.ID})))
        assert [i.id for i in queue.list_queue(session, wanted, 10).items] == [item_id]
    db.dispose()
