"""One error type, rendered per client: a TriageError raised on an API route is the JSON shape
whoever asks; raised on a console route it is an HTML page for a browser (the sign-in page
for a 401 on a GET) and the same JSON shape for any other client."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from tests.conftest import bearer, create_keys
from tests.service.api.test_service import assert_error_shape
from tests.service.console.test_console import HTML, sign_in
from triage.problems import Detail
from triage.service.console.routing import console_router
from triage.service.errors import TriageError, install_error_handlers
from triage.settings import Settings

SLOW_DOWN = TriageError(
    429,
    "rate_limited",
    "too many requests; retry in 7 s",
    [Detail("api_key", "fewer requests", "more requests than that")],
    headers={"Retry-After": "7"},
)
NOT_SIGNED_IN = TriageError(
    401, "unauthenticated", "sign in first", [Detail("session", "a session", "none")]
)


def _raising(error: TriageError):
    def endpoint() -> None:
        raise error

    return endpoint


@pytest.fixture(scope="module")
def client():
    """An app with the same errors raised on an API route and on a console route."""
    app = FastAPI()
    install_error_handlers(app)
    api, console = APIRouter(prefix="/v1"), console_router()
    for router in (api, console):
        router.add_api_route("/slow", _raising(SLOW_DOWN))
        router.add_api_route("/private", _raising(NOT_SIGNED_IN))
    app.include_router(api)
    app.include_router(console)
    return TestClient(app)


def test_api_route_answers_json_even_to_a_browser(client):
    reply = client.get("/v1/slow", headers=HTML)
    error = assert_error_shape(reply, 429, "api_key")
    assert error["code"] == "rate_limited" and reply.headers["retry-after"] == "7"
    assert reply.headers["content-type"].startswith("application/json")
    assert_error_shape(client.get("/v1/private", headers=HTML), 401, "session")


def test_console_route_answers_a_browser_with_the_error_page(client):
    reply = client.get("/slow", headers=HTML)
    assert reply.status_code == 429 and reply.headers["content-type"].startswith("text/html")
    assert "<code>rate_limited</code>" in reply.text and "Too many requests" in reply.text
    assert reply.headers["retry-after"] == "7"
    assert reply.headers["x-frame-options"] == "DENY"  # the console's page headers


def test_console_route_answers_other_clients_with_the_same_json(client):
    for accept in ({}, {"accept": "application/json"}):
        console, api = client.get("/slow", headers=accept), client.get("/v1/slow", headers=accept)
        assert console.status_code == api.status_code == 429
        assert console.json() == api.json()
        assert console.headers["retry-after"] == api.headers["retry-after"]


def test_a_401_on_a_console_page_sends_a_browser_to_sign_in(client):
    reply = client.get("/private?x=1", headers=HTML, follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/sign-in?next=%2Fprivate%3Fx%3D1"
    assert_error_shape(client.get("/private"), 401, "session")


def test_the_app_renders_a_missing_item_per_client(tmp_path):
    """The real routes: GET /v1/items/{id} and the console's /items/{id}, both a 404."""
    from triage.service.app import create_app

    url = f"sqlite:///{tmp_path / 'errors.db'}"
    keys = create_keys(url)
    settings = Settings(bundle_dir=tmp_path / "no-model", database_url=url, secret_key="k" * 40)
    with TestClient(create_app(settings)) as app_client:
        api = app_client.get("/v1/items/424242", headers={**HTML, **bearer(keys["alice"])})
        assert assert_error_shape(api, 404, "item_id")["code"] == "item_not_found"
        sign_in(app_client, keys["alice"])
        page = app_client.get("/items/424242", headers=HTML)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "<code>item_not_found</code>" in page.text
        as_json = assert_error_shape(app_client.get("/items/424242"), 404, "item_id")
        assert as_json["code"] == "item_not_found"
