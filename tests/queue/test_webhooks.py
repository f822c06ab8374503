"""Alerts off-screen (issue 14, point 3): signed outgoing webhooks, tested against a local
receiver on 127.0.0.1. Items go through the real POST /v1/items path with a fake scorer that
gives the tier a test asks for; time is a clock the test moves, so backoff takes no waiting."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from tests.conftest import TIER_RULES, bearer, create_keys, run_cli
from triage.domain.labels import Tier
from triage.queue import store as queue
from triage.scoring.results import ScoreResult
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage import webhooks as store
from triage.storage.database import Database
from triage.storage.tables import WebhookDelivery, WebhookEndpoint

SECRET = "s" * 40
POST_TEXT = "I have the pills counted out for tonight, zebra-quartz"  # never in a default alert
HTML = {"accept": "text/html"}
ROOT = Path(__file__).resolve().parents[2]
SCORES = {
    "crisis": {"self_harm": 0.99, "distress": 0.9},
    "red": {"self_harm": 0.8, "distress": 0.7},
    "green": {"self_harm": 0.01, "distress": 0.02},
}


# --- a local receiver ------------------------------------------------------------------------
@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers the next status of
    `statuses` (the last one repeats)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)
    stopped: bool = False

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(Received(dict(self.headers.items()), body))
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/t0ken-in-path?x=1"

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture()
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


# --- the app, with a scorer that gives each post the tier its text asks for ------------------
class FakeScorer:
    """Tier from the text: "tier=crisis ..." is crisis, and so on; "explode" raises."""

    bundle = SimpleNamespace(name="fake", version="1", trained_labels=(), thresholds={})

    def score(self, inputs):
        results = []
        for item in inputs:
            if "explode" in item.text:
                raise RuntimeError(f"cannot read {item.text!r}")
            tier = (
                re.search(r"tier=(\w+)", item.text).group(1) if "tier=" in item.text else "crisis"
            )
            flags = ["self_harm"] if tier in ("crisis", "red") else []
            results.append(ScoreResult(item.id, SCORES[tier], flags, Tier(tier), 0))
        return results


class Clock:
    """The webhooks' clock: real time plus what the test moved it on by."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @property
    def now(self) -> datetime:
        return self()

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def webhook_settings(database_url: str, urls: list[str], tmp_path: Path, **overrides) -> Settings:
    values = {
        "bundle_dir": tmp_path / "no-model",  # the fake scorer is put in after start-up
        "database_url": database_url,
        "secret_key": "k" * 40,
        "webhook_urls": urls,
        "webhook_secret": SECRET,
        "webhook_poll_interval_s": 3600,  # the tests send themselves, with their clock
        "rescore_interval_s": 3600,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture()
def make_app(tmp_path):
    """make_app(urls, **settings) -> (client, keys, clock): the app on a fresh SQLite file."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    keys = create_keys(url)
    clients = []

    def make(urls: list[str], database_url: str = url, **overrides):
        settings = webhook_settings(database_url, urls, tmp_path, **overrides)
        client = TestClient(create_app(settings), headers=bearer(keys["admin"])).__enter__()
        clients.append(client)
        context_of(client.app).model.scorer = FakeScorer()
        clock = Clock()
        if context_of(client.app).webhooks is not None:
            context_of(client.app).webhooks.clock = clock
        return client, keys, clock

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def ingest(client, external_id: str, text: str = POST_TEXT) -> int:
    reply = client.post("/v1/items", json={"items": [{"id": external_id, "text": text}]})
    assert reply.status_code == 200, reply.text
    return reply.json()["results"][0]["item_id"]


def deliveries(client) -> list[WebhookDelivery]:
    with context_of(client.app).database.read() as session:
        return list(session.query(WebhookDelivery).order_by(WebhookDelivery.id))


def verify(received: Received, secret: str = SECRET, tolerance_s: int = 300) -> dict:
    """What a receiver does (README, Alerts): check the timestamp and the signature."""
    timestamp = received.headers["X-Triage-Timestamp"]
    assert abs(time.time() - int(timestamp)) < tolerance_s
    signed = timestamp.encode() + b"." + received.body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, received.headers["X-Triage-Signature"])
    return json.loads(received.body)


# --- a crisis item sends one signed alert -----------------------------------------------------
def test_crisis_item_sends_one_signed_alert_without_text(make_app, receiver):
    client, _, _ = make_app([receiver.url])
    item_id = ingest(client, "p1")
    assert context_of(client.app).webhooks.deliver_due() == 1

    (received,) = receiver.requests
    payload = verify(received)
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["X-Triage-Event"] == "crisis"
    (delivery,) = deliveries(client)
    assert received.headers["X-Triage-Delivery"] == str(delivery.id)
    assert payload["event"] == "crisis" and payload["delivery_id"] == delivery.id
    item = payload["item"]
    assert item["id"] == item_id and item["external_id"] == "p1" and item["tier"] == "crisis"
    assert item["flags"] == ["self_harm"] and item["scores"]["self_harm"] == 0.99
    assert item["console_url"] == f"/items/{item_id}" and item["sla_due_at"]
    assert "text" not in item and b"zebra-quartz" not in received.body
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.delivered_at is not None
    assert delivery.payload_digest == hashlib.sha256(received.body).hexdigest()

    assert context_of(client.app).webhooks.deliver_due() == 0  # nothing more to send
    assert len(receiver.requests) == 1


def test_a_wrong_secret_does_not_verify(make_app, receiver):
    client, _, _ = make_app([receiver.url])
    ingest(client, "p1")
    context_of(client.app).webhooks.deliver_due()
    with pytest.raises(AssertionError):
        verify(receiver.requests[0], secret="t" * 40)


def test_text_is_sent_only_when_configured(make_app, receiver):
    client, _, _ = make_app(
        [receiver.url], webhook_include_text=True, webhook_console_url="https://triage.example/"
    )
    item_id = ingest(client, "p1")
    context_of(client.app).webhooks.deliver_due()
    item = verify(receiver.requests[0])["item"]
    assert item["text"] == POST_TEXT
    assert item["console_url"] == f"https://triage.example/items/{item_id}"


def test_green_and_red_items_send_nothing_by_default(make_app, receiver):
    client, _, _ = make_app([receiver.url])
    ingest(client, "g", "tier=green a walk in the park")
    ingest(client, "r", "tier=red some words")
    assert context_of(client.app).webhooks.deliver_due() == 0
    assert deliveries(client) == [] and receiver.requests == []


def test_red_condition_when_chosen(make_app, receiver):
    client, _, _ = make_app([receiver.url], webhook_on="red")
    ingest(client, "c", "tier=crisis words")
    ingest(client, "r", "tier=red words")
    context_of(client.app).webhooks.deliver_due()
    assert [verify(r)["event"] for r in receiver.requests] == ["red"]


# --- retries, backoff, disabling ---------------------------------------------------------------
def test_failing_receiver_is_retried_with_backoff_then_succeeds(make_app, receiver):
    receiver.statuses = [500, 503, 200]
    client, _, clock = make_app([receiver.url])
    webhooks = context_of(client.app).webhooks
    ingest(client, "p1")

    assert webhooks.deliver_due() == 1  # attempt 1: 500
    (delivery,) = deliveries(client)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_status_code == 500 and delivery.last_error == "http_500"
    wait = (delivery.next_attempt_at - clock.now).total_seconds()
    assert 4.0 <= wait <= 6.0  # 5 s, +-20%

    assert webhooks.deliver_due() == 0  # not due yet
    clock.advance(wait + 0.01)
    assert webhooks.deliver_due() == 1  # attempt 2: 503
    (delivery,) = deliveries(client)
    wait = (delivery.next_attempt_at - clock.now).total_seconds()
    assert 8.0 <= wait <= 12.0 and delivery.last_error == "http_503"  # 10 s, +-20%

    clock.advance(wait + 0.01)
    assert webhooks.deliver_due() == 1  # attempt 3: 200
    (delivery,) = deliveries(client)
    assert delivery.status == "delivered" and delivery.attempts == 3
    bodies = [verify(r) for r in receiver.requests]
    assert len({r.headers["X-Triage-Delivery"] for r in receiver.requests}) == 1
    assert [b["attempt"] for b in bodies] == [1, 2, 3]

    metrics = client.get("/metrics").text
    assert 'triage_webhook_deliveries_total{status="retried"} 2.0' in metrics
    assert 'triage_webhook_deliveries_total{status="delivered"} 1.0' in metrics


def test_backoff_doubles_and_is_capped(make_app, receiver):
    client, _, _ = make_app([receiver.url], webhook_backoff_max_s=30)
    webhooks = context_of(client.app).webhooks
    waits = [webhooks.backoff_s(attempt) for attempt in range(1, 8)]
    for attempt, wait in enumerate(waits[:3], start=1):
        assert 0.8 * 5 * 2 ** (attempt - 1) <= wait <= 1.2 * 5 * 2 ** (attempt - 1)
    assert max(waits) <= 30 and waits[-1] == 30


def test_alert_fails_after_max_attempts(make_app, receiver):
    receiver.statuses = [500]
    client, _, clock = make_app([receiver.url], webhook_max_attempts=3)
    ingest(client, "p1")
    for _ in range(5):
        context_of(client.app).webhooks.deliver_due()
        clock.advance(60)
    (delivery,) = deliveries(client)
    assert delivery.status == "failed" and delivery.attempts == 3
    assert len(receiver.requests) == 3


def test_endpoint_is_disabled_after_repeated_failures_shown_and_enabled_again(
    make_app, receiver, tmp_path
):
    receiver.statuses = [500]
    client, _, clock = make_app([receiver.url], webhook_max_attempts=1, webhook_disable_after=3)
    webhooks = context_of(client.app).webhooks
    for n in range(4):
        ingest(client, f"p{n}")
    webhooks.deliver_due()
    assert len(receiver.requests) == 3  # the third failure disabled it: the fourth is not sent
    webhooks.deliver_due()
    statuses = [(d.status, d.last_error) for d in deliveries(client)]
    assert statuses == [("failed", "http_500")] * 3 + [("failed", "endpoint_disabled")]

    listing = client.get("/v1/webhooks")
    assert listing.status_code == 200
    (endpoint,) = listing.json()["endpoints"]
    assert endpoint["enabled"] is False and endpoint["configured"] is True
    assert endpoint["disabled_at"] and "3 alerts in a row failed" in endpoint["disabled_reason"]
    assert endpoint["last_error"] == "http_500" and endpoint["deliveries"]["failed"] == 4
    assert endpoint["target"] == f"http://127.0.0.1:{receiver.server.server_address[1]}/…"
    assert "t0ken" not in listing.text  # the URL's path is a credential
    assert "triage_webhook_endpoints_disabled 1.0" in client.get("/metrics").text

    result = run_cli("webhooks", "list", "--database", context_of(client.app).settings.database_url)
    assert result.exit_code == 0 and "DISABLED" in result.output and "t0ken" not in result.output
    database_url = context_of(client.app).settings.database_url
    result = run_cli("webhooks", "enable", receiver.url, "--database", database_url)
    assert result.exit_code == 0, result.output
    receiver.statuses = [200]
    ingest(client, "after")
    assert webhooks.deliver_due() == 1
    assert deliveries(client)[-1].status == "delivered"
    assert client.get("/v1/webhooks").json()["endpoints"][0]["enabled"] is True


def test_enable_names_an_unknown_endpoint(make_app, receiver):
    client, _, _ = make_app([receiver.url])
    result = run_cli(
        "webhooks", "enable", "99", "--database", context_of(client.app).settings.database_url
    )
    assert result.exit_code != 0 and "no such webhook endpoint" in result.output


def test_unreachable_endpoint_is_a_failed_attempt_with_a_kind(make_app, receiver):
    port = receiver.server.server_address[1]
    receiver.stop()  # nothing listens there now
    client, _, _ = make_app([f"http://127.0.0.1:{port}/gone"])
    ingest(client, "p1")
    context_of(client.app).webhooks.deliver_due()
    (delivery,) = deliveries(client)
    assert delivery.status == "pending" and delivery.last_error == "connection_refused"
    assert delivery.last_status_code is None


# --- idempotence ---------------------------------------------------------------------------------
def test_rescoring_and_retries_do_not_send_twice(make_app, receiver):
    from triage.queue.ingest import Ingest

    client, _, _ = make_app([receiver.url])
    context = context_of(client.app)
    item_id = ingest(client, "p1")
    ingest(client, "p1")  # a retried ingest: the same item
    with context.database.read() as session:
        item = queue.get_item(session, item_id)
    scoring = Ingest(
        context.database,
        context.model,
        context.executor,
        context.settings.tier_rules,
        5,
        faults=None,  # this test counts deliveries, not faults
        alerts=context.webhooks,
    )
    for _ in range(2):  # scored again (as the retry loop would)
        scoring.score_stored([item])
    context.webhooks.deliver_due()
    context.webhooks.deliver_due()
    assert len(deliveries(client)) == 1 and len(receiver.requests) == 1


def test_a_restarted_service_does_not_send_again(make_app, receiver):
    client, _, _ = make_app([receiver.url])
    ingest(client, "p1")
    context_of(client.app).webhooks.deliver_due()
    again, _, _ = make_app([receiver.url])  # a second start on the same database
    first, second = context_of(client.app).webhooks, context_of(again.app).webhooks
    assert second.endpoint_ids == first.endpoint_ids
    assert second.deliver_due() == 0
    assert len(receiver.requests) == 1


def _fill(database_url: str, count: int, endpoint_ids: list[int]) -> None:
    db = Database(database_url)
    now = datetime.now(UTC)
    news = [queue.NewItem("c", f"n{n}", "words") for n in range(count)]
    with db.write() as session:
        for item, _ in queue.ingest(session, news, now, TIER_RULES):
            store.enqueue(session, item.id, endpoint_ids, "crisis", now)
    db.dispose()


def _clear_webhook_tables(database_url: str) -> None:
    db = Database(database_url)
    with db.write() as session:
        session.query(WebhookDelivery).delete()
        session.query(WebhookEndpoint).delete()
    db.dispose()


def test_two_senders_never_send_the_same_alert(database_url, receiver, tmp_path):
    """Two replicas' senders (each its own Database and engine) work one queue of 12 alerts at
    once, on SQLite and on PostgreSQL: every alert is sent exactly once."""
    from triage.queue.alerts import Webhooks

    _clear_webhook_tables(database_url)
    settings = webhook_settings(database_url, [receiver.url], tmp_path)
    senders = []
    for _ in range(2):
        db = Database(database_url)
        sender = Webhooks(settings, db)
        sender.start()
        inner = sender.transport

        def slow(request, inner=inner):
            time.sleep(0.02)  # both senders are mid-round at the same time
            return inner(request)

        sender.transport = slow
        senders.append(sender)
    assert senders[0].endpoint_ids == senders[1].endpoint_ids
    _fill(database_url, 12, list(senders[0].endpoint_ids.values()))

    counts = [0, 0]

    def work(index: int) -> None:
        counts[index] = senders[index].deliver_due()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sender in senders:
        sender.db.dispose()

    sent = [r.headers["X-Triage-Delivery"] for r in receiver.requests]
    assert len(sent) == 12 and len(set(sent)) == 12
    assert sum(counts) == 12 and min(counts) > 0, counts  # both took part
    db = Database(database_url)
    with db.read() as session:
        rows = session.query(WebhookDelivery).all()
    db.dispose()
    assert {(r.status, r.attempts) for r in rows} == {("delivered", 1)}


def test_a_claim_left_by_a_dead_sender_is_retried_after_its_lease(make_app, receiver):
    from triage.queue.alerts import LEASE_MARGIN_S

    client, _, clock = make_app([receiver.url])
    webhooks = context_of(client.app).webhooks
    ingest(client, "p1")
    ids = list(webhooks.endpoint_ids.values())
    lease = timedelta(seconds=5 + LEASE_MARGIN_S)
    with context_of(client.app).database.write() as session:  # claimed, then the sender died
        assert store.claim_next(session, ids, clock.now, lease, 6) is not None
    assert webhooks.deliver_due() == 0
    clock.advance(lease.total_seconds() + 1)
    assert webhooks.deliver_due() == 1
    (delivery,) = deliveries(client)
    assert delivery.status == "delivered" and delivery.attempts == 2


def test_a_lost_last_attempt_marks_the_alert_failed(make_app, receiver):
    client, _, clock = make_app([receiver.url], webhook_max_attempts=1)
    ingest(client, "p1")
    ids = list(context_of(client.app).webhooks.endpoint_ids.values())
    # the only attempt, and its sender died
    with context_of(client.app).database.write() as session:
        assert store.claim_next(session, ids, clock.now, timedelta(seconds=35), 1) is not None
    clock.advance(60)
    assert context_of(client.app).webhooks.deliver_due() == 0
    (delivery,) = deliveries(client)
    assert (delivery.status, delivery.last_error, delivery.attempts) == (
        "failed",
        "attempt_lost",
        1,
    )
    assert receiver.requests == []


def test_a_transport_that_raises_is_a_failed_attempt(make_app, receiver):
    client, _, _ = make_app([receiver.url])

    def broken(request):
        raise ValueError(f"cannot send {request.body!r}")

    context_of(client.app).webhooks.transport = broken
    ingest(client, "p1")
    assert context_of(client.app).webhooks.deliver_due() == 1
    (delivery,) = deliveries(client)
    assert delivery.status == "pending" and delivery.last_error == "send_error"


# --- the other conditions ------------------------------------------------------------------------
def test_red_item_near_its_sla_alerts_once_unless_claimed(make_app, receiver):
    client, keys, clock = make_app([receiver.url])
    webhooks = context_of(client.app).webhooks
    waiting = ingest(client, "r1", "tier=red words")
    claimed = ingest(client, "r2", "tier=red more words")
    reply = client.post(
        f"/v1/items/{claimed}/events", json={"type": "claim"}, headers=bearer(keys["alice"])
    )
    assert reply.status_code < 300, reply.text
    assert webhooks.run_once() == 0  # red alone is not a default condition; not near its SLA

    clock.advance(44 * 60)  # red SLA 60 min: 0.75 of it is 45 min
    assert webhooks.check_near_sla() == 0
    clock.advance(2 * 60)
    assert webhooks.check_near_sla() == 1
    assert webhooks.check_near_sla() == 0  # recorded once
    assert webhooks.run_once() == 1
    (payload,) = [verify(r, tolerance_s=4000) for r in receiver.requests]
    assert payload["event"] == "red_near_sla" and payload["item"]["id"] == waiting
    assert [d.item_id for d in deliveries(client)] == [waiting]


def test_unscored_item_alerts(make_app, receiver):
    client, _, _ = make_app([receiver.url])
    item_id = ingest(client, "u1", "explode " + POST_TEXT)
    context_of(client.app).webhooks.deliver_due()
    (received,) = receiver.requests
    payload = verify(received)
    assert payload["event"] == "unscored" and payload["item"]["id"] == item_id
    assert payload["item"]["tier"] is None and payload["item"]["scores"] is None
    assert b"zebra-quartz" not in received.body


def test_the_background_loop_sends_by_itself(make_app, receiver):
    client, _, _ = make_app([receiver.url], webhook_poll_interval_s=0.05)
    context_of(client.app).webhooks.clock = lambda: datetime.now(UTC)
    ingest(client, "p1")
    deadline = time.monotonic() + 10
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(receiver.requests) == 1


def test_no_webhooks_without_urls(make_app):
    client, _, _ = make_app([])
    assert context_of(client.app).webhooks is None
    ingest(client, "p1")
    assert deliveries(client) == []
    assert client.get("/v1/webhooks").json() == {
        "enabled": False,
        "conditions": ["crisis", "red_near_sla", "unscored"],
        "endpoints": [],
    }


def test_webhooks_listing_needs_an_admin_key(make_app, receiver):
    client, keys, _ = make_app([receiver.url])
    assert client.get("/v1/webhooks", headers=bearer(keys["alice"])).status_code == 403
    assert client.get("/v1/webhooks", headers={"Authorization": ""}).status_code == 401


# --- what a moderator sees, and what is never logged -------------------------------------------
def test_console_item_page_shows_the_delivery_log(make_app, receiver):
    from tests.service.console.test_console import sign_in

    receiver.statuses = [500, 200]
    client, keys, clock = make_app([receiver.url])
    item_id = ingest(client, "p1")
    context_of(client.app).webhooks.deliver_due()
    sign_in(client, keys["alice"])
    page = client.get(f"/items/{item_id}", headers=HTML).text
    log_table = page[page.index('data-testid="alerts"') :]
    assert "crisis" in log_table and "pending" in log_table and "http_500" in log_table
    assert "t0ken" not in page

    clock.advance(60)
    context_of(client.app).webhooks.deliver_due()
    page = client.get(f"/items/{item_id}", headers=HTML).text
    log_table = page[page.index('data-testid="alerts"') :]
    assert "delivered" in log_table and "<td>2</td>" in log_table
    other = ingest(client, "g", "tier=green fine")
    assert 'data-testid="alerts"' not in client.get(f"/items/{other}", headers=HTML).text


def test_no_text_and_no_url_path_in_logs(make_app, receiver, caplog):
    receiver.statuses = [500, 200]
    client, _, clock = make_app([receiver.url], webhook_include_text=True)
    with caplog.at_level(logging.DEBUG):
        ingest(client, "p1")
        context_of(client.app).webhooks.deliver_due()
        clock.advance(60)
        context_of(client.app).webhooks.deliver_due()
    assert receiver.requests and b"zebra-quartz" in receiver.requests[-1].body
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "webhook delivery" in logged
    assert "zebra-quartz" not in logged and "t0ken" not in logged


# --- settings -----------------------------------------------------------------------------------
def test_urls_need_a_secret_and_start_up_says_how(tmp_path, monkeypatch):
    with pytest.raises(ValidationError, match="TRIAGE_WEBHOOK_SECRET"):
        Settings(webhook_urls=["http://127.0.0.1:9/x"])
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(webhook_urls=["http://127.0.0.1:9/x"], webhook_secret="short")
    with pytest.raises(ValidationError, match="http:// or https://"):
        Settings(webhook_urls=["ftp://example.org/x"], webhook_secret=SECRET)
    with pytest.raises(ValidationError):
        Settings(webhook_on="crisis,blue")

    monkeypatch.setenv("TRIAGE_WEBHOOK_URLS", "http://127.0.0.1:9/a, https://hooks.example/b")
    monkeypatch.setenv("TRIAGE_WEBHOOK_ON", "crisis,unscored")
    monkeypatch.setenv("TRIAGE_WEBHOOK_SECRET", "x" * 10 + "-do-not-print")
    result = run_cli("serve", "--bundle", tmp_path)
    assert result.exit_code != 0 and "TRIAGE_WEBHOOK_SECRET" in result.output
    assert "secrets.token_urlsafe" in result.output and "do-not-print" not in result.output
    monkeypatch.setenv("TRIAGE_WEBHOOK_SECRET", SECRET)
    settings = Settings()
    assert settings.webhook_urls == ["http://127.0.0.1:9/a", "https://hooks.example/b"]
    assert settings.webhook_on == ["crisis", "unscored"]


def test_every_webhook_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    alerts = readme[readme.index("## Alerts") :]
    for name in Settings.model_fields:
        if name.startswith("webhook_"):
            assert f"TRIAGE_{name.upper()}" in alerts, name


def test_a_post_first_seen_in_a_member_report_alerts_too(make_app, receiver):
    """POST /v1/reports with the post stores and scores it as ingest does: alerts included."""
    client, _, _ = make_app([receiver.url])
    reply = client.post(
        "/v1/reports",
        json={
            "item_id": "m1",
            "reporter_id": "member-7",
            "reason": "self_harm_concern",
            "post": {"text": POST_TEXT},
        },
    )
    assert reply.status_code == 200, reply.text
    assert context_of(client.app).webhooks.deliver_due() == 1
    (received,) = receiver.requests
    assert verify(received)["event"] == "crisis"


def test_a_config_folder_without_reports_yaml_uses_the_shipped_reasons(tmp_path):
    import shutil

    from triage.paths import DEFAULT_CONFIG_DIR

    folder = tmp_path / "configs"
    shutil.copytree(DEFAULT_CONFIG_DIR, folder)
    (folder / "reports.yaml").unlink()
    settings = Settings(config_dir=folder)
    assert "bullying" in settings.report_rules.reasons


def test_a_webhook_url_with_a_bad_port_is_a_clear_settings_error():
    with pytest.raises(ValueError, match="port that is not a number"):
        Settings(webhook_urls=["http://127.0.0.1:99999/hook"], webhook_secret="s" * 40)


# A webhook URL often holds a token in its user, path or query: none of it may be echoed back.
URL_SECRETS = ("alertbot", "t0kenPW", "T0PATH", "S3CRETQ")
BAD_WEBHOOK_URLS = {
    "not a URL": "https://alertbot:t0kenPW@hooks.test/T0PATH?key=S3CRETQ,notaurl",
    "a bad scheme": "htps://alertbot:t0kenPW@hooks.test/T0PATH?key=S3CRETQ",
    "no scheme": "hooks.test/T0PATH?key=S3CRETQ&u=alertbot:t0kenPW",
    "a user but no scheme": "alertbot:t0kenPW@hooks.test/T0PATH?key=S3CRETQ",
    "a bad port": "https://alertbot:t0kenPW@hooks.test:99999/T0PATH?key=S3CRETQ",
    "unreadable": "https://alertbot:t0kenPW\uff03S3CRETQ@hooks.test/T0PATH",  # NFKC "#"
    "listed twice": "https://alertbot:t0kenPW@hooks.test/T0PATH?key=S3CRETQ,"
    "https://alertbot:t0kenPW@hooks.test/T0PATH?key=S3CRETQ",
    "no TRIAGE_WEBHOOK_SECRET": "https://alertbot:t0kenPW@hooks.test/T0PATH?key=S3CRETQ",
}


@pytest.mark.parametrize(("problem", "urls"), BAD_WEBHOOK_URLS.items(), ids=BAD_WEBHOOK_URLS)
def test_a_bad_webhook_url_is_never_echoed_back(problem, urls, tmp_path, monkeypatch):
    """The service, every command and the error itself name the problem (and the host at
    most), never the URL's user, password, path or query."""
    monkeypatch.setenv("TRIAGE_WEBHOOK_URLS", urls)
    if "SECRET" not in problem:
        monkeypatch.setenv("TRIAGE_WEBHOOK_SECRET", SECRET)
    with pytest.raises(ValidationError) as raised:
        Settings()
    shown = [str(raised.value), repr(raised.value)]
    database = f"sqlite:///{tmp_path / 'hooks.db'}"
    for command in (["serve", "--bundle", tmp_path], ["webhooks", "list", "--database", database]):
        result = run_cli(*command)
        assert result.exit_code == 1 and "bad settings" in result.output, result.output
        assert "webhook_" in result.output.lower(), result.output  # it names the setting
        shown.append(result.output)
    for text in shown:
        assert not any(secret in text for secret in URL_SECRETS), text
