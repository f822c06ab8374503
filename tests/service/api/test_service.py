"""The scoring API: contract, health, and one JSON error shape for every bad input."""

from __future__ import annotations

import pytest

from tests.conftest import bearer
from triage.domain.labels import LABELS, TIERS
from triage.service.context import context_of


def assert_error_shape(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"status", "code", "message", "details"}
    assert error["status"] == status and error["message"] and error["code"]
    assert error["details"], "every error says what was expected and what was found"
    for detail in error["details"]:
        assert set(detail) == {"field", "expected", "found"}
        assert detail["expected"] and detail["found"]
    if field is not None:
        assert field in [d["field"] for d in error["details"]], error["details"]
    return error


def test_health_and_ready(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["model"]["version"] == "0.0.1-test"
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["model"]["version"] == "0.0.1-test"


def test_score_contract(client):
    response = client.post(
        "/v1/score",
        json={
            "items": [
                {"id": "a", "text": "I wrote a goodbye note. I have the pills ready tonight."},
                {
                    "id": "b",
                    "text": "you are a pathetic idiot",
                    "parent_text": "I feel low",
                    "thread_id": "t1",
                    "author_id": "u2",
                    "community": "c1",
                },
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == {"name": "tiny-bundle", "version": "0.0.1-test"}
    assert [r["id"] for r in body["results"]] == ["a", "b"]
    for result in body["results"]:
        assert set(result["scores"]) == set(LABELS)
        assert result["tier"] in TIERS
        assert 0 <= result["priority"] <= 100
        assert set(result["flags"]) <= set(LABELS)
        for span in result["evidence"]:
            # a flag's sentence, or the sentence behind a crisis or red tier
            assert span["label"] in (*result["flags"], result["tier"])
            assert 0 <= span["start"] < span["end"]
        # the tiny bundle has a tier head: P(tier >= amber / red / crisis), monotone
        cuts = result["tier_scores"]
        assert list(cuts) == ["amber", "red", "crisis"]
        assert cuts["amber"] >= cuts["red"] >= cuts["crisis"]


def test_openapi_docs_are_served(client):
    spec = client.get("/openapi.json").json()
    assert "/v1/score" in spec["paths"]
    assert client.get("/docs").status_code == 200


BAD_BODIES = [
    ("empty text", {"items": [{"id": "a", "text": ""}]}, "items[0].text"),
    ("blank text", {"items": [{"id": "a", "text": "   \n"}]}, "items[0].text"),
    ("missing text", {"items": [{"id": "a"}]}, "items[0].text"),
    ("missing id", {"items": [{"text": "hello"}]}, "items[0].id"),
    ("missing items", {}, "items"),
    ("no items", {"items": []}, "items"),
    ("text not a string", {"items": [{"id": "a", "text": 5}]}, "items[0].text"),
    ("id not a string", {"items": [{"id": 7, "text": "hi"}]}, "items[0].id"),
    ("items not a list", {"items": {"id": "a"}}, "items"),
    ("unknown field", {"items": [{"id": "a", "text": "hi", "colour": "red"}]}, "items[0].colour"),
    ("too many items", {"items": [{"id": str(i), "text": "hi"} for i in range(5)]}, "items"),
    ("over-long text", {"items": [{"id": "a", "text": "x" * 501}]}, "items[0].text"),
    (
        "over-long parent",
        {"items": [{"id": "a", "text": "hi", "parent_text": "y" * 501}]},
        "items[0].parent_text",
    ),
    (
        "duplicate ids",
        {"items": [{"id": "a", "text": "hi"}, {"id": "a", "text": "yo"}]},
        "items[1].id",
    ),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_input_gets_a_clear_4xx(client, case, body, field):
    error = assert_error_shape(client.post("/v1/score", json=body), 422, field)
    assert field in error["message"] or "check" in error["message"]


def test_limits_name_the_limit(client):
    error = assert_error_shape(
        client.post("/v1/score", json={"items": [{"id": "a", "text": "x" * 501}]}), 422
    )
    assert "500" in error["details"][0]["expected"]
    assert "501" in error["details"][0]["found"]


def test_error_found_never_echoes_text(client):
    secret = "my private disclosure"
    response = client.post("/v1/score", json={"items": [{"id": "a", "text": secret, "x": secret}]})
    assert secret not in response.text


def test_non_json_body(client):
    response = client.post(
        "/v1/score", content=b"not json{", headers={"content-type": "application/json"}
    )
    error = assert_error_shape(response, 422)
    assert "JSON" in error["details"][0]["expected"]


def test_body_too_large(client):
    response = client.post(
        "/v1/score",
        content=b"{" + b" " * 30_000 + b"}",
        headers={"content-type": "application/json"},
    )
    error = assert_error_shape(response, 413, "body")
    assert "20000" in error["details"][0]["expected"]


def test_unknown_route_and_wrong_method(client):
    assert_error_shape(client.get("/v1/nothing"), 404, "path")
    assert_error_shape(client.get("/v1/score"), 405, "method")


def test_missing_model_is_503_and_not_ready(settings, keys, tmp_path):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    no_model = settings.model_copy(update={"bundle_dir": tmp_path / "nothing"})
    with TestClient(create_app(no_model), headers=bearer(keys["platform"])) as client:
        assert client.get("/healthz").status_code == 200
        assert_error_shape(client.get("/readyz"), 503, "model")
        assert_error_shape(
            client.post("/v1/score", json={"items": [{"id": "a", "text": "hi"}]}), 503, "model"
        )


def test_unexpected_failure_uses_the_error_shape(settings, keys):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    def explode(items):
        raise RuntimeError("boom")

    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(keys["admin"])) as quiet:
        context_of(quiet.app).model.scorer.score = explode
        assert_error_shape(
            quiet.post("/v1/score", json={"items": [{"id": "a", "text": "hi"}]}), 500
        )


def test_model_loads_once_at_start_up(settings, keys, monkeypatch):
    from fastapi.testclient import TestClient

    from triage.service import app as app_module

    calls = []
    real = app_module.load_bundle
    monkeypatch.setattr(app_module, "load_bundle", lambda path: calls.append(path) or real(path))
    application = app_module.create_app(settings)
    assert calls == []  # nothing is loaded at import or construction
    with TestClient(application, headers=bearer(keys["admin"])) as client:
        for _ in range(3):
            response = client.post("/v1/score", json={"items": [{"id": "a", "text": "hi"}]})
            assert response.status_code == 200
    assert len(calls) == 1
