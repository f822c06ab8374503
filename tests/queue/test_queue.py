"""The queue, on SQLite and on PostgreSQL: ingest, events, ranking, paging, stats, auth."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import bearer, create_keys
from tests.service.api.test_service import assert_error_shape
from triage.domain.review import EventType, Outcome, ReviewEvent, TransitionError
from triage.queue import ranking
from triage.queue import store as queue
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.tables import Event, Item

RULES = Settings().tier_rules  # configs/tiers.yaml: SLAs crisis 15, red 60, amber 480 min


@pytest.fixture()
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture()
def queue_app(database_url, tiny_bundle):
    """(client factory, keys): the app on `database_url` with one key per role."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    keys = create_keys(database_url)
    settings = Settings(
        bundle_dir=tiny_bundle,
        database_url=database_url,
        max_items_per_request=8,
        max_text_chars=500,
        scoring_timeout_s=2.0,
    )
    with TestClient(create_app(settings), headers=bearer(keys["alice"])) as client:
        yield client, keys


def ingest(client, keys, *items, **common):
    body = {"items": [{"text": "some words", **common, **item} for item in items]}
    response = client.post("/v1/items", json=body, headers=bearer(keys["platform"]))
    assert response.status_code == 200, response.text
    return response.json()["results"]


def store(db, external_id, tier="green", flags=(), scores=None, waited_minutes=0.0, **fields):
    """An item stored and scored with chosen scores, received `waited_minutes` ago."""
    now = datetime.now(UTC)
    received = now - timedelta(minutes=waited_minutes)
    new = queue.NewItem(fields.pop("community", "c"), external_id, "text", **fields)
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [new], received, RULES)
        view = queue.ModelView("m:1", scores or {"self_harm": 0.1}, list(flags), tier)
        queue.record_scores(session, item.id, view, RULES, received)
        ranking.rank(item, RULES, now)
        return item.id


# --- ingest ----------------------------------------------------------------------------------
def test_ingest_stores_scores_and_logs(queue_app):
    client, keys = queue_app
    (result,) = ingest(client, keys, {"id": "p1", "thread_id": "t1", "community": "c1"})
    assert result["created"] and result["scoring"] == "scored" and result["id"] == "p1"
    assert result["tier"] in {"crisis", "red", "amber", "green"}
    item = client.get(f"/v1/items/{result['item_id']}").json()
    assert item["text"] == "some words" and item["community"] == "c1"
    assert [e["type"] for e in item["events"]] == ["ingested", "scored"]
    assert {e["actor_kind"] for e in item["events"]} == {"system"}
    assert item["events"][1]["model_version"] == "tiny-bundle:0.0.1-test"
    assert item["events"][1]["scores"] == item["scores"]


def test_ingest_is_idempotent_on_community_and_id(queue_app, db):
    client, keys = queue_app
    first = ingest(client, keys, {"id": "p1", "community": "c1"})[0]
    again = ingest(client, keys, {"id": "p1", "community": "c1", "text": "edited text"})[0]
    other = ingest(client, keys, {"id": "p1", "community": "c2"})[0]
    assert first["created"] and not again["created"] and other["created"]
    assert again["item_id"] == first["item_id"] != other["item_id"]
    with db.read() as session:
        assert session.query(Item).count() == 2
        assert session.get(Item, first["item_id"]).text == "some words"  # first write wins


def test_concurrent_ingest_of_one_item_stores_it_once(db):
    new = queue.NewItem("c", "same", "text")
    barrier = threading.Barrier(6)
    created = []

    def worker() -> None:
        barrier.wait()
        with db.write() as session:
            created.extend(
                flag for _, flag in queue.ingest(session, [new], datetime.now(UTC), RULES)
            )

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [False] * 5 + [True]
    with db.read() as session:
        assert session.query(Item).count() == 1


def test_duplicate_in_one_request_is_refused_whole(queue_app, db):
    client, keys = queue_app
    body = {"items": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}
    response = client.post("/v1/items", json=body, headers=bearer(keys["platform"]))
    assert_error_shape(response, 422, "items[1].id")
    with db.read() as session:
        assert session.query(Item).count() == 0  # nothing half-done is stored


def test_scorer_failure_queues_the_item_unscored(queue_app):
    client, keys = queue_app

    def explode(items):
        raise RuntimeError("onnx blew up")

    context_of(client.app).model.scorer.score = explode
    (result,) = ingest(client, keys, {"id": "p1"})
    assert result["created"] and result["scoring"] == "unscored" and result["tier"] is None
    assert result["priority"] >= 60
    page = client.get("/v1/queue", params={"tier": "unscored"}).json()
    assert [i["item_id"] for i in page["items"]] == [result["item_id"]]
    item = client.get(f"/v1/items/{result['item_id']}").json()
    assert [e["type"] for e in item["events"]] == ["ingested", "scoring_failed"]
    assert "RuntimeError" in item["scoring_error"] and "onnx blew up" not in item["scoring_error"]


def test_scorer_timeout_queues_the_item_unscored(queue_app):
    client, keys = queue_app
    real = context_of(client.app).model.scorer.score

    def slow(items):
        time.sleep(5)
        return real(items)

    context_of(client.app).model.scorer.score = slow
    started = time.monotonic()
    (result,) = ingest(client, keys, {"id": "p1"})
    # answered at the 2 s timeout, not after the 5 s scorer (margin for a busy CI machine:
    # 2.97 s was seen with a 3 s scorer and a 2.9 s bound)
    assert time.monotonic() - started < 4.5
    assert result["scoring"] == "unscored"
    item = client.get(f"/v1/items/{result['item_id']}").json()
    assert "longer than 2 s" in item["scoring_error"]


def test_missing_model_still_stores_and_the_retry_scores_later(queue_app, db):
    from triage.service.runtime.background import rescore_once

    client, keys = queue_app
    scorer = context_of(client.app).model.scorer
    context_of(client.app).model.scorer = None
    (result,) = ingest(client, keys, {"id": "p1"})
    assert result["scoring"] == "unscored"
    assert rescore_once(context_of(client.app)) == 0  # no model yet: nothing retried
    context_of(client.app).model.scorer = scorer
    # too fresh: its own ingest may still be scoring it
    assert rescore_once(context_of(client.app)) == 0
    with db.write() as session:  # received long enough ago to be retried
        session.query(Item).filter_by(id=result["item_id"]).update(
            {"received_at": datetime.now(UTC) - timedelta(minutes=5)}
        )
    assert rescore_once(context_of(client.app)) == 1
    item = client.get(f"/v1/items/{result['item_id']}").json()
    assert item["scoring"] == "scored" and item["events"][-1]["type"] == "scored"


# --- events ----------------------------------------------------------------------------------
def test_claim_resolve_and_history(queue_app):
    client, keys = queue_app
    (result,) = ingest(client, keys, {"id": "p1"})
    url = f"/v1/items/{result['item_id']}/events"
    claimed = client.post(url, json={"type": "claim"})
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["item"]["state"] == "claimed"
    assert claimed.json()["item"]["claimed_by"] == "alice"
    taken = client.post(url, json={"type": "claim"}, headers=bearer(keys["bob"]))
    error = assert_error_shape(taken, 409, "state")
    assert error["details"][0]["found"] == "claimed by alice"
    resolved = client.post(url, json={"type": "resolve", "outcome": "supported"})
    assert resolved.json()["item"]["state"] == "resolved"
    item = client.get(f"/v1/items/{result['item_id']}").json()
    person = [e for e in item["events"] if e["actor_kind"] == "person"]
    assert [(e["type"], e["actor"]) for e in person] == [("claim", "alice"), ("resolve", "alice")]
    assert person[1]["outcome"] == "supported" and person[1]["scores"] == item["scores"]
    assert client.get("/v1/queue").json()["items"] == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"type": "resolve"}, 422, "body"),
        ({"type": "resolve", "outcome": "deleted_it"}, 422, "outcome"),
        ({"type": "relabel", "labels": {"rude": 1}}, 422, "body"),
        ({"type": "teleport"}, 422, "type"),
        ({"type": "release"}, 409, "state"),
    ],
)
def test_bad_events_get_clear_errors(queue_app, body, status, field):
    client, keys = queue_app
    (result,) = ingest(client, keys, {"id": "p1"})
    response = client.post(f"/v1/items/{result['item_id']}/events", json=body)
    assert_error_shape(response, status, field)


def test_unknown_item_is_404(queue_app):
    client, _ = queue_app
    assert_error_shape(client.get("/v1/items/999"), 404, "item_id")
    assert_error_shape(client.post("/v1/items/999/events", json={"type": "claim"}), 404)


def test_two_moderators_claiming_at_once_exactly_one_wins(db):
    item_id = store(db, "p1", tier="red", flags=["self_harm"])
    moderators = [f"mod{i}" for i in range(8)]
    barrier = threading.Barrier(len(moderators))
    winners, losers = [], []

    def claim(name: str) -> None:
        barrier.wait()
        try:
            with db.write() as session:
                queue.append_event(
                    session, item_id, ReviewEvent(EventType.CLAIM, name), datetime.now(UTC)
                )
            winners.append(name)
        except TransitionError:
            losers.append(name)

    threads = [threading.Thread(target=claim, args=(name,)) for name in moderators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and len(losers) == len(moderators) - 1
    with db.read() as session:
        item = session.get(Item, item_id)
        claims = session.query(Event).filter_by(item_id=item_id, type="claim").all()
        assert item.claimed_by == winners[0] and [e.actor for e in claims] == winners


# --- ranking and paging ----------------------------------------------------------------------
def test_queue_is_ranked_crisis_red_amber_green(db, queue_app):
    client, _ = queue_app
    store(db, "green", "green", [], {"self_harm": 0.01})
    store(db, "amber", "amber", [], {"self_harm": 0.2, "distress": 0.7})
    store(db, "crisis", "crisis", ["self_harm"], {"self_harm": 0.99})
    store(db, "red", "red", ["self_harm"], {"self_harm": 0.6})
    page = client.get("/v1/queue").json()
    assert [i["id"] for i in page["items"]] == ["crisis", "red", "amber", "green"]
    assert page["items"][0]["reasons"][0] == "tier crisis"
    assert page["items"][0]["sla_minutes"] == 15


def test_amber_does_not_starve_behind_a_flood_of_low_confidence_reds(db, queue_app):
    client, _ = queue_app
    for n in range(60):
        store(db, f"red{n}", "red", ["self_harm"], {"self_harm": 0.5}, waited_minutes=1)
    store(db, "old-amber", "amber", [], {"distress": 0.8}, waited_minutes=10)
    # the amber item has waited 10 minutes of its 8 hours so far: below every red
    ids = [i["id"] for i in client.get("/v1/queue", params={"limit": 61}).json()["items"]]
    assert ids[-1] == "old-amber"
    with db.write() as session:  # now it has waited its whole 8 h SLA
        session.query(Item).filter_by(external_id="old-amber").update(
            {"received_at": datetime.now(UTC) - timedelta(hours=8), "rerank_at": datetime.now(UTC)}
        )
    with db.write() as session:
        assert ranking.refresh_priorities(session, RULES, datetime.now(UTC)) >= 1
    first = client.get("/v1/queue", params={"limit": 5}).json()["items"]
    assert first[0]["id"] == "old-amber"
    assert any("SLA" in reason for reason in first[0]["reasons"])


def test_refresh_reranks_only_items_whose_ageing_moved(db):
    store(db, "a", "red", ["self_harm"], {"self_harm": 0.6})
    with db.write() as session:
        assert ranking.refresh_priorities(session, RULES, datetime.now(UTC)) == 0
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert ranking.refresh_priorities(session, RULES, later) == 1
        item = session.query(Item).one()
        assert item.rerank_at > later


def test_filters(db, queue_app):
    client, _ = queue_app
    store(db, "spam1", "green", ["spam"], {"spam": 0.9}, community="a")
    store(db, "hostile1", "green", ["hostile"], {"hostile": 0.9}, community="b")
    store(db, "red1", "red", ["self_harm"], {"self_harm": 0.7}, community="a")

    def ids(**params):
        response = client.get("/v1/queue", params=params)
        assert response.status_code == 200, response.text
        return sorted(i["id"] for i in response.json()["items"])

    assert ids(community="a") == ["red1", "spam1"]
    assert ids(tier="red") == ["red1"]
    assert ids(label="hostile") == ["hostile1"]
    assert ids(exclude_label=["self_harm", "spam"]) == ["hostile1"]
    assert ids(tier="unscored") == []
    assert ids(status="claimed") == []
    assert_error_shape(client.get("/v1/queue", params={"tier": "purple"}), 422, "tier")
    assert_error_shape(client.get("/v1/queue", params={"label": "rude"}), 422, "label")
    assert_error_shape(client.get("/v1/queue", params={"cursor": "nonsense!"}), 422, "cursor")


def test_cursor_paging_visits_every_item_once_in_order(db, queue_app):
    client, _ = queue_app
    tiers = ["red", "amber", "green"]
    for n in range(23):
        store(db, f"i{n}", tiers[n % 3], [], {"self_harm": (n % 7) / 10}, waited_minutes=n % 4)
    seen, cursor = [], None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/queue", params=params).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(i["id"] for i in seen) == sorted(f"i{n}" for n in range(23))
    keys = [(-i["priority"], i["received_at"], i["item_id"]) for i in seen]
    assert keys == sorted(keys)


def test_uncertain_tier_keeps_its_reason_through_re_ranking(db, queue_app):
    from triage.domain.priority import UNCERTAIN_REASON

    client, _ = queue_app
    now = datetime.now(UTC)
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [queue.NewItem("c", "u1", "text")], now, RULES)
        view = queue.ModelView("m:1", {"self_harm": 0.3}, [], "amber", tier_uncertain=True)
        queue.record_scores(session, item.id, view, RULES, now)
    with db.write() as session:
        assert ranking.refresh_priorities(session, RULES, now + timedelta(hours=1)) == 1
    (listed,) = client.get("/v1/queue").json()["items"]
    assert listed["tier"] == "amber" and UNCERTAIN_REASON in listed["reasons"]


def test_a_withheld_spam_flag_keeps_the_scorers_reason_in_the_queue(db, queue_app):
    """The crisis-resource guard's reason reaches moderators as POST /v1/score gives it, and
    survives re-ranking."""
    from dataclasses import replace

    from triage.scoring.scorer import OnnxScorer

    client, keys = queue_app
    model = context_of(client.app).model
    bundle = model.scorer.bundle
    always_spam = replace(bundle, thresholds={**bundle.thresholds, "spam": 0.0})
    model.scorer = OnnxScorer(always_spam, RULES, evidence=False)
    text = "if anyone's in the UK you can call Samaritans free on 116 123, any time"
    reason = "shares a crisis resource (Samaritans): not flagged as spam"
    body = {"items": [{"id": "s", "text": text}]}
    scored = client.post("/v1/score", json=body, headers=bearer(keys["platform"]))
    assert reason in scored.json()["results"][0]["reasons"]
    (shared, promoted) = ingest(
        client, keys, {"id": "p1", "text": text}, {"id": "p2", "text": "use code HEAL20"}
    )
    item = client.get(f"/v1/items/{shared['item_id']}").json()
    assert "spam" not in item["flags"] and item["reasons"][-1] == reason
    other = client.get(f"/v1/items/{promoted['item_id']}").json()
    assert "spam" in other["flags"] and reason not in other["reasons"]
    with db.write() as session:
        assert ranking.refresh_priorities(session, RULES, datetime.now(UTC) + timedelta(days=1))
    listed = {i["item_id"]: i for i in client.get("/v1/queue").json()["items"]}
    assert reason in listed[shared["item_id"]]["reasons"]


# --- stats -----------------------------------------------------------------------------------
def test_stats(db, queue_app):
    client, _ = queue_app
    store(db, "red-breached", "red", ["self_harm"], {"self_harm": 0.7}, waited_minutes=90)
    store(db, "amber", "amber", [], {"distress": 0.7})
    wrong = store(db, "hostile", "green", ["hostile"], {"hostile": 0.8})
    right = store(db, "spam", "green", ["spam"], {"spam": 0.9})
    now = datetime.now(UTC)
    with db.write() as session:
        for item_id, outcome in ((wrong, Outcome.FALSE_POSITIVE), (right, Outcome.CONFIRMED_SPAM)):
            event = ReviewEvent(EventType.RESOLVE, "alice", outcome=outcome)
            queue.append_event(session, item_id, event, now)
    stats = client.get("/v1/stats").json()
    assert stats["depth"] == {"crisis": 0, "red": 1, "amber": 1, "green": 0, "unscored": 0}
    assert stats["sla_breaches_open"]["red"] == 1 and stats["sla_breaches_open"]["amber"] == 0
    assert stats["resolved"] == 2 and stats["override_rate"] == 0.5
    assert stats["handled"] == 2 and stats["median_minutes_to_first_action"] < 1


# --- roles -----------------------------------------------------------------------------------
def test_every_queue_route_needs_the_right_key(queue_app):
    client, keys = queue_app
    (result,) = ingest(client, keys, {"id": "p1"})
    routes = [
        ("get", "/v1/queue", None, "moderator"),
        ("get", "/v1/stats", None, "moderator"),
        ("get", f"/v1/items/{result['item_id']}", None, "moderator"),
        ("post", f"/v1/items/{result['item_id']}/events", {"type": "comment"}, "moderator"),
        ("post", "/v1/items", {"items": [{"id": "x", "text": "y"}]}, "platform"),
        ("post", "/v1/score", {"items": [{"id": "x", "text": "y"}]}, "platform"),
    ]
    for method, path, body, role in routes:
        kwargs = {"json": body} if body else {}
        anonymous = client.request(method, path, headers={"Authorization": ""}, **kwargs)
        assert_error_shape(anonymous, 401, "Authorization")
        forged = client.request(method, path, headers=bearer("trg_0000_nope"), **kwargs)
        assert_error_shape(forged, 401, "Authorization")
        wrong = keys["alice"] if role == "platform" else keys["platform"]
        assert_error_shape(client.request(method, path, headers=bearer(wrong), **kwargs), 403)
        for allowed in (keys["alice"] if role == "moderator" else keys["platform"], keys["admin"]):
            response = client.request(method, path, headers=bearer(allowed), **kwargs)
            assert response.status_code < 300, (path, response.text)
