"""Fail to a human (issue 5, point 4): a scorer exception, a scorer timeout or a missing model
never loses an ingested item. Each fault is injected into the real app on SQLite and on
PostgreSQL; the item is stored once, queued `unscored` for a person, /readyz reports the fault
(without the exception's message), and the background retry scores it once a model answers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import bearer, create_keys
from tests.service.api.test_service import assert_error_shape
from triage.queue.faults import ScoringFaults
from triage.service.context import context_of
from triage.service.runtime.background import rescore_once
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.tables import Event, Item

SECRET = "I keep the pills in the drawer"  # quoted by the failing scorer: must never leak
TIMEOUT_S = 0.5


@pytest.fixture()
def make_client(database_url, tiny_bundle, tmp_path):
    """A factory of (client, keys) for the app on `database_url`, with or without a model."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    keys = create_keys(database_url)
    clients = []

    def make(with_model: bool = True):
        settings = Settings(
            bundle_dir=tiny_bundle if with_model else tmp_path / "no-such-bundle",
            database_url=database_url,
            scoring_timeout_s=TIMEOUT_S,
            rescore_interval_s=3600,  # the test runs the retry itself
        )
        client = TestClient(create_app(settings), headers=bearer(keys["alice"]))
        clients.append(client.__enter__())
        return client, keys

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _explode(items):
    raise RuntimeError(f"tokenizer choked on {SECRET!r}")


def _hang(items):
    time.sleep(TIMEOUT_S * 4)
    raise AssertionError("a timed-out call's result must be ignored")


FAULTS = {
    "exception": ("RuntimeError", "the scorer failed: RuntimeError"),
    "timeout": ("TimeoutError", f"longer than {TIMEOUT_S:g} s"),
    "missing_model": ("ModelNotLoaded", "the model is not loaded"),
}


def _inject(fault: str, make_client):
    client, keys = make_client(with_model=fault != "missing_model")
    if fault == "exception":
        context_of(client.app).model.scorer.score = _explode
    elif fault == "timeout":
        context_of(client.app).model.scorer.score = _hang
    return client, keys


def _stored(database_url: str, community: str, external_id: str) -> list[Item]:
    db = Database(database_url)
    try:
        with db.read() as session:
            return list(session.query(Item).filter_by(community=community, external_id=external_id))
    finally:
        db.dispose()


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_queues_the_item_for_a_person_and_readyz_reports_it(
    fault, make_client, database_url
):
    kind, reason = FAULTS[fault]
    client, keys = _inject(fault, make_client)
    assert client.get("/readyz").status_code == (503 if fault == "missing_model" else 200)
    body = {"items": [{"id": "p1", "community": "c", "text": SECRET}]}
    started = time.monotonic()
    response = client.post("/v1/items", json=body, headers=bearer(keys["platform"]))
    assert time.monotonic() - started < TIMEOUT_S * 3  # the timeout answers, not the scorer
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["created"] and result["scoring"] == "unscored" and result["tier"] is None

    (stored,) = _stored(database_url, "c", "p1")  # stored exactly once, text intact
    assert stored.text == SECRET and stored.scoring_state == "unscored"
    assert reason in stored.scoring_error and SECRET not in stored.scoring_error
    page = client.get("/v1/queue", params={"tier": "unscored"}).json()
    assert [i["item_id"] for i in page["items"]] == [result["item_id"]]
    assert page["items"][0]["priority"] >= 60  # ranked for a person, just below a fresh red

    ready = client.get("/readyz")
    assert SECRET not in ready.text and "choked" not in ready.text
    if fault == "missing_model":
        error = assert_error_shape(ready, 503, "model")
        scoring = [d for d in error["details"] if d["field"] == "scoring"]
        assert scoring and scoring[0]["found"].startswith("1 scoring failure in the last 5 min")
        assert scoring[0]["found"].endswith("last: ModelNotLoaded")
    else:
        assert ready.status_code == 200, ready.text
        health = ready.json()
        assert health["status"] == "degraded" and health["model"]["name"] == "tiny-bundle"
        faults = health["faults"]
        assert faults["failures"] == 1 and faults["items"] == 1 and faults["last_error"] == kind
        assert faults["message"] == (
            f"1 scoring failure in the last 5 minutes (1 items queued unscored for a person); "
            f"last: {kind}"
        )
        assert faults["last_success_at"] is None


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_retry_scores_the_item_once_the_model_answers(fault, make_client, database_url):
    client, keys = _inject(fault, make_client)
    body = {"items": [{"id": "p1", "community": "c", "text": "a plain post"}]}
    assert client.post("/v1/items", json=body, headers=bearer(keys["platform"])).is_success

    healthy, _ = make_client(with_model=True)  # a restart with a working model
    # too fresh: its ingest may still be scoring it
    assert rescore_once(context_of(healthy.app)) == 0
    db = Database(database_url)
    with db.write() as session:  # received long enough ago to count as abandoned
        session.query(Item).update({"received_at": datetime.now(UTC) - timedelta(minutes=5)})
    assert rescore_once(context_of(healthy.app)) == 1
    (stored,) = _stored(database_url, "c", "p1")
    assert stored.scoring_state == "scored" and stored.tier is not None
    with db.read() as session:
        types = [e.type for e in session.query(Event).filter_by(item_id=stored.id)]
    db.dispose()
    assert types == ["ingested", "scoring_failed", "scored"]
    assert healthy.get("/readyz").json() == {
        "status": "ready",
        "model": {"name": "tiny-bundle", "version": "0.0.1-test"},
        "faults": None,
    }


def test_readyz_shows_recovery_after_a_fault(make_client):
    client, keys = make_client()
    real = context_of(client.app).model.scorer.score
    context_of(client.app).model.scorer.score = _explode
    post = {"items": [{"id": "a", "text": "one"}, {"id": "b", "text": "two"}]}
    assert client.post("/v1/items", json=post, headers=bearer(keys["platform"])).is_success
    context_of(client.app).model.scorer.score = real
    post = {"items": [{"id": "c", "text": "three"}]}
    (result,) = client.post("/v1/items", json=post, headers=bearer(keys["platform"])).json()[
        "results"
    ]
    assert result["scoring"] == "scored"
    faults = client.get("/readyz").json()["faults"]
    assert faults["failures"] == 1 and faults["items"] == 2
    assert faults["last_success_at"] > faults["last_failure_at"]


def test_faults_leave_the_window():
    faults = ScoringFaults(window=timedelta(minutes=5))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    faults.failed("TimeoutError", 3, now=start)
    faults.failed("RuntimeError", 1, now=start + timedelta(minutes=2))
    summary = faults.summary(now=start + timedelta(minutes=4))
    assert (summary.failures, summary.items, summary.last_kind) == (2, 4, "RuntimeError")
    assert summary.message.startswith("2 scoring failures in the last 5 minutes")
    later = faults.summary(now=start + timedelta(minutes=6))
    assert (later.failures, later.items) == (1, 1)
    assert faults.summary(now=start + timedelta(minutes=8)) is None
