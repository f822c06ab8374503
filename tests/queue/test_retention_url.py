"""Retention purges the post's link (items.url, migration 0009) with its text: a link's path
often holds the words of the post's title. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from triage.domain.review import EventType, Outcome, ReviewEvent
from triage.queue import store as queue
from triage.queue.retention import purge
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.tables import Item

RULES = Settings().tier_rules
NOW = datetime.now(UTC)
LINK = "https://forum.example/t/i-cannot-keep-going-tonight/4312"


@pytest.fixture()
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def put_linked(db, external_id: str, resolved_days_ago: float | None) -> int:
    """An item with a link, received 60 days ago; resolved `resolved_days_ago` days ago."""
    received = NOW - timedelta(days=60)
    new = queue.NewItem("c", external_id, f"the words of {external_id}", url=LINK)
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [new], received, RULES)
        view = queue.ModelView("m:1", {"self_harm": 0.8}, ["self_harm"], "red")
        queue.record_scores(session, item.id, view, RULES, received)
        if resolved_days_ago is not None:
            resolve = ReviewEvent(EventType.RESOLVE, "alice", Outcome.SUPPORTED)
            queue.append_event(session, item.id, resolve, NOW - timedelta(days=resolved_days_ago))
        return item.id


def stored(db, item_id: int) -> Item:
    with db.read() as session:
        return queue.get_item(session, item_id)


def purge_events(db, item_id: int) -> list[str]:
    with db.read() as session:
        return [
            e.note or ""
            for e in queue.history(session, item_id)
            if e.type == EventType.TEXT_PURGED.value
        ]


def test_purge_removes_the_link_with_the_text(db):
    old = put_linked(db, "old", resolved_days_ago=40)
    recent = put_linked(db, "recent", resolved_days_ago=5)
    waiting = put_linked(db, "waiting", resolved_days_ago=None)

    assert purge(db, 30, NOW).items == 1
    item = stored(db, old)
    assert item.text is None and item.url is None
    (note,) = purge_events(db, old)
    assert "link" in note
    # only what retention covers: newer and unresolved items keep their link
    assert stored(db, recent).url == LINK and stored(db, waiting).url == LINK


def test_an_item_purged_before_links_were_purged_loses_its_link_once(db):
    """An item whose text was purged by an older release still holds its url: the next purge
    takes it, once; a purge after that changes nothing."""
    old = put_linked(db, "old", resolved_days_ago=40)
    with db.write() as session:  # purged by a release that left the url
        session.get(Item, old).text = None

    assert purge(db, 30, NOW, dry_run=True).items == 1
    assert purge(db, 30, NOW).items == 1
    assert stored(db, old).url is None
    assert purge(db, 30, NOW).items == 0
    assert len(purge_events(db, old)) == 1
