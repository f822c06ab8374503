"""Alerts off-screen: signed outgoing webhooks (Settings.webhook_*; README, Alerts).

Conditions: `crisis` and `red` when an item is scored so, `unscored` when scoring fails, and
`red_near_sla` when a red item has waited webhook_near_sla_share of its SLA, open and
unclaimed (a periodic check). The first three are recorded in the transaction that writes the
scores (queue/ingest.py calls on_scored / on_unscored; rescore/writeback.py calls on_scored for
an item a new bundle raises to crisis or red), so an alert is in the database before
anything is sent and fires once per item, endpoint and condition (storage/webhooks.py).

Each replica's sender wakes every webhook_poll_interval_s, claims due deliveries one at a time
and POSTs them with urllib on a worker thread (the serving path stays free of HTTP client
libraries). The body never holds post text unless webhook_include_text; logs name deliveries
and endpoints by id, never a URL (a chat tool's webhook URL is a credential) or a body.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import random
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from triage import __version__
from triage.domain.labels import Tier
from triage.settings import Settings
from triage.storage import webhooks as store
from triage.storage.database import Database
from triage.storage.tables import Item

log = logging.getLogger(__name__)

SCORED_CONDITIONS = (Tier.CRISIS.value, Tier.RED.value)  # fire when scored in that tier
LEASE_MARGIN_S = 30.0  # a claimed attempt is retried by another sender this long after its limit
NEAR_SLA_BATCH = 200
DELIVERY_BATCH = 50  # attempts per round, so one round never runs unbounded


@dataclass(frozen=True)
class OutgoingRequest:
    url: str
    body: bytes
    headers: dict[str, str]
    timeout_s: float


Transport = Callable[[OutgoingRequest], store.AttemptResult]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery (http_3xx): urllib would resend a POST as a bodiless GET."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def urllib_transport(request: OutgoingRequest) -> store.AttemptResult:
    """POST with the standard library; the response body is read (capped) and dropped."""
    outgoing = urllib.request.Request(
        request.url, data=request.body, headers=request.headers, method="POST"
    )
    try:
        with _OPENER.open(outgoing, timeout=request.timeout_s) as response:
            response.read(65_536)
            return store.AttemptResult(response.status, None)
    except urllib.error.HTTPError as error:
        error.close()
        return store.AttemptResult(error.code, f"http_{error.code}")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        return store.AttemptResult(None, error_kind(error))


def error_kind(error: BaseException) -> str:
    """A short kind for an attempt that got no answer: never the error's message."""
    reason = getattr(error, "reason", error)
    if isinstance(reason, TimeoutError):
        return "timeout"
    if isinstance(reason, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(reason, ssl.SSLError):
        return "tls_error"
    if isinstance(reason, socket.gaierror):
        return "dns_error"
    if isinstance(reason, ConnectionError):
        return "connection_error"
    if isinstance(reason, http.client.HTTPException):
        return "bad_response"
    if isinstance(reason, OSError):
        return "network_error"
    return "url_error" if isinstance(error, urllib.error.URLError) else "send_error"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """X-Triage-Signature: "sha256=" + hex HMAC-SHA256(secret, "<timestamp>.<body>")."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class Webhooks:
    """The webhook settings of one app, its endpoints' ids, and the sender.

    `transport`, `clock` and `rng` are injectable so tests need neither a network nor waits.
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        metrics=None,
        transport: Transport = urllib_transport,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.settings, self.db, self.metrics = settings, db, metrics
        self.transport, self.clock, self.rng = transport, clock, rng or random.Random()
        self.conditions = frozenset(settings.webhook_on)
        self.endpoint_ids: dict[str, int] = {}
        secret = settings.webhook_secret
        self.secret = secret.get_secret_value() if secret is not None else ""

    def start(self) -> None:
        """Create the endpoints' rows (or find them) before any alert is recorded."""
        now = self.clock()
        self.endpoint_ids = self.db.write_retrying(
            lambda session: store.ensure_endpoints(session, self.settings.webhook_urls, now)
        )
        log.info("webhooks: %d endpoints, on %s", len(self.endpoint_ids), sorted(self.conditions))

    # --- triggers, in the caller's transaction ---------------------------------------------
    def on_scored(self, session: Session, item: Item, now: datetime) -> None:
        if item.tier in SCORED_CONDITIONS and item.tier in self.conditions:
            store.enqueue(session, item.id, self.endpoint_ids.values(), item.tier, now)

    def on_unscored(self, session: Session, item: Item, now: datetime) -> None:
        if "unscored" in self.conditions:
            store.enqueue(session, item.id, self.endpoint_ids.values(), "unscored", now)

    def check_near_sla(self) -> int:
        """Record red_near_sla alerts for red items that have waited long enough; how many."""
        sla = self.settings.tier_rules.sla_minutes.get(Tier.RED.value)
        if store.NEAR_SLA not in self.conditions or not sla or not self.endpoint_ids:
            return 0
        now = self.clock()
        waited_since = now - timedelta(minutes=sla * self.settings.webhook_near_sla_share)
        ids = list(self.endpoint_ids.values())

        def record(session: Session) -> int:
            items = store.red_items_near_sla(session, waited_since, ids, NEAR_SLA_BATCH)
            for item_id in items:
                store.enqueue(session, item_id, ids, store.NEAR_SLA, now)
            return len(items)

        return self.db.write_retrying(record)

    # --- delivery ---------------------------------------------------------------------------
    def run_once(self) -> int:
        """One round of the background loop: the near-SLA check, then due deliveries."""
        self.check_near_sla()
        return self.deliver_due()

    def deliver_due(self, limit: int = DELIVERY_BATCH) -> int:
        """Attempt up to `limit` due deliveries, one claim at a time; returns how many."""
        skipped = self.db.write_retrying(lambda session: store.fail_disabled(session, self.clock()))
        self._count("skipped", skipped)
        attempted = 0
        while attempted < limit and self.deliver_one():
            attempted += 1
        self._update_disabled_gauge()
        return attempted

    def deliver_one(self) -> bool:
        """Claim, send and record one due delivery; False when none is due."""
        lease = timedelta(seconds=self.settings.webhook_timeout_s + LEASE_MARGIN_S)
        ids = list(self.endpoint_ids.values())
        now = self.clock()
        attempts = self.settings.webhook_max_attempts
        claim = self.db.write_retrying(
            lambda session: store.claim_next(session, ids, now, lease, attempts)
        )
        if claim is None:
            return False
        body = self.body(claim)
        try:
            result = self.transport(self.request(claim, body))
        except Exception as error:  # a failed attempt like any other, never a stuck alert
            result = store.AttemptResult(None, error_kind(error))
        status = self._record(claim, result, hashlib.sha256(body).hexdigest())
        log.info(
            "webhook delivery %d (%s, item %d) to endpoint %d, attempt %d: %s",
            claim.delivery_id,
            claim.condition,
            claim.item.id,
            claim.endpoint_id,
            claim.attempt,
            result.error or result.status_code,
        )
        self._count("retried" if status == store.PENDING else status)
        return True

    def _record(self, claim: store.Claim, result: store.AttemptResult, digest: str) -> str:
        now = self.clock()
        retry_at = None
        if not result.ok and claim.attempt < self.settings.webhook_max_attempts:
            retry_at = now + timedelta(seconds=self.backoff_s(claim.attempt))
        disable_after = self.settings.webhook_disable_after
        return self.db.write_retrying(
            lambda session: store.record_attempt(
                session, claim.delivery_id, result, digest, now, retry_at, disable_after
            )
        )

    def backoff_s(self, attempt: int) -> float:
        """Wait after failed attempt `attempt`: 5, 10, 20 s ... (webhook_backoff_s doubling),
        each +-20% so alerts that failed together do not retry together, at most
        webhook_backoff_max_s."""
        base = self.settings.webhook_backoff_s * 2 ** (attempt - 1)
        jittered = base * self.rng.uniform(0.8, 1.2)
        return min(jittered, self.settings.webhook_backoff_max_s)

    def request(self, claim: store.Claim, body: bytes) -> OutgoingRequest:
        url = next(u for u, i in self.endpoint_ids.items() if i == claim.endpoint_id)
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"triage/{__version__}",
            "X-Triage-Event": claim.condition,
            "X-Triage-Delivery": str(claim.delivery_id),
            "X-Triage-Timestamp": str(timestamp),
            "X-Triage-Signature": sign(self.secret, timestamp, body),
        }
        return OutgoingRequest(url, body, headers, self.settings.webhook_timeout_s)

    def body(self, claim: store.Claim) -> bytes:
        payload = {
            "event": claim.condition,
            "delivery_id": claim.delivery_id,
            "attempt": claim.attempt,
            "item": self.item_payload(claim.item),
            "sent_at": self.clock().isoformat(),
        }
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    def item_payload(self, item: Item) -> dict:
        scored = item.scoring_state == "scored"
        sla = self.settings.tier_rules.sla_for(item.tier if scored else None)
        scores = {k: round(v, 2) for k, v in (item.scores or {}).items() if v is not None}
        base = (self.settings.webhook_console_url or "").rstrip("/")
        payload = {
            "id": item.id,
            "external_id": item.external_id,
            "community": item.community,
            "tier": item.tier,
            "priority": item.priority,
            "flags": list(item.flags or []),
            "scores": scores or None,
            "reasons": list(item.priority_reasons or []),
            "state": item.state,
            "received_at": item.received_at.isoformat(),
            "sla_due_at": (item.received_at + timedelta(minutes=sla)).isoformat() if sla else None,
            "console_url": f"{base}/items/{item.id}",
        }
        if self.settings.webhook_include_text:
            payload["text"] = item.text  # None once purged by the retention policy
        return payload

    def _count(self, status: str, count: int = 1) -> None:
        if self.metrics is not None and count:
            self.metrics.webhook_deliveries.labels(status).inc(count)

    def _update_disabled_gauge(self) -> None:
        if self.metrics is None:
            return
        with self.db.read() as session:
            disabled = store.disabled_count(session, self.endpoint_ids.values())
        self.metrics.webhook_endpoints_disabled.set(disabled)


def create(settings: Settings, db: Database, metrics=None) -> Webhooks | None:
    """The app's Webhooks, started; None when no webhook URL is configured."""
    if not settings.webhook_urls:
        return None
    webhooks = Webhooks(settings, db, metrics)
    webhooks.start()
    return webhooks
