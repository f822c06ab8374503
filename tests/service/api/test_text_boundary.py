"""Text at the schema boundary (issue 12, points 1, 7, 13): NUL and lone surrogates are repaired,
never refused and never a 500; out-of-range ids and cursors are 404/422; clear messages."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.conftest import bearer, create_keys
from tests.scoring.test_threads import THREAD, bundle_with_corumination_head
from tests.service.api.test_service import assert_error_shape
from tests.service.console.test_console import HTML, act, sign_in
from triage.domain.text import clean_text
from triage.settings import Settings

NUL, HALF_EMOJI, REPLACEMENT = "\u0000", "\ud83d", "\ufffd"
# what a JavaScript client sends when it cuts "I am so tired 😞" in half, with a NUL on top
BROKEN = f"I am so tired{NUL} of all this {HALF_EMOJI}"
REPAIRED = f"I am so tired{REPLACEMENT} of all this {REPLACEMENT}"


# --- the rule --------------------------------------------------------------------------------
def test_clean_text_replaces_nul_and_lone_surrogates_and_says_so():
    assert clean_text(BROKEN) == (REPAIRED, ["1 NUL replaced", "1 lone surrogate replaced"])
    assert clean_text(f"{NUL}{NUL}\udc00") == (
        REPLACEMENT * 3,
        ["2 NULs replaced", "1 lone surrogate replaced"],
    )


def test_clean_text_keeps_intact_text_as_it_is():
    intact = "line one\n\ttabbed 😞 café \u200d"
    assert clean_text(intact) == (intact, [])


def test_repaired_text_keeps_its_length_so_evidence_offsets_hold():
    assert len(clean_text(BROKEN)[0]) == len(BROKEN)
    assert REPAIRED.encode("utf-8")  # storable, tokenizable, loggable


# --- apps ------------------------------------------------------------------------------------
@pytest.fixture()
def queue_app(database_url, tiny_bundle):
    """(client, keys) of the app with the tiny model on SQLite and on PostgreSQL."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    keys = create_keys(database_url)
    settings = Settings(
        bundle_dir=tiny_bundle,
        database_url=database_url,
        max_items_per_request=8,
        max_text_chars=500,
        scoring_timeout_s=5.0,
        secret_key="k" * 40,
    )
    with TestClient(create_app(settings), headers=bearer(keys["alice"])) as client:
        yield client, keys


def post_json(client, url: str, body: dict, **kwargs):
    """POST `body` as ASCII JSON, as a JavaScript client sends it: a lone surrogate travels as
    the escape \\ud83d (httpx's json= would fail to encode it before sending)."""
    headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
    return client.post(url, content=json.dumps(body), headers=headers, **kwargs)


def ingest(client, keys, *items):
    response = post_json(
        client, "/v1/items", {"items": list(items)}, headers=bearer(keys["platform"])
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


# --- NUL and lone surrogates through every route ---------------------------------------------
def test_ingest_stores_and_scores_repaired_text_with_the_rest_of_its_batch(queue_app):
    client, keys = queue_app
    valid = {"id": "ok", "text": "a quiet day", "community": "c"}
    broken = {
        "id": f"b{NUL}1",
        "text": BROKEN,
        "parent_text": f"how are you {HALF_EMOJI}",
        "community": "c",
        "thread_id": f"t{HALF_EMOJI}",
    }
    first, second = ingest(client, keys, valid, broken)
    assert first["created"] and second["created"]
    assert first["scoring"] == second["scoring"] == "scored"
    assert first["text_repairs"] == []
    expected = [
        "id: 1 NUL replaced",
        "text: 1 NUL replaced",
        "text: 1 lone surrogate replaced",
        "parent_text: 1 lone surrogate replaced",
        "thread_id: 1 lone surrogate replaced",
    ]
    assert sorted(second["text_repairs"]) == sorted(expected)
    assert second["id"] == f"b{REPLACEMENT}1"

    item = client.get(f"/v1/items/{second['item_id']}").json()
    assert item["text"] == REPAIRED and item["parent_text"] == f"how are you {REPLACEMENT}"
    assert sorted(item["text_repairs"]) == sorted(expected)
    listed = {i["id"]: i for i in client.get("/v1/queue?community=c").json()["items"]}
    assert listed["ok"]["text_repairs"] == []
    assert sorted(listed[f"b{REPLACEMENT}1"]["text_repairs"]) == sorted(expected)

    (retry,) = ingest(client, keys, broken)  # a retry finds the stored item: no 500, no duplicate
    assert retry["created"] is False and retry["item_id"] == second["item_id"]


def test_score_repairs_instead_of_failing(client):
    body = {
        "items": [{"id": "a", "text": BROKEN, "parent_text": HALF_EMOJI}, {"id": "b", "text": "hi"}]
    }
    response = post_json(client, "/v1/score", body)
    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()["results"]] == ["a", "b"]


def test_a_text_that_is_only_a_nul_is_not_empty_but_repaired(client):
    response = post_json(client, "/v1/score", {"items": [{"id": "a", "text": NUL}]})
    assert response.status_code == 200, response.text


def test_thread_score_repairs_instead_of_failing(client):
    posts = [
        {"id": f"op{NUL}", "text": BROKEN},
        {"id": "r1", "text": f"same {HALF_EMOJI}", "parent_id": f"op{NUL}"},
    ]
    response = post_json(
        client, "/v1/threads/score", {"thread_id": HALF_EMOJI, "community": NUL, "posts": posts}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["replies"][0]["parent_id"] == f"op{REPLACEMENT}"
    assert (body["thread_id"], body["community"]) == (REPLACEMENT, REPLACEMENT)


def test_event_notes_are_repaired(queue_app):
    client, keys = queue_app
    (stored,) = ingest(client, keys, {"id": "p1", "text": "some words"})
    note = f"called them {NUL}{HALF_EMOJI}"
    response = post_json(
        client, f"/v1/items/{stored['item_id']}/events", {"type": "comment", "note": note}
    )
    assert response.status_code == 201, response.text
    assert response.json()["event"]["note"] == f"called them {REPLACEMENT}{REPLACEMENT}"


def test_console_notes_are_repaired(queue_app):
    client, keys = queue_app
    (stored,) = ingest(client, keys, {"id": "p1", "text": "some words"})
    token = sign_in(client, keys["alice"])
    reply = act(client, token, stored["item_id"], "comment", note=f"rang {NUL}them")
    assert reply.status_code == 303, reply.text
    page = client.get(f"/items/{stored['item_id']}", headers=HTML)
    assert page.status_code == 200 and f"rang {REPLACEMENT}them" in page.text


def test_the_console_shows_what_was_repaired(queue_app):
    client, keys = queue_app
    (stored,) = ingest(client, keys, {"id": "p1", "text": BROKEN})
    sign_in(client, keys["alice"])
    page = client.get(f"/items/{stored['item_id']}", headers=HTML)
    assert page.status_code == 200
    assert "text: 1 NUL replaced; text: 1 lone surrogate replaced" in page.text


def test_a_nul_in_a_query_parameter_is_repaired(queue_app):
    client, keys = queue_app
    ingest(client, keys, {"id": "p1", "text": "some words", "community": f"c{NUL}"})
    listed = client.get("/v1/queue", params={"community": f"c{NUL}"})
    assert listed.status_code == 200, listed.text
    assert [i["community"] for i in listed.json()["items"]] == [f"c{REPLACEMENT}"]
    assert client.get("/v1/queue?community=%00").json()["items"] == []
    sign_in(client, keys["alice"])
    page = client.get("/?community=%00", headers=HTML)
    assert page.status_code == 200, page.text


def test_a_lone_surrogate_in_a_field_name_is_a_422(client):
    body = {"items": [{"id": "a", "text": "hi", HALF_EMOJI: 1}]}
    assert_error_shape(post_json(client, "/v1/score", body), 422)


# --- out-of-range ids and cursors ------------------------------------------------------------
@pytest.mark.parametrize("item_id", [2**31, 2**63, -(2**63) - 1, 0])
def test_console_item_ids_out_of_the_database_range_are_404(queue_app, item_id):
    client, keys = queue_app
    token = sign_in(client, keys["alice"])
    assert_error_shape(client.get(f"/items/{item_id}"), 404, "item_id")
    assert client.get(f"/items/{item_id}", headers=HTML).status_code == 404
    assert_error_shape(
        client.post(f"/items/{item_id}/events", data={"type": "claim", "csrf_token": token}),
        404,
        "item_id",
    )


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


BAD_CURSORS = [
    '[1e400, "2024-05-01T10:00:00+00:00", 1]',
    '[NaN, "2024-05-01T10:00:00+00:00", 1]',
    f'[{10**30}, "2024-05-01T10:00:00+00:00", 1]',
    f'[50, "2024-05-01T10:00:00+00:00", {10**30}]',
    '[50, "2024-05-01T10:00:00+00:00", 1e400]',
    '[50, "2024-05-01T10:00:00", 1]',
    '[50, "9999-12-31T23:59:59-14:00", 1]',
    '[50, "0001-01-01T00:00:00+14:00", 1]',
    '[50, "2024-05-01T10:00:00+00:00", true]',
    '[50.5, "2024-05-01T10:00:00+00:00", 1]',
    "[50, 12, 1]",
    '{"a": 1}',
    "[" * 5_000,
]


@pytest.mark.parametrize("raw", BAD_CURSORS, ids=range(len(BAD_CURSORS)))
def test_bad_cursors_are_422(queue_app, raw):
    client, keys = queue_app
    ingest(client, keys, {"id": "p1", "text": "some words"})
    assert_error_shape(client.get("/v1/queue", params={"cursor": _cursor(raw)}), 422, "cursor")


def test_a_good_cursor_still_pages(queue_app):
    client, keys = queue_app
    ingest(client, keys, *({"id": f"p{n}", "text": "some words"} for n in range(3)))
    first = client.get("/v1/queue?limit=2").json()
    rest = client.get("/v1/queue", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1


def test_console_bad_cursor_is_422(queue_app):
    client, keys = queue_app
    sign_in(client, keys["alice"])
    page = client.get("/", params={"cursor": _cursor(BAD_CURSORS[0])}, headers=HTML)
    assert page.status_code == 422


# --- messages and rounding -------------------------------------------------------------------
def test_an_empty_text_says_it_is_empty(client):
    response = client.post("/v1/score", json={"items": [{"id": "a", "text": ""}]})
    error = assert_error_shape(response, 422, "items[0].text")
    assert "items[0].text is empty" in error["message"]
    assert "breaks a limit" not in error["message"]
    blank = client.post("/v1/score", json={"items": [{"id": "a", "text": "  "}]})
    assert "items[0].text is blank" in blank.json()["error"]["message"]


def test_a_limit_message_names_the_limit(client):
    response = client.post("/v1/score", json={"items": [{"id": "a", "text": "x" * 501}]})
    error = assert_error_shape(response, 422, "items[0].text")
    assert "items[0].text is longer than 500 characters" in error["message"]


def test_an_empty_thread_post_says_it_is_empty(client):
    response = client.post("/v1/threads/score", json={"posts": [{"id": "a", "text": ""}]})
    error = assert_error_shape(response, 422, "posts[0].text")
    assert "posts[0].text is empty" in error["message"]


@pytest.fixture()
def thread_client(settings, keys, tiny_bundle, tmp_path):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    bundle = bundle_with_corumination_head(tiny_bundle, tmp_path / "coru")
    wanted = settings.model_copy(update={"bundle_dir": bundle})
    with TestClient(create_app(wanted), headers=bearer(keys["platform"])) as test_client:
        yield test_client


def _floats(value) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


def test_thread_results_are_rounded_like_scores(thread_client):
    response = thread_client.post("/v1/threads/score", json={"posts": THREAD})
    assert response.status_code == 200, response.text
    found = _floats(response.json())
    assert found and all(f == round(f, 4) for f in found), found
    assert not re.search(r"\d\.\d{5,}", response.text)
