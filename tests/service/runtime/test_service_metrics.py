"""GET /metrics (Prometheus text format) and request ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import bearer
from tests.service.api.test_service import assert_error_shape
from triage.service.context import context_of
from triage.storage.keys import Role, create_key


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, sorted label pairs): value} of a scrape."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client, key) -> dict[tuple, float]:
    response = client.get("/metrics", headers=bearer(key))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


@pytest.fixture()
def metrics_key(client) -> str:
    with context_of(client.app).database.write() as session:
        return create_key(session, "prometheus", Role.METRICS, datetime.now(UTC)).secret


def test_metrics_need_a_metrics_or_admin_key(client, keys, metrics_key):
    assert_error_shape(client.get("/metrics", headers={"Authorization": ""}), 401)
    for who in ("platform", "alice"):
        assert_error_shape(client.get("/metrics", headers=bearer(keys[who])), 403, "role")
    scrape(client, keys["admin"])
    scrape(client, metrics_key)
    # a metrics key reads metrics and nothing else: no posts, no scoring
    assert client.get("/v1/queue", headers=bearer(metrics_key)).status_code == 403
    body = {"items": [{"id": "a", "text": "hi"}]}
    assert client.post("/v1/score", json=body, headers=bearer(metrics_key)).status_code == 403


def test_requests_are_counted_by_route_template_and_status(client, keys, metrics_key):
    ingested = client.post(
        "/v1/items",
        json={"items": [{"id": "p1", "text": "a sunny walk"}]},
        headers=bearer(keys["platform"]),
    ).json()["results"][0]
    for _ in range(2):
        assert client.get(f"/v1/items/{ingested['item_id']}").status_code == 200
    assert client.get("/v1/items/999").status_code == 404
    assert client.get("/no/such/path").status_code == 404
    found = scrape(client, metrics_key)
    route = "/v1/items/{item_id}"
    key = ("method", "GET"), ("route", route)
    assert found[("triage_http_requests_total", (*key, ("status", "200")))] == 2
    assert found[("triage_http_requests_total", (*key, ("status", "404")))] == 1
    assert found[("triage_http_request_duration_seconds_count", key)] == 3
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert found[("triage_http_requests_total", unmatched)] == 1
    assert not any(f"/v1/items/{ingested['item_id']}" in str(k) for k in found)  # no raw paths


def test_scores_queue_depth_and_scorer_errors(client, keys, metrics_key):
    platform = bearer(keys["platform"])
    body = {"items": [{"id": f"p{n}", "text": f"post number {n}"} for n in range(3)]}
    results = client.post("/v1/items", json=body, headers=platform).json()["results"]
    client.post(
        "/v1/score", json={"items": [{"id": "s", "text": "just scoring"}]}, headers=platform
    )

    def explode(items):
        raise RuntimeError("the model fell over")

    context_of(client.app).model.scorer.inner.score = explode  # behind the measuring wrapper
    failed = client.post(
        "/v1/items", json={"items": [{"id": "x", "text": "later"}]}, headers=platform
    ).json()["results"][0]
    assert failed["scoring"] == "unscored"
    found = scrape(client, metrics_key)
    assert found[("triage_score_count", (("label", "self_harm"),))] == 4  # 3 ingested + 1 scored
    assert found[("triage_score_count", (("label", "corumination"),))] == 0  # never scored
    assert (
        sum(
            found[("triage_scored_items_total", (("tier", t),))]
            for t in ("crisis", "red", "amber", "green")
        )
        == 4
    )
    assert found[("triage_scorer_errors_total", (("error", "RuntimeError"),))] == 1
    assert found[("triage_scorer_in_flight", ())] == 0
    assert found[("triage_model_loaded", ())] == 1
    depth = {
        t: found[("triage_queue_depth", (("tier", t),))]
        for t in ("crisis", "red", "amber", "green", "unscored")
    }
    assert depth["unscored"] == 1 and sum(depth.values()) == 4
    tiers = {r["tier"] for r in results}
    assert all(depth[t] >= 1 for t in tiers)
    assert found[("triage_queue_sla_breaches", (("tier", "unscored"),))] == 0


def test_queue_gauges_are_cached_between_scrapes(settings, keys):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    slow = settings.model_copy(update={"metrics_refresh_s": 3600})
    with TestClient(create_app(slow), headers=bearer(keys["admin"])) as client:
        assert scrape(client, keys["admin"])[("triage_queue_depth", (("tier", "unscored"),))] == 0
        context_of(client.app).model.scorer = None
        client.post("/v1/items", json={"items": [{"id": "u", "text": "words"}]})
        cached = scrape(client, keys["admin"])
        assert cached[("triage_queue_depth", (("tier", "unscored"),))] == 0  # read an hour ago
        assert cached[("triage_model_loaded", ())] == 0  # not from the database: always fresh


def test_request_id_is_echoed_or_made(client):
    given = client.get("/healthz", headers={"X-Request-ID": "req-42.a"})
    assert given.headers["x-request-id"] == "req-42.a"
    made = client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    # a value that is not a plain token is replaced, never echoed or logged
    odd = client.get("/healthz", headers={"X-Request-ID": "a b\tinjected"})
    assert odd.headers["x-request-id"] not in ("a b\tinjected", made.headers["x-request-id"])
    assert client.get("/nowhere").headers["x-request-id"]  # errors carry it too
