"""No post text, parent text, note or API key in any log line, on every route and error path.

Everything logged while the service works is captured at DEBUG (pytest's caplog: every record
of every logger, with its arguments and exception) and as the JSON lines `triage serve` writes
(logs.JsonFormatter); both are searched for each secret. The last test shows the search finds
a leak when there is one.
"""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from tests.conftest import bearer
from triage.service.context import context_of
from triage.service.runtime.logs import JsonFormatter, RequestContextFilter
from triage.settings import RateLimit
from triage.storage.keys import Role, create_key

TEXT = "zq-posttext Saffron lighthouse at midnight"
PARENT = "zq-parenttext Velvet marmalade orbit"
NOTE = "zq-note Copper giraffe telephone"
CONSOLE_NOTE = "zq-consolenote Amber walrus piano"
AUTHOR = "zq-author-Quentin"
HTML = {"accept": "text/html"}


def _texts(record: logging.LogRecord) -> list[str]:
    """Everything a record carries that a handler might write."""
    found = [record.getMessage(), repr(record.args)]
    for value in record.__dict__.values():
        found.append(repr(value))
    if record.exc_info:
        found.append(logging.Formatter().formatException(record.exc_info))
    return found


def leaks(secrets: dict[str, str], records, *outputs: str) -> list[str]:
    """Names of the secrets found in any record or output."""
    haystack = "\n".join([*outputs, *(t for r in records for t in _texts(r))])
    return [name for name, value in secrets.items() if value in haystack]


@pytest.fixture()
def captured(caplog):
    """(caplog, JSON stream): DEBUG everywhere, and the JSON lines of `triage serve`."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level > logging.DEBUG:
            caplog.set_level(logging.DEBUG, logger=name)  # libraries that quiet themselves
    # SQLAlchemy at INFO logs each statement with its parameters (hidden: Database uses
    # hide_parameters); at DEBUG it also logs result rows, which `triage serve` never
    # allows (logs.logging_config pins it to WARNING whatever the level).
    caplog.set_level(logging.INFO, logger="sqlalchemy")
    caplog.set_level(logging.DEBUG)  # last: each call also sets caplog's handler level
    yield caplog, stream
    root.removeHandler(handler)


@pytest.fixture()
def app_and_keys(settings, keys, captured):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    tuned = settings.model_copy(
        update={
            "secret_key": SecretStr("c" * 40),
            "rate_limits": {**settings.rate_limits, "metrics": RateLimit(per_minute=1, burst=1)},
        }
    )
    app = create_app(tuned)
    with TestClient(app, raise_server_exceptions=False) as client:
        with context_of(app).database.write() as session:
            keys = {
                **keys,
                "metrics": create_key(session, "scraper", Role.METRICS, datetime.now(UTC)).secret,
            }
        yield client, keys


def _api_calls(client, keys) -> int:
    platform, alice = bearer(keys["platform"]), bearer(keys["alice"])
    item = {"id": "p1", "text": TEXT, "parent_text": PARENT, "author_id": AUTHOR, "thread_id": "t1"}
    # scoring: fine, then every kind of bad input (each would echo the text if it could)
    ok = client.post("/v1/score", json={"items": [item]}, headers=platform)
    assert ok.status_code == 200
    bad_bodies = [
        {"items": [{**item, "text": TEXT * 40}]},  # too long
        {"items": [{**item, "surprise": TEXT}]},  # unknown field
        {"items": [{**item, "text": [TEXT]}]},  # wrong type
        {"items": [{**item, "id": ""}], "extra": PARENT},
    ]
    for body in bad_bodies:
        assert client.post("/v1/score", json=body, headers=platform).status_code == 422
    broken_json = '{"items": [{"id": "a", "text": "' + TEXT + '"'
    assert (
        client.post(
            "/v1/score",
            content=broken_json,
            headers={**platform, "content-type": "application/json"},
        ).status_code
        == 422
    )
    big = {"items": [{"id": "a", "text": TEXT * 1000}]}
    assert client.post("/v1/score", json=big, headers=platform).status_code == 413
    odd_id = {**platform, "X-Request-ID": TEXT}
    assert client.post("/v1/score", json={"items": [item]}, headers=odd_id).status_code == 200

    # ingest, read it back (the text is there: the test is not vacuous), events with notes
    stored = client.post("/v1/items", json={"items": [item]}, headers=platform).json()
    item_id = stored["results"][0]["item_id"]
    assert client.get(f"/v1/items/{item_id}", headers=alice).json()["text"] == TEXT
    assert client.get("/v1/queue", headers=alice).status_code == 200
    events = f"/v1/items/{item_id}/events"
    assert (
        client.post(events, json={"type": "comment", "note": NOTE}, headers=alice).status_code
        == 201
    )
    assert (
        client.post(events, json={"type": "resolve", "note": NOTE}, headers=alice).status_code
        == 422
    )
    assert (
        client.post(events, json={"type": "claim", "mood": NOTE}, headers=alice).status_code == 422
    )
    assert (
        client.post(
            events, json={"type": "claim", "note": NOTE}, headers=bearer(keys["platform"])
        ).status_code
        == 403
    )

    # keys: unknown, garbage, the wrong role, by either header
    fake = keys["alice"][:-6] + "zzzzzz"
    for headers in (bearer(fake), bearer(TEXT), {"X-API-Key": fake}):
        assert client.get("/v1/queue", headers=headers).status_code == 401
    assert client.get("/v1/queue", headers={"X-API-Key": keys["platform"]}).status_code == 403
    # rate limited
    metrics = bearer(keys["metrics"])
    assert client.get("/metrics", headers=metrics).status_code == 200
    assert client.get("/metrics", headers=metrics).status_code == 429
    return item_id


def _scorer_failures(client, keys) -> None:
    """The scorer raises with the post in its message: on /v1/score (500) and on ingest
    (queued unscored)."""
    platform = bearer(keys["platform"])

    def explode(items):
        message = "cannot score " + items[0].text + " / " + str(items[0].parent_text)
        raise ValueError(message)

    context_of(client.app).model.scorer.inner.score = explode
    item = {"id": "p2", "text": TEXT, "parent_text": PARENT}
    failed = client.post("/v1/score", json={"items": [item]}, headers=platform)
    assert failed.status_code == 500 and TEXT not in failed.text
    queued = client.post("/v1/items", json={"items": [item]}, headers=platform).json()
    assert queued["results"][0]["scoring"] == "unscored"


def _console(client, keys, item_id) -> None:
    def token(html: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    form = token(client.get("/sign-in", headers=HTML).text)
    for key, status in ((TEXT, 401), (keys["platform"], 403), (keys["alice"][:-3] + "abc", 401)):
        reply = client.post("/sign-in", data={"api_key": key, "csrf_token": form}, headers=HTML)
        assert reply.status_code == status
    no_csrf = client.post("/sign-in", data={"api_key": keys["alice"], "csrf_token": TEXT})
    assert no_csrf.status_code == 403
    signed_in = client.post(
        "/sign-in", data={"api_key": keys["alice"], "csrf_token": form}, follow_redirects=False
    )
    assert signed_in.status_code == 303
    page = client.get(f"/items/{item_id}", headers=HTML)
    assert page.status_code == 200 and "Saffron lighthouse" in page.text
    action = f"/items/{item_id}/events"
    data = {"type": "comment", "note": CONSOLE_NOTE, "csrf_token": token(page.text)}
    assert client.post(action, data=data, headers=HTML, follow_redirects=False).status_code == 303
    forged = {**data, "csrf_token": "forged"}
    assert client.post(action, data=forged, headers=HTML).status_code == 403
    weird = {**data, "type": CONSOLE_NOTE}
    assert client.post(action, data=weird, headers=HTML).status_code == 422


def test_no_text_or_key_in_any_log(app_and_keys, captured):
    client, keys = app_and_keys
    caplog, stream = captured
    item_id = _api_calls(client, keys)
    _scorer_failures(client, keys)
    _console(client, keys, item_id)
    scrape = client.get("/metrics", headers=bearer(keys["admin"])).text

    secrets = {
        "text": TEXT,
        "parent": PARENT,
        "note": NOTE,
        "console note": CONSOLE_NOTE,
        "author": AUTHOR,
        "text words": "Saffron lighthouse",
        "note words": "giraffe",
    }
    for name, key in keys.items():
        secrets[f"{name} key"] = key
        secrets[f"{name} key secret part"] = key.split("_", 2)[2]
    assert leaks(secrets, caplog.records, caplog.text, stream.getvalue(), scrape) == []

    # what was logged is useful: an access line per request with its id, route and key name
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "triage.access"]
    assert len(access) >= 30 and all(line["request_id"] and line["route"] for line in access)
    routes = {(a["route"], a["status"], a.get("key_name")) for a in access}
    assert ("/v1/items/{item_id}/events", 201, "alice") in routes
    assert ("/v1/score", 500, "platform") in routes
    assert ("/metrics", 429, "scraper") in routes
    assert ("/sign-in", 303, "alice") in routes
    assert ("/v1/queue", 401, None) in routes
    # the scorer's exceptions were logged (type and frames), just not their messages
    errors = [line for line in lines if line.get("error_type", "").startswith("ValueError")]
    assert errors and all("stack" in line for line in errors if line["level"] == "ERROR")
    assert any("scoring failed" in line["message"] for line in lines)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)  # SQL was logged


def test_the_search_finds_a_leak(captured):
    caplog, stream = captured
    logging.getLogger("triage.somewhere").debug("oops: %s", TEXT)
    try:
        raise RuntimeError(NOTE)
    except RuntimeError:
        logging.getLogger("library").exception("failed")
    found = leaks({"text": TEXT, "note": NOTE}, caplog.records, caplog.text)
    assert found == ["text", "note"]
    # the service's JSON lines drop an exception's message even from a library's log.exception
    assert TEXT in stream.getvalue() and NOTE not in stream.getvalue()
    assert '"error_type": "RuntimeError"' in stream.getvalue()
