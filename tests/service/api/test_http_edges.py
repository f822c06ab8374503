"""HTTP edges (issue 12, points 5, 6, 8): body limits counted on the bytes received, console
sessions and CSRF tokens that are not ASCII or not text, and forwarded headers trusted only
from configured proxies."""

from __future__ import annotations

import json

import pytest

from tests.conftest import bearer, create_keys
from tests.service.api.test_service import assert_error_shape
from tests.service.console.test_console import HTML, csrf_of, sign_in
from triage.settings import RateLimit, Settings

LIMIT = 20_000
CHUNK = 1_000
ENOUGH_CHUNKS = LIMIT // CHUNK + 1  # the chunk that crosses the limit is the last one pulled


@pytest.fixture()
def no_model_settings(tmp_path) -> Settings:
    """Settings of an app without a model (nothing here needs scores) on a fresh SQLite file."""
    url = f"sqlite:///{tmp_path / 'edges.db'}"
    return Settings(
        bundle_dir=tmp_path / "no-model",
        database_url=url,
        secret_key="e" * 40,
        max_body_bytes=LIMIT,
    )


@pytest.fixture()
def app_client(no_model_settings):
    """(client, keys) of the app; the client does not raise server errors, it shows the 500."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    keys = create_keys(no_model_settings.database_url)
    app = create_app(no_model_settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, keys


# --- point 5: the body limit is enforced on the bytes received, before buffering --------------
class EndlessBody:
    """An ASGI receive() that sends a body in CHUNK-byte pieces, never saying it is the last
    one (up to `most` pieces), and counts how many pieces the app pulled."""

    def __init__(self, most: int = 10_000) -> None:
        self.most = most
        self.pulled = 0

    async def __call__(self) -> dict:
        if self.pulled >= self.most:
            return {"type": "http.disconnect"}
        self.pulled += 1
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": True}


def asgi_post(client, path: str, headers: dict[str, str], receive) -> tuple[int, dict]:
    """POST through the ASGI interface itself (in the client's event loop, after its
    lifespan started), so the body arrives exactly as `receive` sends it."""
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    client.portal.call(client.app, scope, receive, send)
    (start,) = [m for m in sent if m["type"] == "http.response.start"]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body)


def error_of(status: int, body: dict, expected_status: int) -> dict:
    assert status == expected_status, body
    error = body["error"]
    assert error["status"] == expected_status and error["details"]
    return error


JSON_POST = {"content-type": "application/json"}
FORM_POST = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("path", "kind"), [("/v1/score", JSON_POST), ("/v1/items", JSON_POST), ("/sign-in", FORM_POST)]
)
def test_a_chunked_body_over_the_limit_is_cut_at_the_limit(app_client, path, kind):
    client, keys = app_client
    body = EndlessBody()
    headers = {**kind, **bearer(keys["platform"])}  # no Content-Length: chunked
    error = error_of(*asgi_post(client, path, headers, body), 413)
    assert error["code"] == "body_too_large"
    assert error["details"][0]["field"] == "body"
    assert str(LIMIT) in error["details"][0]["expected"]
    assert body.pulled == ENOUGH_CHUNKS  # and no more: the rest was never read


def test_a_body_longer_than_its_content_length_is_cut_at_the_limit(app_client):
    client, keys = app_client
    body = EndlessBody()
    headers = {**JSON_POST, **bearer(keys["platform"]), "content-length": "10"}
    error = error_of(*asgi_post(client, "/v1/score", headers, body), 413)
    assert error["code"] == "body_too_large"
    assert body.pulled == ENOUGH_CHUNKS


def test_a_body_under_the_limit_still_reaches_the_route(app_client):
    client, keys = app_client
    reply = client.post(
        "/v1/items",
        content=iter([b'{"items": [', b'{"id": "a", "text": "hello"}', b"]}"]),  # chunked
        headers={**JSON_POST, **bearer(keys["platform"])},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["results"][0]["scoring"] == "unscored"  # no model here: queued


def test_an_api_request_without_a_key_is_refused_before_its_body_is_read(app_client):
    client, _ = app_client
    body = EndlessBody()
    error = error_of(*asgi_post(client, "/v1/score", JSON_POST, body), 401)
    assert error["code"] == "unauthenticated"
    assert error["details"][0]["field"] == "Authorization"
    assert body.pulled == 0
    # the same answer the route gives a small body without a key, and a declared length over
    # the limit is still refused first, without reading
    assert_error_shape(client.post("/v1/score", json={"items": []}), 401, "Authorization")
    assert_error_shape(client.post("/v1/score", content=b" " * (LIMIT + 1)), 413, "body")


def test_routes_and_methods_are_still_told_apart_without_a_key(app_client):
    client, _ = app_client
    assert_error_shape(client.post("/v1/nothing", content=b"{}"), 404, "path")
    assert_error_shape(client.get("/v1/score"), 405, "method")
    assert_error_shape(client.get("/v1/queue"), 401, "Authorization")


# --- point 6: console sessions and CSRF tokens that are not ASCII or not text ----------------
def non_ascii_cookie(client) -> dict[str, bytes]:
    """A session cookie with the right form (payload.signature) but a non-ASCII signature,
    as raw header bytes (a browser would send what a proxy or an attacker put there)."""
    client.cookies.clear()
    return {"cookie": "triage_session=eyJzaWQiOiJ4In0.sïgnature".encode("latin-1")}


@pytest.mark.parametrize("path", ["/", "/items/1", "/preferences"])
def test_a_non_ascii_session_cookie_is_no_session(app_client, path):
    client, _ = app_client
    assert_error_shape(client.get(path, headers=non_ascii_cookie(client)), 401, "session")
    page = client.get(path, headers={**HTML, **non_ascii_cookie(client)}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/sign-in")


def test_the_sign_in_page_replaces_a_non_ascii_session_cookie(app_client):
    client, _ = app_client
    page = client.get("/sign-in", headers={**HTML, **non_ascii_cookie(client)})
    assert page.status_code == 200
    assert "triage_session=" in page.headers["set-cookie"]  # a fresh anonymous session


def test_posts_with_a_non_ascii_cookie_are_refused_not_failed(app_client):
    client, _ = app_client
    for path in ("/sign-in", "/preferences", "/items/1/events", "/sign-out"):
        reply = client.post(path, data={"csrf_token": "x"}, headers=non_ascii_cookie(client))
        assert reply.status_code in (401, 403), (path, reply.text)
        assert_error_shape(reply, reply.status_code)


def test_a_non_ascii_csrf_token_is_refused_with_403(app_client):
    client, keys = app_client
    client.get("/sign-in", headers=HTML)
    wrong = {"api_key": keys["alice"], "csrf_token": "tökén"}
    assert_error_shape(client.post("/sign-in", data=wrong), 403, "csrf_token")
    sign_in(client, keys["alice"])
    reply = client.post("/preferences", data={"csrf_token": "tökén"})
    assert_error_shape(reply, 403, "csrf_token")
    as_header = {"x-csrf-token": "tök".encode("latin-1")}
    assert_error_shape(client.post("/preferences", headers=as_header), 403, "csrf_token")


def test_a_file_uploaded_as_the_csrf_token_is_refused_with_403(app_client):
    client, keys = app_client
    token = csrf_of(client.get("/sign-in", headers=HTML).text)
    upload = {"csrf_token": ("token.txt", token.encode(), "text/plain")}
    reply = client.post("/sign-in", data={"api_key": keys["alice"]}, files=upload)
    assert_error_shape(reply, 403, "csrf_token")
    page = client.post("/sign-in", data={"api_key": keys["alice"]}, files=upload, headers=HTML)
    assert page.status_code == 403 and "csrf_failed" in page.text
    token = sign_in(client, keys["alice"])
    upload = {"csrf_token": ("token.txt", token.encode(), "text/plain")}
    reply = client.post("/preferences", data={"opt_out": "spam"}, files=upload)
    assert_error_shape(reply, 403, "csrf_token")


# --- point 8: forwarded headers are trusted only from configured proxies ---------------------
def served_app(settings: Settings):
    """The ASGI app as `triage serve` hands it to uvicorn (with uvicorn's proxy middleware
    when the options ask for it); logging is left alone, as the test's own."""
    import uvicorn

    from triage.cli.main import uvicorn_options
    from triage.service.app import create_app

    options = {**uvicorn_options(settings), "log_config": None}
    config = uvicorn.Config(create_app(settings), **options)
    config.load()
    return config.loaded_app


def sign_in_statuses(settings: Settings, forwarded_for: list[str]) -> list[int]:
    """Sign-in attempts from 127.0.0.1 (a local client, or a proxy), each with its own
    X-Forwarded-For, where an address may try twice a minute."""
    from fastapi.testclient import TestClient

    limited = settings.model_copy(update={"sign_in_rate": RateLimit(per_minute=1, burst=2)})
    with TestClient(served_app(limited), client=("127.0.0.1", 50000)) as client:
        return [
            client.post("/sign-in", headers={"x-forwarded-for": address}).status_code
            for address in forwarded_for
        ]


def test_serve_ignores_forwarded_headers_unless_configured(no_model_settings):
    from triage.cli.main import uvicorn_options

    options = uvicorn_options(no_model_settings)
    assert options["proxy_headers"] is False and "forwarded_allow_ips" not in options
    assert options["access_log"] is False
    proxied = no_model_settings.model_copy(update={"forwarded_allow_ips": "10.0.0.0/8,127.0.0.1"})
    options = uvicorn_options(proxied)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "10.0.0.0/8,127.0.0.1"


def test_rotating_x_forwarded_for_does_not_escape_the_sign_in_limit(no_model_settings):
    create_keys(no_model_settings.database_url)
    rotating = [f"203.0.113.{n}" for n in range(1, 6)]
    # 2 attempts a minute per address: the first two are refused for want of a CSRF token
    assert sign_in_statuses(no_model_settings, rotating) == [403, 403, 429, 429, 429]


def test_a_configured_proxy_is_trusted_for_the_client_address(no_model_settings):
    create_keys(no_model_settings.database_url)
    proxied = no_model_settings.model_copy(update={"forwarded_allow_ips": "127.0.0.1"})
    clients = ["203.0.113.1", "203.0.113.2", "203.0.113.1", "203.0.113.1"]
    assert sign_in_statuses(proxied, clients) == [403, 403, 403, 429]


def test_the_forwarded_allow_ips_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRIAGE_FORWARDED_ALLOW_IPS", "10.1.2.3")
    assert Settings().forwarded_allow_ips == "10.1.2.3"
    monkeypatch.delenv("TRIAGE_FORWARDED_ALLOW_IPS")
    assert Settings().forwarded_allow_ips is None
