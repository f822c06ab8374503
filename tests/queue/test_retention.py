"""Retention: the text of long-resolved items is purged; scores, outcomes and the audit trail
stay. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from tests.conftest import bearer, create_keys, run_cli
from triage.domain.review import EventType, Outcome, ReviewEvent
from triage.queue import store as queue
from triage.queue.feedback_export import reviewed_posts
from triage.queue.retention import purge
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.tables import Item
from triage.training.data.feedback import feedback_rows

RULES = Settings().tier_rules
NOW = datetime.now(UTC)


@pytest.fixture()
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def put(
    db, external_id, resolved_days_ago=None, note=None, outcome=Outcome.SUPPORTED, **fields
) -> int:
    """An item received 60 days ago and scored; resolved `resolved_days_ago` days ago."""
    received = NOW - timedelta(days=60)
    new = queue.NewItem(
        "c", external_id, f"the words of {external_id}", parent_text="the parent's words", **fields
    )
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [new], received, RULES)
        view = queue.ModelView("m:1", {"self_harm": 0.8, "distress": 0.4}, ["self_harm"], "red")
        queue.record_scores(session, item.id, view, RULES, received)
        if note:
            comment = ReviewEvent(EventType.COMMENT, "alice", note=note)
            queue.append_event(session, item.id, comment, received)
        if resolved_days_ago is not None:
            when = NOW - timedelta(days=resolved_days_ago)
            resolve = ReviewEvent(EventType.RESOLVE, "alice", outcome)
            queue.append_event(session, item.id, resolve, when)
        return item.id


def snapshot(db, item_id):
    with db.read() as session:
        item = queue.get_item(session, item_id)
        events = [
            (e.type, e.actor, e.actor_kind, e.outcome, e.note, e.scores)
            for e in queue.history(session, item_id)
        ]
        return item, events


def test_purge_removes_text_of_old_resolved_items_only(db):
    old = put(db, "old", resolved_days_ago=40, note="called them, they are safe now")
    recent = put(db, "recent", resolved_days_ago=5)
    waiting = put(db, "waiting")  # 60 days old but never resolved: a person still needs it
    before, before_events = snapshot(db, old)

    assert purge(db, 30, NOW, dry_run=True).items == 1
    assert snapshot(db, old)[0].text is not None  # a dry run changes nothing

    result = purge(db, 30, NOW)
    assert result.items == 1 and result.cutoff == NOW - timedelta(days=30)
    item, events = snapshot(db, old)
    assert item.text is None and item.parent_text is None
    # everything else is kept: scores, flags, tier, outcome, evidence, the history
    assert (item.scores, item.flags, item.tier, item.outcome, item.state) == (
        before.scores,
        before.flags,
        before.tier,
        "supported",
        "resolved",
    )
    assert events[:-1] == before_events
    purged = events[-1]
    assert purged[:3] == ("text_purged", "triage", "system")
    assert "30 days" in purged[4] and purged[5] == before.scores
    assert events[2][4] == "called them, they are safe now"  # moderator notes stay
    for other in (recent, waiting):
        assert snapshot(db, other)[0].text is not None

    assert purge(db, 30, NOW).items == 0  # idempotent: no second event
    assert len(snapshot(db, old)[1]) == len(events)


def report(db, item_id, reporter_id, text):
    """A member's report of the item, with their free-text comment."""
    with db.write() as session:
        queue.add_report(session, item_id, queue.NewReport(reporter_id, "spam", text), RULES, NOW)


def report_notes(db, item_id):
    with db.read() as session:
        return [
            (e.reporter_id, e.report_reason, e.note)
            for e in queue.history(session, item_id)
            if e.type == EventType.REPORT.value
        ]


def test_purge_removes_members_report_comments_with_the_text(db):
    """A member's free text in a report is personal text: it goes when the post's text goes,
    under the same rule; who reported and why (the reason) stay, as the scores do."""
    old = put(db, "old", resolved_days_ago=40, note="called them, they are safe now")
    recent = put(db, "recent", resolved_days_ago=5)
    waiting = put(db, "waiting")
    for item_id in (old, recent, waiting):
        report(db, item_id, "m1", "my neighbour Sam wrote this about me")

    assert purge(db, 30, NOW, dry_run=True).items == 1
    assert purge(db, 30, NOW).items == 1
    assert report_notes(db, old) == [("m1", "spam", None)]
    for other in (recent, waiting):
        assert report_notes(db, other) == [("m1", "spam", "my neighbour Sam wrote this about me")]
    events = snapshot(db, old)[1]
    assert "called them, they are safe now" in [e[4] for e in events]  # moderator notes stay
    assert "report" in events[-1][4]  # the text_purged event says report comments went

    # a report that arrives after its item was purged loses its comment at the next purge
    report(db, old, "m2", "posted after the purge")
    assert purge(db, 30, NOW, dry_run=True).items == 1
    assert purge(db, 30, NOW).items == 1
    assert report_notes(db, old) == [("m1", "spam", None), ("m2", "spam", None)]
    assert purge(db, 30, NOW).items == 0  # idempotent


def test_purge_works_in_batches(db, monkeypatch):
    from triage.queue import retention

    monkeypatch.setattr(retention, "BATCH", 2)
    ids = [put(db, f"p{n}", resolved_days_ago=100) for n in range(5)]
    assert purge(db, 30, NOW).items == 5
    with db.read() as session:
        assert all(session.get(Item, i).text is None for i in ids)


def test_purged_items_still_render_and_are_not_exported(db, database_url, tiny_bundle):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    wrong = Outcome.FALSE_POSITIVE  # an outcome that makes a training row
    item_id = put(db, "old", resolved_days_ago=40, outcome=wrong, thread_id="t1")
    put(db, "kept", resolved_days_ago=1, outcome=wrong, thread_id="t1")
    purge(db, 30, NOW)
    with db.read() as session:
        assert [row.id for row in feedback_rows(reviewed_posts(session))] == ["feedback:c:kept"]

    keys = create_keys(database_url)
    settings = Settings(
        bundle_dir=tiny_bundle, database_url=database_url, secret_key=SecretStr("k" * 40)
    )
    with TestClient(create_app(settings), headers=bearer(keys["alice"])) as client:
        body = client.get(f"/v1/items/{item_id}").json()
        assert body["text"] is None and body["parent_text"] is None
        assert body["scores"]["self_harm"] == 0.8 and body["outcome"] == "false_positive"
        assert body["events"][-1]["type"] == "text_purged"
        assert [t["text"] for t in body["thread"]] == [None, "the words of kept"]
        listed = client.get("/v1/queue", params={"status": "resolved"}).json()["items"]
        assert {i["id"]: i["text"] for i in listed}["old"] is None
        # the console shows the item, saying its text was purged
        form = client.get("/sign-in", headers={"accept": "text/html"}).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        client.post("/sign-in", data={"api_key": keys["alice"], "csrf_token": token})
        page = client.get(f"/items/{item_id}", headers={"accept": "text/html"})
        assert page.status_code == 200 and "text purged by the retention policy" in page.text
        # a purged item can be reopened (its text stays purged) and is never re-scored
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        client.post(f"/items/{item_id}/events", data={"type": "reopen", "csrf_token": token})
        assert client.get(f"/v1/items/{item_id}").json()["state"] == "open"
    with db.read() as session:
        assert item_id not in queue.needing_scores(session, NOW, 100)


def test_purge_command(db, database_url, monkeypatch):
    put(db, "old", resolved_days_ago=40)
    put(db, "older", resolved_days_ago=400)
    dry = run_cli("purge", "--days", "30", "--dry-run", "--database", database_url)
    assert dry.exit_code == 0 and "would purge the text of 2 items" in dry.output
    monkeypatch.setenv("TRIAGE_RETENTION_DAYS", "365")
    one = run_cli("purge", "--database", database_url)  # days from the setting
    assert one.exit_code == 0 and "purged the text of 1 items" in one.output
    two = run_cli("purge", "--days", "30", "--database", database_url)
    assert "purged the text of 1 items" in two.output
    monkeypatch.delenv("TRIAGE_RETENTION_DAYS")
    missing = run_cli("purge", "--database", database_url)
    assert missing.exit_code != 0 and "TRIAGE_RETENTION_DAYS" in missing.output
    bad = run_cli("purge", "--days", "0", "--database", database_url)
    assert bad.exit_code != 0 and "0" in bad.output


def test_the_service_purges_on_its_own(db, database_url, tiny_bundle):
    """With TRIAGE_RETENTION_DAYS set the background loop purges (interval shortened here)."""
    import time

    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    item_id = put(db, "old", resolved_days_ago=40)
    settings = Settings(
        bundle_dir=tiny_bundle, database_url=database_url, retention_days=30, purge_interval_s=0.05
    )
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 10
        while snapshot(db, item_id)[0].text is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert snapshot(db, item_id)[0].text is None
        assert context_of(client.app).metrics.purged._value.get() == 1
