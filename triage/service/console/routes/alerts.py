"""The console's alerts page: GET /console/alerts. Each webhook endpoint (scheme, host and port
only: the path of a chat tool's webhook URL is its credential) with its status, and the latest
deliveries (item id, condition, attempts, outcome, time). Signed-in moderators and admins, like
every console page; no post text and no secret is read or shown. Turning a disabled endpoint
back on stays an operator's step (`triage webhooks enable`), as README, Alerts decides.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from starlette.responses import Response

from triage.service.console.auth import ModeratorSession
from triage.service.console.routes.pages import page_context
from triage.service.console.routing import console_router
from triage.service.console.views import render
from triage.service.deps import Context
from triage.storage import webhooks as store

router = console_router()

RECENT_DELIVERIES = 50


@router.get("/console/alerts")
def alerts_page(
    request: Request,
    moderator: ModeratorSession,
    service: Context,
) -> Response:
    settings, webhooks = service.settings, service.webhooks
    configured = set(webhooks.endpoint_ids.values()) if webhooks is not None else set()
    with service.database.read() as session:
        endpoints = store.endpoint_statuses(session)
        deliveries = store.recent_deliveries(session, RECENT_DELIVERIES)
    context = page_context(
        request,
        moderator,
        alerts_on=webhooks is not None,
        conditions=list(settings.webhook_on),
        disable_after=settings.webhook_disable_after,
        endpoints=endpoints,
        configured=configured,
        deliveries=deliveries,
        recent_limit=RECENT_DELIVERIES,
        now=datetime.now(UTC),
    )
    return render(request, "alerts.html", context)
