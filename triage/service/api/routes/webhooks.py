"""GET /v1/webhooks (admin): the alert endpoints, enabled or disabled, and how delivery goes."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from triage.service.deps import AdminDep, Context
from triage.storage import webhooks as store

router = APIRouter(prefix="/v1", tags=["alerts"])


class WebhookEndpointOut(BaseModel):
    id: int = Field(description="`triage webhooks enable <id>` turns a disabled one back on")
    target: str = Field(description="scheme, host and port; the path is a credential, not shown")
    configured: bool = Field(description="in this replica's TRIAGE_WEBHOOK_URLS")
    enabled: bool
    consecutive_failures: int = Field(description="alerts in a row that failed every attempt")
    disabled_at: datetime | None
    disabled_reason: str | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None = Field(description="a kind (http_500, timeout), never a body")
    deliveries: dict[str, int] = Field(description="alerts by status: pending, delivered, failed")


class WebhooksOut(BaseModel):
    enabled: bool = Field(description="TRIAGE_WEBHOOK_URLS is set in this replica")
    conditions: list[str] = Field(description="TRIAGE_WEBHOOK_ON")
    endpoints: list[WebhookEndpointOut]


@router.get("/webhooks", response_model=WebhooksOut, summary="Alert endpoints and their status")
def get_webhooks(_caller: AdminDep, context: Context) -> WebhooksOut:
    """Every endpoint alerts were ever sent to, shared by all replicas: an endpoint is disabled
    after TRIAGE_WEBHOOK_DISABLE_AFTER alerts in a row failed, with when and why."""
    webhooks = context.webhooks
    configured = set(webhooks.endpoint_ids.values()) if webhooks is not None else set()
    with context.database.read() as session:
        statuses = store.endpoint_statuses(session)
    return WebhooksOut(
        enabled=webhooks is not None,
        conditions=list(context.settings.webhook_on),
        endpoints=[_endpoint_out(status, configured) for status in statuses],
    )


def _endpoint_out(status: store.EndpointStatus, configured: set[int]) -> WebhookEndpointOut:
    endpoint = status.endpoint
    return WebhookEndpointOut(
        id=endpoint.id,
        target=endpoint.display,
        configured=endpoint.id in configured,
        enabled=endpoint.enabled,
        consecutive_failures=endpoint.consecutive_failures,
        disabled_at=endpoint.disabled_at,
        disabled_reason=endpoint.disabled_reason,
        last_success_at=endpoint.last_success_at,
        last_failure_at=endpoint.last_failure_at,
        last_error=endpoint.last_error,
        deliveries={
            s: status.deliveries.get(s, 0) for s in (store.PENDING, store.DELIVERED, store.FAILED)
        },
    )
