"""Context for a decision on the item page (issue 14, point 4): the author's other recent items
with a repeat-risk note, the thread around the item, the link to the post on the platform, and
the audit trail in plain words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.conftest import bearer
from tests.service.api.test_service import assert_error_shape
from tests.service.console import test_console
from tests.service.console.test_console import HTML, SCORES, act, put, sign_in
from triage.domain.review import EventType, Outcome, ReviewEvent
from triage.queue import item_context
from triage.queue import store as queue
from triage.queue.item_context import RepeatRisk
from triage.service.console.decision_context import (
    audit_trail,
    event_words,
    post_link,
    repeat_risk_note,
    when,
)
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.tables import Item

RULES = Settings().tier_rules
console = test_console.console  # the fixture: the app on SQLite, no model
NOW = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)


@pytest.fixture()
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def store(db, external_id, tier="green", flags=(), *, at=NOW, community="c", **fields) -> int:
    """An item received at `at` and scored as told."""
    new = queue.NewItem(community, external_id, f"words of {external_id}", **fields)
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [new], at, RULES)
        view = queue.ModelView("m:1", SCORES[tier], list(flags), tier)
        queue.record_scores(session, item.id, view, RULES, at)
        return item.id


def resolve(db, item_id, outcome: Outcome, at=NOW) -> None:
    with db.write() as session:
        queue.append_event(session, item_id, ReviewEvent(EventType.RESOLVE, "sam", outcome), at)


def history_of(db, item_id, now=NOW):
    with db.read() as session:
        return item_context.author_history(session, queue.get_item(session, item_id), now)


# --- the author's other recent items (storage, SQLite and PostgreSQL) -------------------------
def test_author_history_lists_only_the_same_authors_other_items_most_recent_first(db):
    days = [timedelta(days=n) for n in range(5)]
    older = store(db, "a1", "amber", author_id="u1", at=NOW - days[3])
    newer = store(db, "a2", "green", author_id="u1", at=NOW - days[1])
    store(db, "x1", "red", author_id="u2", at=NOW - days[1])  # someone else
    store(db, "x2", "red", author_id="u1", community="other", at=NOW - days[1])  # elsewhere
    store(db, "x3", "red", at=NOW - days[1])  # no author id
    this = store(db, "a3", "amber", author_id="u1")

    history = history_of(db, this)
    assert history.author_id == "u1"
    assert [row.id for row in history.items] == [newer, older] and not history.more
    assert not history.repeat_risk.present  # amber and green only

    anonymous_id = store(db, "anon", "red")
    with db.read() as session:
        item = queue.get_item(session, this)
        limited = item_context.author_history(session, item, NOW, limit=1)
        assert [row.id for row in limited.items] == [newer] and limited.more
        anonymous = queue.get_item(session, anonymous_id)
        assert item_context.author_history(session, anonymous, NOW) is None


def test_repeat_risk_counts_recent_crisis_red_and_self_harm_outcomes(db):
    store(db, "r-recent", "red", ["self_harm"], author_id="u1", at=NOW - timedelta(days=3))
    store(db, "c-recent", "crisis", ["self_harm"], author_id="u1", at=NOW - timedelta(days=29))
    store(db, "r-old", "red", ["self_harm"], author_id="u1", at=NOW - timedelta(days=40))
    old_case = store(db, "g-old", "green", author_id="u1", at=NOW - timedelta(days=50))
    resolve(db, old_case, Outcome.ESCALATED_TO_CRISIS_TEAM, NOW - timedelta(days=2))
    distress = store(db, "amber", "amber", author_id="u1", at=NOW - timedelta(days=5))
    resolve(db, distress, Outcome.SUPPORTED, NOW - timedelta(days=4))  # not self-harm
    flagged = store(db, "flag", "amber", ["self_harm"], author_id="u1", at=NOW - timedelta(days=5))
    resolve(db, flagged, Outcome.SUPPORTED, NOW - timedelta(days=4))
    long_ago = store(db, "gone", "amber", ["self_harm"], author_id="u1", at=NOW - timedelta(60))
    resolve(db, long_ago, Outcome.SUPPORTED, NOW - timedelta(days=45))
    this = store(db, "this", "red", ["self_harm"], author_id="u1")  # not counted: the item itself

    risk = history_of(db, this).repeat_risk
    assert (risk.high_risk_items, risk.self_harm_outcomes, risk.days) == (2, 2, 30)
    assert risk.present
    assert not history_of(db, this, NOW + timedelta(days=60)).repeat_risk.present

    reopened = store(db, "again", "green", author_id="u2", at=NOW - timedelta(days=1))
    resolve(db, reopened, Outcome.ESCALATED_TO_CRISIS_TEAM, NOW - timedelta(hours=20))
    with db.write() as session:
        queue.append_event(session, reopened, ReviewEvent(EventType.REOPEN, "sam"), NOW)
    other = store(db, "other", "green", author_id="u2")
    assert not history_of(db, other).repeat_risk.present  # reopened: no outcome stands


# --- the thread around the item (storage, SQLite and PostgreSQL) ------------------------------
def test_thread_around_keeps_the_parent_the_neighbours_and_replies_without_a_thread_id(db):
    hour = timedelta(hours=1)
    parent = store(db, "p", thread_id="t", at=NOW - 20 * hour)
    early = [store(db, f"e{n}", thread_id="t", at=NOW - (10 - n) * hour) for n in range(5)]
    this = store(db, "me", thread_id="t", parent_external_id="p", at=NOW - 4 * hour)
    reply = store(db, "reply", parent_external_id="me", at=NOW - 2 * hour)  # no thread id
    minute = timedelta(minutes=1)
    late = [store(db, f"l{n}", thread_id="t", at=NOW - hour + n * minute) for n in range(3)]
    store(db, "elsewhere", thread_id="t", community="other", at=NOW - 3 * hour)
    lone_id = store(db, "lone")

    with db.read() as session:
        item = queue.get_item(session, this)
        view = item_context.thread_around(session, item, before=2, after=2)
        ids = [row.id for row in view.items]
        assert ids == [parent, early[3], early[4], this, reply, late[0]]
        assert view.earlier_left_out and view.later_left_out
        whole = item_context.thread_around(session, item)
        assert [row.id for row in whole.items] == [parent, *early, this, reply, *late]
        assert not whole.earlier_left_out and not whole.later_left_out
        lone = queue.get_item(session, lone_id)
        assert [row.id for row in item_context.thread_around(session, lone).items] == [lone.id]


# --- plain words -----------------------------------------------------------------------------
class Ev:
    def __init__(self, type, actor="sam", at=NOW, **fields):
        self.type, self.actor, self.created_at = type, actor, at
        self.outcome = fields.get("outcome")
        self.labels = fields.get("labels")
        self.tier = fields.get("tier")
        self.report_reason = fields.get("report_reason")


def test_events_read_as_plain_words():
    at = NOW.replace(hour=14, minute=2)
    assert when(at, NOW) == "at 14:02"
    assert when(at - timedelta(days=2), NOW) == "on 8 Dec at 14:02"
    assert when(at - timedelta(days=400), NOW) == "on 5 Nov 2025 at 14:02"
    assert event_words(Ev("claim", at=at), NOW) == "Claimed by sam at 14:02"
    assert event_words(Ev("escalate", "kim", at), NOW) == "Escalated by kim at 14:02"
    resolved = Ev("resolve", at=at, outcome="escalated_to_crisis_team")
    assert event_words(resolved, NOW) == "Resolved by sam at 14:02: escalated to the crisis team"
    relabel = Ev("relabel", at=at, labels={"self_harm": 1, "hostile": 0})
    assert event_words(relabel, NOW) == "Relabelled by sam at 14:02: hostile no, self harm yes"
    scored = Ev("scored", "triage", at, tier="red")
    assert event_words(scored, NOW) == "Scored red by the model at 14:02"
    assert event_words(Ev("something_new", at=at), NOW) == "Something new by sam at 14:02"

    reports = [
        Ev("report", "forum", at, report_reason="bullying"),
        Ev("report", "forum", at + timedelta(minutes=9), report_reason="bullying"),
        Ev("report", "forum", at + timedelta(minutes=10), report_reason="spam"),
    ]
    lines = audit_trail([Ev("ingested", "triage", at), *reports, Ev("claim", at=at)], NOW)
    assert lines == [
        "Received at 14:02",
        "Reported by 3 members: bullying (2), spam — at 14:02, the last at 14:12",
        "Claimed by sam at 14:02",
    ]
    assert audit_trail([reports[0]], NOW) == ["Reported by 1 member: bullying — at 14:02"]


def test_the_repeat_risk_note_counts_in_words():
    assert repeat_risk_note(RepeatRisk(0, 0, 30)) is None
    assert repeat_risk_note(RepeatRisk(2, 0, 30)).startswith(
        "Repeat risk: this author has 2 other crisis or red items in the last 30 days."
    )
    both = repeat_risk_note(RepeatRisk(1, 3, 30))
    assert "1 other crisis or red item and 3 items resolved as self-harm" in both


def test_only_plain_http_links_are_shown():
    assert post_link("https://forum.example.org/t/42#p7").host == "forum.example.org"
    assert post_link("http://forum.example.org/p/1").host == "forum.example.org"
    for unsafe in (
        None,
        "",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " https://forum.example.org/",
        "data:text/html,hi",
        "https://forum.example.org@evil.example/",
        "https:///no-host",
        "https://forum.example.org:99999/",
        "https://forum.example.org/\u202egnp.exe",
        "https://forum.example.org/a b",
        "https://forum.example.org/" + "x" * 2000,
    ):
        assert post_link(unsafe) is None, unsafe


# --- ingest: the url field -------------------------------------------------------------------
def test_ingest_stores_an_http_url_and_refuses_others_with_the_json_error(console):
    client, keys, db = console
    platform = bearer(keys["platform"])
    post = {"id": "p1", "community": "c", "text": "hello", "url": "https://forum.example.org/p/1"}
    reply = client.post("/v1/items", json={"items": [post]}, headers=platform)
    assert reply.status_code == 200, reply.text
    item_id = reply.json()["results"][0]["item_id"]
    stored = client.get(f"/v1/items/{item_id}", headers=bearer(keys["alice"])).json()
    assert stored["url"] == "https://forum.example.org/p/1"

    for bad in ("javascript:alert(document.cookie)", "https://x.example/" + "a" * 2000, 7):
        body = {"items": [{**post, "id": "p2", "url": bad}]}
        error = assert_error_shape(client.post("/v1/items", json=body, headers=platform), 422)
        (detail,) = error["details"]
        assert detail["field"] == "items[0].url"
        if isinstance(bad, str):
            assert "http:// or https://" in detail["expected"]
            assert "alert" not in str(error)  # the value is described, never echoed
    with db.read() as session:
        assert session.query(Item).filter(Item.external_id == "p2").count() == 0

    report = {
        "community": "c",
        "item_id": "p3",
        "reporter_id": "m1",
        "reason": "spam",
        "post": {"text": "buy now", "url": "javascript:void(0)"},
    }
    reply = client.post("/v1/reports", json=report, headers=platform)
    assert_error_shape(reply, 422, "post.url")
    report["post"]["url"] = "https://forum.example.org/p/3"
    assert client.post("/v1/reports", json=report, headers=platform).status_code in (200, 201)
    with db.read() as session:
        assert queue.find_item(session, "c", "p3").url == "https://forum.example.org/p/3"


# --- the item page ---------------------------------------------------------------------------
def _section(page: str, testid: str) -> str:
    found = re.search(rf'<(\w+)[^>]* data-testid="{testid}".*?</\1>', page, re.S)
    assert found, f"no {testid} on the page"
    return found.group(0)


def test_item_page_shows_the_authors_other_items_and_the_repeat_risk_note(console):
    client, keys, db = console
    earlier = put(db, "old", "crisis", ["self_harm"], author_id="u9")
    resolve(db, earlier, Outcome.ESCALATED_TO_CRISIS_TEAM, datetime.now(UTC))
    amber = put(db, "mid", "amber", ["distress"], author_id="u9")
    put(db, "someone-else", "red", ["self_harm"], author_id="u8")
    this = put(db, "now", "amber", author_id="u9", url="https://forum.example.org/p/now")
    sign_in(client, keys["alice"])
    page = client.get(f"/items/{this}", headers=HTML).text

    authors = _section(page, "author-items")
    assert re.findall(r'data-author-item="(\d+)"', authors) == [str(amber), str(earlier)]
    assert "resolved: escalated to the crisis team" in authors
    assert 'class="tier tier-crisis">Crisis' in authors and "distress" in authors
    note = _section(page, "repeat-risk")
    assert "1 other crisis or red item and 1 item resolved as self-harm (supported" in note
    assert "last 30 days" in note

    link = re.search(r'<a href="([^"]+)" rel="([^"]+)" target="_blank" data-testid="post-', page)
    assert link and link.group(1) == "https://forum.example.org/p/now"
    assert link.group(2) == "noopener noreferrer nofollow"
    assert "Open the post on forum.example.org" in page

    calm = put(db, "calm", "green", author_id="u7")
    page = client.get(f"/items/{calm}", headers=HTML).text
    assert 'data-testid="repeat-risk"' not in page and 'data-testid="post-link"' not in page
    assert "No other items by this author (u7) are stored." in page
    anonymous = put(db, "anon", "green")
    page = client.get(f"/items/{anonymous}", headers=HTML).text
    assert "The platform sent no author id with this post." in page


def test_a_stored_link_that_is_not_plain_http_is_not_shown(console):
    client, keys, db = console
    item_id = put(db, "sneaky", "green")
    with db.write() as session:  # written around the API's check
        session.execute(update(Item).where(Item.id == item_id).values(url="javascript:alert(1)"))
    sign_in(client, keys["alice"])
    page = client.get(f"/items/{item_id}", headers=HTML).text
    assert "javascript:" not in page and 'data-testid="post-link"' not in page


def test_item_page_thread_shows_parent_and_replies_blurring_risky_text(console):
    client, keys, db = console
    parent = put(db, "p", "green", text="any tips for sleeping?", thread_id="t")
    this = put(db, "me", "amber", text="I can't sleep", thread_id="t", parent_external_id="p")
    reply = put(db, "re", "red", ["self_harm"], text="I have the pills", parent_external_id="me")
    sign_in(client, keys["alice"])
    thread = _section(client.get(f"/items/{this}", headers=HTML).text, "thread")
    assert f'href="/items/{parent}"' in thread and f'href="/items/{reply}"' in thread
    assert '<span class="relation">replied to</span>' in thread
    assert '<span class="relation">reply</span>' in thread
    shown = re.search(rf'<div class="plain-body" id="thread-{parent}">(.*?)</div>', thread, re.S)
    assert shown and "any tips for sleeping?" in shown.group(1)
    hidden = re.search(rf'id="thread-{reply}" aria-hidden="true" inert>(.*?)</div>', thread, re.S)
    assert hidden and "I have the pills" in hidden.group(1)
    assert "Hidden: red-tier self-harm risk." in thread


def test_item_page_tells_the_audit_trail_in_plain_words(console):
    client, keys, db = console
    item_id = put(db, "x", "red", ["self_harm"])
    with db.write() as session:
        for member in ("m1", "m2"):
            report = queue.NewReport(member, "bullying", actor="forum")
            queue.add_report(session, item_id, report, RULES, datetime.now(UTC))
    token = sign_in(client, keys["alice"])
    assert act(client, token, item_id, "claim").status_code == 303
    assert act(client, token, item_id, "escalate").status_code == 303
    page = client.get(f"/items/{item_id}", headers=HTML).text
    trail = re.findall(r"<li>(.*?)</li>", _section(page, "audit-trail"))
    clock = r"at \d\d:\d\d"
    expected = [
        rf"Received {clock}",
        rf"Scored red by the model {clock}",
        rf"Reported by 2 members: bullying — {clock}(, the last {clock})?",
        rf"Claimed by alice {clock}",
        rf"Escalated by alice {clock}",
    ]
    assert len(trail) == len(expected), trail
    for line, pattern in zip(trail, expected, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
