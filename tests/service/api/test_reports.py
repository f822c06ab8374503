"""Member reports (issue 14, point 1): POST /v1/reports, their events, their weight in the
ranking, the reporters' records, and the queue filters, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.conftest import TIER_RULES, bearer, create_keys
from tests.service.api.test_service import assert_error_shape
from triage.domain.labels import Tier
from triage.domain.priority import (
    MemberReports,
    compute_priority,
    report_points,
    report_reason,
)
from triage.domain.reports import ReportRules, reporter_weight
from triage.domain.review import EventType, Outcome, ReviewEvent
from triage.queue import ranking
from triage.queue import store as queue
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.tables import Event, Reporter

RULES = Settings().tier_rules
POINTS = RULES.priority
REASONS = ("bullying", "harassment", "self_harm_concern", "spam", "other")


@pytest.fixture()
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture()
def report_app(database_url, tiny_bundle):
    """(client, keys): the app on `database_url`, sending the moderator alice's key."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    keys = create_keys(database_url)
    settings = Settings(
        bundle_dir=tiny_bundle,
        database_url=database_url,
        max_text_chars=500,
        scoring_timeout_s=2.0,
    )
    with TestClient(create_app(settings), headers=bearer(keys["alice"])) as client:
        yield client, keys


def store(db, external_id, tier="green", flags=(), scores=None, community="c") -> int:
    """An item stored and scored with chosen scores, received now."""
    now = datetime.now(UTC)
    with db.write() as session:
        ((item, _),) = queue.ingest(
            session, [queue.NewItem(community, external_id, "text")], now, TIER_RULES
        )
        view = queue.ModelView("m:1", scores or {"self_harm": 0.01}, list(flags), tier)
        queue.record_scores(session, item.id, view, RULES, now)
        return item.id


def report(client, keys, item_id, reporter="m1", reason="bullying", community="c", **more):
    body = {"community": community, "item_id": item_id, "reporter_id": reporter, "reason": reason}
    return client.post("/v1/reports", json={**body, **more}, headers=bearer(keys["platform"]))


def reported(client, keys, *args, **kwargs) -> dict:
    response = report(client, keys, *args, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def queued(client, item_id: int) -> dict:
    items = client.get("/v1/queue", params={"limit": 200}).json()["items"]
    (found,) = [i for i in items if i["item_id"] == item_id]
    return found


def resolve(db, item_id: int, outcome: Outcome) -> None:
    with db.write() as session:
        event = ReviewEvent(EventType.RESOLVE, "alice", outcome=outcome)
        queue.append_event(session, item_id, event, datetime.now(UTC))


# --- the pure parts --------------------------------------------------------------------------
def test_reporter_weight_is_laplace_smoothed():
    assert reporter_weight(0, 0) == 0.5
    assert reporter_weight(1, 0) == pytest.approx(2 / 3)
    assert reporter_weight(0, 1) == pytest.approx(1 / 3)
    assert reporter_weight(9, 0) == pytest.approx(10 / 11)


def test_report_points_grow_with_weight_up_to_the_cap():
    assert report_points(None, points=POINTS) == 0
    assert report_points(MemberReports(1, {"spam": 1}, 0.5), points=POINTS) == 5
    assert report_points(MemberReports(2, {"spam": 2}, 1.0), points=POINTS) == 10
    assert (
        report_points(MemberReports(9, {"spam": 9}, 4.5), points=POINTS)
        == POINTS.report_points_cap
        == 15
    )
    assert report_points(MemberReports(1, {"spam": 1}, float("nan")), points=POINTS) == 0


def test_reports_add_points_and_their_own_reason_but_never_change_flags_or_tier():
    plain = compute_priority(Tier.GREEN, ["hostile"], {"hostile": 0.9}, points=POINTS)
    reports = MemberReports(3, {"bullying": 2, "spam": 1}, 1.5)
    with_reports = compute_priority(
        Tier.GREEN, ["hostile"], {"hostile": 0.9}, reports=reports, points=POINTS
    )
    assert with_reports.value == plain.value + 15
    assert with_reports.reasons == (*plain.reasons, "reported by 3 members: bullying (2), spam")
    assert report_reason(MemberReports(1, {"other": 1}, 0.5)) == "reported by 1 member: other"


def test_shipped_reasons_config_loads_and_refuses_bad_names(tmp_path):
    assert Settings().report_rules.reasons == REASONS
    bad = tmp_path / "reports.yaml"
    bad.write_text("reasons: [Bullying, spam]\n")
    with pytest.raises(ValueError, match="lower_snake_case"):
        ReportRules.load(bad)


def test_a_report_event_needs_its_reporter_and_reason():
    with pytest.raises(ValueError, match="reporter_id"):
        ReviewEvent(EventType.REPORT, "platform")
    with pytest.raises(ValueError, match="only report events"):
        ReviewEvent(EventType.COMMENT, "alice", reporter_id="m1")


# --- the API ---------------------------------------------------------------------------------
def test_report_of_an_ingested_item(db, report_app):
    client, keys = report_app
    item_id = store(db, "p1", "green", ["hostile"], {"hostile": 0.9})
    before = queued(client, item_id)
    result = reported(client, keys, "p1", text="they keep\x00 picking on her")
    assert result["item_id"] == item_id and result["created"] and not result["item_created"]
    assert result["reports"] == {"count": 1, "reasons": {"bullying": 1}, "weight": 0.5}
    assert result["text_repairs"] == ["text: 1 NUL replaced"]
    after = queued(client, item_id)
    # more urgent, with its own reason and output; the model's view and the text unchanged
    assert after["priority"] == before["priority"] + 5
    assert after["reasons"] == [*before["reasons"], "reported by 1 member: bullying"]
    assert after["reports"] == result["reports"]
    for unchanged in ("tier", "flags", "scores", "text", "state"):
        assert after[unchanged] == before[unchanged]
    item = client.get(f"/v1/items/{item_id}").json()
    event = item["events"][-1]
    assert event["type"] == "report" and event["actor"] == "platform"
    assert event["actor_key_id"] is not None and event["actor_kind"] == "member"
    assert event["reporter_id"] == "m1" and event["report_reason"] == "bullying"
    assert event["note"] == "they keep\ufffd picking on her"


def test_report_with_the_post_stores_and_scores_it(report_app):
    client, keys = report_app
    post = {"text": "you are a pathetic idiot, shut up", "thread_id": "t1", "author_id": "a9"}
    result = reported(client, keys, "new-post", post=post)
    assert result["item_created"] and result["created"] and result["scoring"] == "scored"
    item = client.get(f"/v1/items/{result['item_id']}").json()
    assert item["text"] == post["text"] and item["thread_id"] == "t1"
    assert [e["type"] for e in item["events"]] == ["ingested", "report", "scored"]
    assert item["reports"]["count"] == 1
    assert "reported by 1 member: bullying" in item["reasons"]  # kept through scoring
    # the post again, from another member: the stored item is reported, not stored again
    again = reported(client, keys, "new-post", reporter="m2", post={"text": "something else"})
    assert again["item_id"] == result["item_id"] and not again["item_created"]
    assert again["reports"]["count"] == 2
    assert client.get(f"/v1/items/{result['item_id']}").json()["text"] == post["text"]


def test_report_with_the_post_queues_it_unscored_when_the_model_fails(report_app):
    client, keys = report_app

    def explode(items):
        raise RuntimeError("onnx blew up")

    context_of(client.app).model.scorer.score = explode
    result = reported(client, keys, "p-unscored", reason="self_harm_concern", post={"text": "hi"})
    assert result["item_created"] and result["scoring"] == "unscored" and result["tier"] is None
    listed = queued(client, result["item_id"])
    assert listed["priority"] == 60 + 5
    assert "reported by 1 member: self_harm_concern" in listed["reasons"]


def test_unknown_item_is_404(db, report_app):
    client, keys = report_app
    store(db, "p1", community="c")
    assert_error_shape(report(client, keys, "nope"), 404, "item_id")
    assert_error_shape(report(client, keys, "p1", community="other"), 404, "item_id")


def test_bad_reports_are_422_in_the_error_shape(db, report_app):
    client, keys = report_app
    store(db, "p1")
    error = assert_error_shape(report(client, keys, "p1", reason="rude"), 422, "reason")
    (detail,) = error["details"]
    assert all(reason in detail["expected"] for reason in REASONS)
    assert_error_shape(report(client, keys, "p1", text="x" * 2001), 422, "text")
    assert_error_shape(report(client, keys, "p2", post={"text": "  "}), 422, "post.text")
    assert_error_shape(report(client, keys, "p1", reporter=""), 422)
    assert_error_shape(report(client, keys, "p1", post={"text": "t", "id": "p1"}), 422)
    body = {"item_id": "p1", "reporter_id": "m1", "reason": "spam", "extra": 1}
    assert_error_shape(client.post("/v1/reports", json=body, headers=bearer(keys["platform"])), 422)
    with db.read() as session:
        assert queue.find_item(session, "c", "p1").report_count == 0
        with pytest.raises(queue.ItemNotFound):
            queue.find_item(session, "c", "p2")


def test_a_second_report_by_the_same_member_counts_once(db, report_app):
    client, keys = report_app
    item_id = store(db, "p1")
    first = reported(client, keys, "p1", reporter="m1", reason="bullying")
    second = reported(client, keys, "p1", reporter="m1", reason="spam")
    assert first["created"] and not second["created"]
    assert second["reports"] == first["reports"]
    other = reported(client, keys, "p1", reporter="m2", reason="spam")
    assert other["reports"] == {"count": 2, "reasons": {"bullying": 1, "spam": 1}, "weight": 1.0}
    events = client.get(f"/v1/items/{item_id}").json()["events"]
    assert [e["reporter_id"] for e in events if e["type"] == "report"] == ["m1", "m2"]


def test_priority_rises_with_reports_up_to_the_cap(db, report_app):
    client, keys = report_app
    item_id = store(db, "p1")  # green, unflagged: priority 5
    assert queued(client, item_id)["priority"] == 5
    seen = []
    for n, reason in enumerate(["bullying", "bullying", "spam", "other", "harassment"]):
        seen.append(reported(client, keys, "p1", reporter=f"m{n}", reason=reason)["priority"])
    assert seen == [10, 15, 20, 20, 20]
    listed = queued(client, item_id)
    assert listed["state"] == "open" and listed["tier"] == "green"
    assert "reported by 5 members: bullying (2), harassment, other, spam" in listed["reasons"]


def test_a_reported_item_stays_ranked_through_re_ranking(db, report_app):
    client, keys = report_app
    item_id = store(db, "p1", "amber", [], {"distress": 0.8})
    priority = reported(client, keys, "p1")["priority"]
    with db.write() as session:
        later = datetime.now(UTC) + timedelta(minutes=30)
        assert ranking.refresh_priorities(session, RULES, later) == 1
    listed = queued(client, item_id)
    assert listed["priority"] > priority and "reported by 1 member: bullying" in listed["reasons"]


def test_reporter_history_weighs_their_next_reports(db, report_app):
    client, keys = report_app
    for name in ("a1", "a2", "b1", "b2", "c1"):
        store(db, name)
    reported(client, keys, "a1", reporter="good")
    reported(client, keys, "b1", reporter="poor")
    a1, b1 = (queue_id(db, name) for name in ("a1", "b1"))
    resolve(db, a1, Outcome.CONFIRMED_HOSTILE)  # upheld
    resolve(db, b1, Outcome.NO_ACTION)  # rejected
    assert record(db, "good") == (1, 0) and record(db, "poor") == (0, 1)
    good = reported(client, keys, "a2", reporter="good")
    poor = reported(client, keys, "b2", reporter="poor")
    assert good["reports"]["weight"] == pytest.approx(2 / 3, abs=1e-4)
    assert poor["reports"]["weight"] == pytest.approx(1 / 3, abs=1e-4)
    assert (good["priority"], poor["priority"]) == (5 + 7, 5 + 3)
    # a reopen takes the credit back, and the next resolution counts instead
    with db.write() as session:
        queue.append_event(session, a1, ReviewEvent(EventType.REOPEN, "bob"), datetime.now(UTC))
    assert record(db, "good") == (0, 0)
    resolve(db, a1, Outcome.FALSE_POSITIVE)
    assert record(db, "good") == (0, 1)
    assert reported(client, keys, "c1", reporter="good")["priority"] == 5 + 3


def queue_id(db, external_id: str) -> int:
    with db.read() as session:
        return queue.find_item(session, "c", external_id).id


def record(db, reporter_id: str) -> tuple[int, int]:
    with db.read() as session:
        row = session.get(Reporter, ("c", reporter_id))
        return (row.upheld, row.rejected) if row else (0, 0)


def test_a_report_on_a_resolved_item_is_recorded_but_leaves_it_resolved(db, report_app):
    client, keys = report_app
    item_id = store(db, "p1")
    resolve(db, item_id, Outcome.NO_ACTION)
    result = reported(client, keys, "p1")
    assert result["created"] and result["reports"]["count"] == 1
    item = client.get(f"/v1/items/{item_id}").json()
    assert item["state"] == "resolved" and item["text"] == "text"
    assert record(db, "m1") == (0, 0)  # not credited for a decision made before it reported


def test_queue_filters_by_reported_and_reason(db, report_app):
    client, keys = report_app
    for name in ("bullied", "spammy", "quiet"):
        store(db, name)
    reported(client, keys, "bullied", reason="bullying")
    reported(client, keys, "bullied", reporter="m2", reason="harassment")
    reported(client, keys, "spammy", reason="spam")

    def ids(**params):
        response = client.get("/v1/queue", params=params)
        assert response.status_code == 200, response.text
        return sorted(i["id"] for i in response.json()["items"])

    assert ids(reported="true") == ["bullied", "spammy"]
    assert ids(reported="false") == ["quiet"]
    assert ids(report_reason="harassment") == ["bullied"]
    assert ids(report_reason="spam", reported="true") == ["spammy"]
    assert ids(report_reason="spam", reported="false") == []
    assert ids(report_reason="self_harm_concern") == []
    error = assert_error_shape(client.get("/v1/queue", params={"report_reason": "x"}), 422)
    assert "bullying" in error["details"][0]["expected"]
    assert_error_shape(client.get("/v1/queue", params={"reported": "maybe"}), 422)


def test_roles(db, report_app):
    client, keys = report_app
    item_id = store(db, "p1")
    body = {"community": "c", "item_id": "p1", "reporter_id": "m1", "reason": "spam"}
    assert_error_shape(client.post("/v1/reports", json=body, headers=bearer(keys["alice"])), 403)
    anonymous = client.post("/v1/reports", json=body, headers={"Authorization": ""})
    assert_error_shape(anonymous, 401, "Authorization")
    assert client.post("/v1/reports", json=body, headers=bearer(keys["admin"])).status_code == 200
    # nor may a moderator append a report event on the events route: it is triage's own record
    sent = client.post(f"/v1/items/{item_id}/events", json={"type": "report"})
    assert_error_shape(sent, 422)


# --- schema ----------------------------------------------------------------------------------
def test_reported_index_keeps_priority_descending(database_url):
    from sqlalchemy import text

    database = Database(database_url)
    query = (
        "SELECT sql FROM sqlite_master WHERE name = 'ix_items_reported'"
        if database.is_sqlite
        else "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_items_reported'"
    )
    with database.engine.connect() as connection:
        (definition,) = [row[0] for row in connection.execute(text(query))]
    database.dispose()
    assert "priority DESC" in definition and "report_count > 0" in definition


# --- the console -----------------------------------------------------------------------------
@pytest.fixture()
def console_app(tmp_path):
    """(client, keys, database): the console on a fresh SQLite file, without a model."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    url = f"sqlite:///{tmp_path / 'console.db'}"
    keys = create_keys(url)
    settings = Settings(bundle_dir=tmp_path / "no-model", database_url=url, secret_key="k" * 40)
    with TestClient(create_app(settings)) as client:
        yield client, keys, context_of(client.app).database


def test_console_shows_reports_apart_from_flags_and_filters_on_them(console_app):
    from tests.service.console.test_console import HTML, row_ids, sign_in

    client, keys, database = console_app
    reported_id = store(database, "p1", "green", ["hostile"], {"hostile": 0.9})
    quiet_id = store(database, "p2")
    for reporter, reason in (("m1", "bullying"), ("m2", "bullying"), ("m3", "spam")):
        reported(client, keys, "p1", reporter=reporter, reason=reason)
    sign_in(client, keys["alice"])
    page = client.get("/", headers=HTML).text
    assert row_ids(page) == [reported_id, quiet_id]
    assert page.count('data-testid="reported"') == 1 and "reported (3)" in page
    assert row_ids(client.get("/", params={"reported": "true"}, headers=HTML).text) == [reported_id]
    item = client.get(f"/items/{reported_id}", headers=HTML).text
    shown = item.split('data-testid="item-reports">')[1].split("<span")[0]
    assert shown == "Reported by 3 members: bullying (2), spam "
    assert 'data-testid="item-text">text</p>' in item  # the text, as stored: nothing hidden


def test_a_reopen_takes_back_only_the_credit_its_resolution_gave(db, report_app):
    """A report whose time is earlier than the resolution but which was written after it (it
    waited for the item's lock, or came from a replica with a slower clock) was never credited,
    so a reopen must not take credit from its member."""
    client, keys = report_app
    for name in ("q1", "p1"):
        store(db, name)
    reported(client, keys, "q1", reporter="late")
    resolve(db, queue_id(db, "q1"), Outcome.CONFIRMED_HOSTILE)
    assert record(db, "late") == (1, 0)
    p1 = queue_id(db, "p1")
    resolve(db, p1, Outcome.CONFIRMED_HOSTILE)
    reported(client, keys, "p1", reporter="late")  # after the resolution: not credited
    with db.write() as session:  # ...but stamped before it, as a slower clock would
        session.execute(
            update(Event)
            .where(Event.item_id == p1, Event.type == EventType.REPORT.value)
            .values(created_at=datetime.now(UTC) - timedelta(hours=1))
        )
    with db.write() as session:
        queue.append_event(session, p1, ReviewEvent(EventType.REOPEN, "bob"), datetime.now(UTC))
    assert record(db, "late") == (1, 0)
