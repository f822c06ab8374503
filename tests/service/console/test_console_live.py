"""The console's live queue (issue 14, point 2): GET /console/live on SQLite and PostgreSQL.

It answers signed-in moderators only, reports items as they arrive, change tier and are claimed
by someone else, tells whether the page's view (filters, opt-outs) shows them, flags a newly
scored crisis or red item, and never carries an item's text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import TIER_RULES, bearer, create_keys
from tests.service.api.test_service import assert_error_shape
from tests.service.console.test_console import HTML, put, sign_in
from triage.queue import live, moderators
from triage.queue import store as queue
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage.database import Database

SECRET = "my goodbye note is written and the pills are ready"  # must never reach /console/live
STATIC = Path(__file__).resolve().parents[3] / "triage" / "service" / "console" / "static"


@pytest.fixture()
def live_console(database_url, tmp_path):
    """(client, keys, database) of the app (no model) on `database_url`."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    keys = create_keys(database_url)
    settings = Settings(
        bundle_dir=tmp_path / "no-model", database_url=database_url, secret_key="k" * 40
    )
    with TestClient(create_app(settings)) as client:
        yield client, keys, context_of(client.app).database


def page_position(html: str) -> tuple[int, int]:
    found = re.search(r'data-live-cursor="(\d+)" data-live-seen="(\d+)"', html)
    assert found, "every signed-in page carries the live cursor"
    return int(found.group(1)), int(found.group(2))


def changes(client, since: int, **params) -> dict:
    reply = client.get("/console/live", params={"since": since, **params})
    assert reply.status_code == 200, reply.text
    assert reply.headers["cache-control"] == "no-store"
    assert SECRET not in reply.text and "pills" not in reply.text
    return reply.json()


def change_of(body: dict, item_id: int) -> dict:
    (found,) = [change for change in body["changes"] if change["item_id"] == item_id]
    assert "text" not in found and "parent_text" not in found
    return found


def test_live_needs_a_console_session(live_console):
    client, keys, _ = live_console
    assert_error_shape(client.get("/console/live"), 401, "session")
    # an API key is not a console session, whatever its role
    reply = client.get("/console/live", headers=bearer(keys["admin"]))
    assert_error_shape(reply, 401, "session")
    sign_in(client, keys["alice"])
    assert client.get("/console/live").status_code == 200
    assert_error_shape(client.get("/console/live", params={"since": -1}), 422)
    assert_error_shape(client.get("/console/live", params={"tier": "purple"}), 422, "tier")


def test_arrival_then_a_claim_by_another_moderator(live_console):
    client, keys, db = live_console
    sign_in(client, keys["alice"])
    quiet = put(db, "old", "green")
    cursor, seen = page_position(client.get("/", headers=HTML).text)
    crisis = put(db, "p1", "crisis", flags=["self_harm"], text=SECRET)

    body = changes(client, cursor)
    arrived = change_of(body, crisis)
    assert arrived["tier"] == "crisis" and arrived["flags"] == ["self_harm"]
    assert arrived["state"] == "open" and arrived["in_view"] is True
    assert arrived["alert"] > seen, "scored crisis after the page was rendered: news"
    assert arrived["id"] == "p1" and arrived["community"] == "c" and arrived["sla_due_at"]
    assert body["more"] is False
    assert quiet not in [c["item_id"] for c in changes(client, seen)["changes"]]

    claimed = client.post(
        f"/v1/items/{crisis}/events", json={"type": "claim"}, headers=bearer(keys["bob"])
    )
    assert claimed.status_code == 201, claimed.text
    after = change_of(changes(client, body["cursor"]), crisis)
    assert after["state"] == "claimed" and after["claimed_by"] == "bob"
    assert after["claimed_by_you"] is False
    assert after["in_view"] is False, "the default view shows waiting items only"
    mine = change_of(changes(client, body["cursor"], status="claimed"), crisis)
    assert mine["in_view"] is True


def test_a_tier_change_from_unscored_is_reported(live_console):
    client, keys, db = live_console
    sign_in(client, keys["alice"])
    now = datetime.now(UTC)
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [queue.NewItem("c", "u1", SECRET)], now, TIER_RULES)
        queue.record_failure(session, item.id, "model not loaded", Settings().tier_rules, now)
        item_id = item.id
    cursor, _ = page_position(client.get("/", headers=HTML).text)
    assert change_of(changes(client, 0), item_id)["tier"] is None
    with db.write() as session:
        view = queue.ModelView("m:1", {"self_harm": 0.7}, ["self_harm"], "red")
        queue.record_scores(session, item_id, view, Settings().tier_rules, now)
    rescored = change_of(changes(client, cursor), item_id)
    assert rescored["tier"] == "red" and rescored["alert"] is not None


def test_only_crisis_and_red_scores_raise_an_alert(live_console):
    client, keys, db = live_console
    sign_in(client, keys["alice"])
    amber = put(db, "a1", "amber")
    red = put(db, "r1", "red", flags=["self_harm"])
    body = changes(client, 0)
    assert change_of(body, amber)["alert"] is None
    assert change_of(body, red)["alert"] is not None


def test_the_view_follows_filters_and_opt_outs(live_console):
    client, keys, db = live_console
    sign_in(client, keys["alice"])
    hostile = put(db, "h1", "amber", flags=["hostile"], community="night-owls")
    with db.write() as session:
        moderators.set_opt_outs(session, "alice", ["hostile"], datetime.now(UTC))
    assert change_of(changes(client, 0), hostile)["in_view"] is False
    assert change_of(changes(client, 0, show_all="1"), hostile)["in_view"] is True
    assert change_of(changes(client, 0, show_all="1", community="c"), hostile)["in_view"] is False
    other = changes(client, 0, show_all="1", community="night-owls", tier="amber")
    assert change_of(other, hostile)["in_view"] is True


def test_the_cursor_stops_short_of_recent_events(database_url):
    """Events younger than LAG are read again on the next ask (a PostgreSQL transaction may
    commit a lower id late); older ones are passed; a batch past MAX_EVENTS moves on."""
    db = Database(database_url)
    try:
        now = datetime.now(UTC)
        first = put(db, "e1", "green")
        put(db, "e2", "amber")
        with db.read() as session:
            latest = live.latest_event_id(session)
            where = queue.QueueFilter()
            recent = live.changes_since(session, 0, where, now)
            later = live.changes_since(session, 0, where, now + live.LAG + timedelta(seconds=1))
            batch = live.changes_since(session, 0, where, now, limit=2)
            past_end = live.changes_since(session, latest + 50, where, now)
            position = live.current_position(session, now + live.LAG + timedelta(seconds=1))
        assert recent.cursor == 0 and len(recent.changes) == 2 and not recent.more
        assert later.cursor == latest
        assert batch.more and batch.cursor == 2 and [c.item.id for c in batch.changes] == [first]
        assert past_end.cursor == latest and past_end.changes == []
        assert position == live.Position(latest, latest)
    finally:
        db.dispose()


def test_pages_carry_the_live_regions(live_console):
    client, keys, db = live_console
    sign_in(client, keys["alice"])
    item_id = put(db, "x1", "red", flags=["self_harm"])
    page = client.get("/", headers=HTML).text
    assert 'id="live-alert"' in page and 'aria-live="assertive"' in page
    assert 'id="live-status" role="status" aria-live="polite"' in page
    assert f'data-item-id="{item_id}" data-tier="red" data-state="open"' in page
    for path in (f"/items/{item_id}", "/preferences"):
        page_position(client.get(path, headers=HTML).text)
    assert "data-live-sound" in client.get("/preferences", headers=HTML).text
    assert client.get("/static/console_live.js").status_code == 200


def test_live_polls_are_not_access_logged_at_info(live_console, caplog):
    """A page polls every few seconds: at INFO that would bury the access log."""
    client, keys, _ = live_console
    sign_in(client, keys["alice"])
    with caplog.at_level("DEBUG", logger="triage.access"):
        assert client.get("/console/live").status_code == 200
        assert client.get("/", headers=HTML).status_code == 200
    levels = {r.getMessage(): r.levelname for r in caplog.records if r.name == "triage.access"}
    assert levels == {"GET /console/live 200": "DEBUG", "GET / 200": "INFO"}


def test_static_script_builds_no_html_from_strings():
    script = (STATIC / "console_live.js").read_text()
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert unsafe not in script


def test_the_mine_view_is_the_signed_in_moderators(live_console):
    client, keys, db = live_console
    sign_in(client, keys["alice"])
    item_id = put(db, "m1", "amber")
    assert change_of(changes(client, 0, view="mine"), item_id)["in_view"] is False
    assigned = client.post(
        f"/v1/items/{item_id}/events",
        json={"type": "assign", "assignee": "alice"},
        headers=bearer(keys["bob"]),
    )
    assert assigned.status_code == 201, assigned.text
    assert change_of(changes(client, 0, view="mine"), item_id)["in_view"] is True
    assert change_of(changes(client, 0, view="unassigned"), item_id)["in_view"] is False
