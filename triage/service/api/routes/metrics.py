"""GET /metrics: Prometheus text format, for a key with the `metrics` role (or admin)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from triage.service.api.error_docs import AUTHENTICATED, error_responses
from triage.service.deps import Context, MetricsDep

router = APIRouter(tags=["observability"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics (a metrics or admin key)",
    responses=error_responses(*AUTHENTICATED),
)
def metrics(_caller: MetricsDep, context: Context) -> PlainTextResponse:
    """Request latency per route, requests by status, scores per label, queue depth and SLA
    breaches per tier, scorer errors and overruns, rate-limited requests."""
    body = generate_latest(context.metrics.registry)
    return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)
