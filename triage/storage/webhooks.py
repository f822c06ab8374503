"""Outgoing webhooks in the database: endpoints (enabled or disabled, shared by replicas) and
deliveries (one per item, endpoint and condition). The sending is triage/queue/alerts.py.

- enqueue() records an alert in the caller's transaction (the one that scored the item), ON
  CONFLICT DO NOTHING on (item, endpoint, condition): an alert fires at most once, whatever
  restarts, rescoring or replicas do;
- claim_next() hands one due delivery to one sender: it pushes the delivery's next_attempt_at
  past the attempt (a lease) in a write transaction (SKIP LOCKED on PostgreSQL, and SQLite's
  write transactions are serial), so two senders never send the same attempt; a sender that
  dies mid-attempt leaves it to be retried when the lease runs out;
- record_attempt() stores how the attempt went, and counts failed deliveries in a row per
  endpoint, disabling it at a limit until `triage webhooks enable`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, false, func, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from triage.domain.labels import Tier
from triage.storage.tables import Item, WebhookDelivery, WebhookEndpoint

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
ENDPOINT_DISABLED = "endpoint_disabled"  # last_error of an alert not sent: its endpoint was off
NEAR_SLA = "red_near_sla"
ATTEMPT_LOST = "attempt_lost"  # the sender of the last attempt died before recording a result


class EndpointNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Claim:
    """One attempt a sender now owns: the delivery and the item as it is now."""

    delivery_id: int
    endpoint_id: int
    condition: str
    attempt: int  # 1 for the first attempt
    item: Item


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None  # the HTTP status, None when no answer came
    error: str | None  # a kind (http_500, timeout, connection_refused), never a response body

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class EndpointStatus:
    endpoint: WebhookEndpoint
    deliveries: dict[str, int]  # status -> count


def url_digest(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def display_url(url: str) -> str:
    """Scheme, host and port: the path and query of a chat tool's incoming-webhook URL are its
    credential, so they are never shown, logged or stored."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    rest = "/…" if parts.path.strip("/") or parts.query else "/"
    return f"{parts.scheme}://{parts.hostname}{port}{rest}"


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def ensure_endpoints(session: Session, urls: Sequence[str], now: datetime) -> dict[str, int]:
    """The endpoint id of each URL, created (enabled) when new; safe for replicas starting at
    once. A disabled endpoint stays disabled across restarts."""
    for url in urls:
        values = {
            "url_digest": url_digest(url),
            "display": display_url(url)[:300],
            "enabled": True,
            "consecutive_failures": 0,
            "created_at": now,
        }
        statement = _insert(session)(WebhookEndpoint).values(**values)
        session.execute(statement.on_conflict_do_nothing(index_elements=["url_digest"]))
    rows = session.execute(
        select(WebhookEndpoint.url_digest, WebhookEndpoint.id).where(
            WebhookEndpoint.url_digest.in_([url_digest(url) for url in urls])
        )
    )
    ids = {digest: endpoint_id for digest, endpoint_id in rows}
    return {url: ids[url_digest(url)] for url in urls}


def enqueue(
    session: Session, item_id: int, endpoint_ids: Iterable[int], condition: str, now: datetime
) -> None:
    """Record an alert for each endpoint, unless that (item, endpoint, condition) has one."""
    for endpoint_id in endpoint_ids:
        statement = _insert(session)(WebhookDelivery).values(
            item_id=item_id,
            endpoint_id=endpoint_id,
            condition=condition,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.execute(
            statement.on_conflict_do_nothing(index_elements=["item_id", "endpoint_id", "condition"])
        )


def red_items_near_sla(
    session: Session, waited_since: datetime, endpoint_ids: Sequence[int], limit: int
) -> list[int]:
    """Red items still waiting for someone (open or escalated, unclaimed) that arrived before
    `waited_since` and lack a red_near_sla alert to some endpoint."""
    alerted = (
        select(func.count())
        .select_from(WebhookDelivery)
        .where(
            WebhookDelivery.item_id == Item.id,
            WebhookDelivery.condition == NEAR_SLA,
            WebhookDelivery.endpoint_id.in_(endpoint_ids),
        )
        .scalar_subquery()
    )
    rows = session.scalars(
        select(Item.id)
        .where(
            Item.tier == Tier.RED.value,
            Item.waiting == true(),
            Item.claimed_by.is_(None),
            Item.received_at <= waited_since,
            alerted < len(endpoint_ids),
        )
        .order_by(Item.received_at)
        .limit(limit)
    )
    return list(rows)


def fail_disabled(session: Session, now: datetime) -> int:
    """Pending alerts of disabled endpoints are marked failed (`endpoint_disabled`), not kept
    for later: an alert sent hours late, after the endpoint is enabled again, would mislead."""
    disabled = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled == false())
    # an UPDATE's result is a CursorResult (it has rowcount); Session.execute is typed as Result
    result = cast(
        CursorResult[Any],
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == PENDING, WebhookDelivery.endpoint_id.in_(disabled))
            .values(status=FAILED, next_attempt_at=None, last_error=ENDPOINT_DISABLED)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount or 0


def claim_next(
    session: Session,
    endpoint_ids: Sequence[int],
    now: datetime,
    lease: timedelta,
    max_attempts: int,
) -> Claim | None:
    """Take the most overdue pending delivery of an enabled endpoint for one attempt. One whose
    last allowed attempt never recorded a result (its sender died) is marked failed instead."""
    enabled = select(WebhookEndpoint.id).where(
        WebhookEndpoint.enabled == true(), WebhookEndpoint.id.in_(endpoint_ids)
    )
    due = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.endpoint_id.in_(enabled),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    delivery = session.scalars(due).first()
    while delivery is not None and delivery.attempts >= max_attempts:
        delivery.status, delivery.next_attempt_at = FAILED, None
        delivery.last_error = delivery.last_error or ATTEMPT_LOST
        session.flush()
        delivery = session.scalars(due).first()
    if delivery is None:
        return None
    delivery.attempts += 1
    delivery.next_attempt_at = now + lease
    item = session.get_one(Item, delivery.item_id)  # the delivery's foreign key: it exists
    return Claim(delivery.id, delivery.endpoint_id, delivery.condition, delivery.attempts, item)


def record_attempt(
    session: Session,
    delivery_id: int,
    result: AttemptResult,
    payload_digest: str,
    now: datetime,
    retry_at: datetime | None,
    disable_after: int,
) -> str:
    """Store one attempt's result; `retry_at` None means it was the last attempt. Returns the
    delivery's status afterwards."""
    delivery = session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    ).one()
    endpoint = session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id).with_for_update()
    ).one()
    delivery.payload_digest = payload_digest
    delivery.last_status_code, delivery.last_error = result.status_code, result.error
    if result.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DELIVERED, now, None
        endpoint.consecutive_failures, endpoint.last_success_at = 0, now
        return DELIVERED
    endpoint.last_failure_at, endpoint.last_error = now, result.error
    if retry_at is not None:
        delivery.next_attempt_at = retry_at
        return PENDING
    delivery.status, delivery.next_attempt_at = FAILED, None
    endpoint.consecutive_failures += 1
    if endpoint.enabled and endpoint.consecutive_failures >= disable_after:
        endpoint.enabled, endpoint.disabled_at = False, now
        endpoint.disabled_reason = (
            f"{endpoint.consecutive_failures} alerts in a row failed after all their attempts; "
            f"last: {result.error}"
        )
    return FAILED


def enable(session: Session, reference: str) -> WebhookEndpoint:
    """Turn an endpoint back on, by its id or its URL; its count of failures starts again."""
    if reference.isdigit():
        condition = WebhookEndpoint.id == int(reference)
    else:
        condition = WebhookEndpoint.url_digest == url_digest(reference)
    endpoint = session.scalars(select(WebhookEndpoint).where(condition)).one_or_none()
    if endpoint is None:
        raise EndpointNotFound(reference)
    endpoint.enabled, endpoint.consecutive_failures = True, 0
    endpoint.disabled_at = endpoint.disabled_reason = None
    return endpoint


def endpoint_statuses(session: Session) -> list[EndpointStatus]:
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.endpoint_id, WebhookDelivery.status
        )
    )
    for endpoint_id, status, count in rows:
        counts.setdefault(endpoint_id, {})[status] = count
    endpoints = session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
    return [EndpointStatus(e, counts.get(e.id, {})) for e in endpoints]


def disabled_count(session: Session, endpoint_ids: Iterable[int]) -> int:
    query = select(func.count()).select_from(WebhookEndpoint)
    query = query.where(WebhookEndpoint.enabled == false(), WebhookEndpoint.id.in_(endpoint_ids))
    return session.scalar(query) or 0


def item_deliveries(session: Session, item_id: int) -> list[tuple[WebhookDelivery, str]]:
    """An item's alerts, oldest first, each with its endpoint's display form."""
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint.display)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.item_id == item_id)
        .order_by(WebhookDelivery.id)
    )
    return [(delivery, display) for delivery, display in rows]


def recent_deliveries(session: Session, limit: int) -> list[tuple[WebhookDelivery, str]]:
    """The latest `limit` alerts to any endpoint, newest first, each with its endpoint's display
    form (the console's alerts page); no item text is read."""
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint.display)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [(delivery, display) for delivery, display in rows]
