"""Corumination in the queue: a scored reply in a thread carries its thread's score, computed
from the stored items with the code of POST /v1/threads/score, and a reason line when flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import bearer, create_keys
from tests.scoring.test_threads import bundle_with_corumination_head
from triage.queue import ranking
from triage.queue import store as queue
from triage.queue.thread_scoring import record_thread_scores
from triage.scoring.threads import Turn, score_thread
from triage.settings import Settings
from triage.storage.database import Database

RULES = Settings().tier_rules


@pytest.fixture()
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


OPENING = "lost my job today and I feel awful about it"
REPLIES = [
    ("r1", "lost my job last month too, awful, it never gets better", 0.8, 0.7),
    ("r2", "lovely weather, off to the beach", 0.05, 0.1),
    ("r3", "awful, nobody is hiring, we lost everything with the job", 0.6, 0.9),
]


def store_thread(db, thread_id="t1", community="c", replies=REPLIES, received=None) -> dict:
    """The opening post and replies stored and scored with chosen scores; external id -> id."""
    received = received or datetime.now(UTC)
    ids = {}
    posts = [("op", OPENING, None, 0.6)] + list(replies)
    with db.write() as session:
        for n, (external_id, text, pair, distress) in enumerate(posts):
            parent = None if external_id == "op" else "op"
            new = queue.NewItem(
                community, external_id, text, parent_external_id=parent, thread_id=thread_id
            )
            ((item, _),) = queue.ingest(session, [new], received + timedelta(seconds=n), RULES)
            scores = {"self_harm": 0.05, "distress": distress, "corumination": pair}
            view = queue.ModelView("m:1", scores, [], "green")
            queue.record_scores(session, item.id, view, RULES, received)
            ids[external_id] = item.id
    return ids


def record(db, item_id, threshold=0.5):
    with db.write() as session:
        record_thread_scores(session, [item_id], threshold, RULES, datetime.now(UTC))
        item = queue.get_item(session, item_id)
        return item.thread_corumination, list(item.priority_reasons), item.priority


def test_a_reply_gets_its_thread_score_and_a_reason(db):
    ids = store_thread(db)
    with db.read() as session:
        before = queue.get_item(session, ids["r3"]).priority
        window, _ = queue.thread_so_far(session, queue.get_item(session, ids["r3"]), 200)
        expected = score_thread(
            [
                Turn(i.external_id, i.text, i.scores, i.parent_external_id is not None)
                for i in window
            ]
        )
    stored, reasons, priority = record(db, ids["r3"])
    assert stored["score"] == expected.score and stored["score"] >= 0.5
    assert stored["flagged"] and stored["threshold"] == 0.5 and stored["posts"] == 4
    assert stored["turns"] == [2, 3, 4] and stored["ids"] == ["r1", "r2", "r3"]
    assert stored["summary"] == f"thread corumination {expected.score:.2f} (turns 2, 3, 4)"
    assert stored["summary"] in reasons
    assert priority == before  # a reason, not a re-rank


def test_below_the_threshold_it_is_stored_without_a_reason(db):
    ids = store_thread(db)
    stored, reasons, _ = record(db, ids["r3"], threshold=0.95)
    assert stored["score"] is not None and not stored["flagged"]
    assert not any("thread corumination" in r for r in reasons)


def test_the_reason_survives_re_ranking(db):
    ids = store_thread(db)
    stored, _, _ = record(db, ids["r3"])
    with db.write() as session:
        ranking.refresh_priorities(session, RULES, datetime.now(UTC) + timedelta(days=1))
        assert stored["summary"] in queue.get_item(session, ids["r3"]).priority_reasons


def test_the_thread_is_read_as_it_stood_when_the_reply_came(db):
    ids = store_thread(db)
    stored, _, _ = record(db, ids["r1"])
    assert stored["posts"] == 2 and stored["ids"] == ["r1"]


def test_posts_and_items_outside_a_thread_get_nothing(db):
    ids = store_thread(db)
    stored, _, _ = record(db, ids["op"])  # the opening post is not a reply
    assert stored is None
    with db.write() as session:
        new = queue.NewItem("c", "lone", "a reply with no thread", parent_external_id="x")
        ((item, _),) = queue.ingest(session, [new], datetime.now(UTC), RULES)
        view = queue.ModelView("m:1", {}, [], "green")
        queue.record_scores(session, item.id, view, RULES, datetime.now(UTC))
        lone = item.id
    assert record(db, lone)[0] is None


def test_other_threads_and_communities_are_not_read(db):
    ids = store_thread(db)
    store_thread(db, thread_id="t2")
    store_thread(db, community="other")
    stored, _, _ = record(db, ids["r3"])
    assert stored["posts"] == 4


def test_a_long_thread_is_read_from_its_latest_posts_with_turns_counted_from_the_start(db):
    many = [(f"r{n}", f"reply {n} about something else", 0.1, 0.2) for n in range(1, 8)]
    ids = store_thread(db, replies=many)
    with db.read() as session:
        item = queue.get_item(session, ids["r7"])
        window, left_out = queue.thread_so_far(session, item, 3)
    assert [i.external_id for i in window] == ["r5", "r6", "r7"] and left_out == 5


def test_a_model_without_a_corumination_head_gives_a_null_score(db):
    no_head = [(e, t, None, d) for e, t, _, d in REPLIES]
    ids = store_thread(db, replies=no_head)
    stored, _, _ = record(db, ids["r3"], threshold=None)
    assert stored["score"] is None and stored["reason"] and not stored["flagged"]
    assert stored["summary"] is None


# --- through POST /v1/items ------------------------------------------------------------------
@pytest.fixture()
def app_client(database_url, tiny_bundle, tmp_path):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    keys = create_keys(database_url)
    bundle = bundle_with_corumination_head(tiny_bundle, tmp_path)
    settings = Settings(
        bundle_dir=bundle, database_url=database_url, max_text_chars=500, scoring_timeout_s=5.0
    )
    with TestClient(create_app(settings), headers=bearer(keys["platform"])) as client:
        yield client, keys


def test_ingest_scores_the_thread_of_a_reply(app_client):
    client, keys = app_client
    thread = {"community": "c1", "thread_id": "t9"}
    posts = [
        {"id": "op", "text": OPENING, **thread},
        {"id": "r1", "text": REPLIES[0][1], "parent_id": "op", "parent_text": OPENING, **thread},
    ]
    for post in posts:  # one request each, as a platform sends them
        response = client.post("/v1/items", json={"items": [post]})
        assert response.status_code == 200, response.text
    reply_id = response.json()["results"][0]["item_id"]
    item = client.get(f"/v1/items/{reply_id}", headers=bearer(keys["alice"])).json()
    thread_score = item["thread_corumination"]
    assert thread_score["posts"] == 2 and thread_score["ids"] == ["r1"]
    assert 0 <= thread_score["score"] <= item["scores"]["corumination"] + 1e-4
    assert thread_score["flagged"] is (thread_score["score"] >= 0.5)
    assert (thread_score["summary"] in item["reasons"]) is thread_score["flagged"]
    listed = client.get("/v1/queue", headers=bearer(keys["alice"])).json()["items"]
    by_id = {i["id"]: i for i in listed}
    assert by_id["r1"]["thread_corumination"] == thread_score
    assert by_id["op"]["thread_corumination"] is None
