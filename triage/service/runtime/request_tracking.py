"""Outermost middleware: a request id for every request (the caller's X-Request-ID, or a new
one, echoed in the response), one access-log line, the request metrics, and the last word on
an exception nothing else handled (a 500 in the one error shape, logged without its message).
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.service.errors import error_response, internal_error
from triage.service.runtime.logs import CURRENT, RequestInfo, log_failure, request_id_from
from triage.service.runtime.prometheus import ServiceMetrics

log = logging.getLogger(__name__)
access_log = logging.getLogger("triage.access")

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# probes, and the console's live poll (every few seconds per open page): DEBUG when they pass
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics", "/console/live"})


class RequestTracking:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
        info = RequestInfo(request_id, scope["method"], scope)
        token = CURRENT.set(info)
        started = time.perf_counter()
        response = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"], response["started"] = message["status"], True
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            log_failure(log, "unhandled error on %s %s", error, info.method, info.route)
            response["status"] = 500
            if not response["started"]:
                await error_response(internal_error(error))(scope, receive, send_with_id)
        finally:
            self._record(info, response["status"], time.perf_counter() - started)
            CURRENT.reset(token)

    def _record(self, info: RequestInfo, status: int, seconds: float) -> None:
        method = info.method if info.method in METHODS else "OTHER"
        route = info.route
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        principal = info.principal
        quiet = route in QUIET_ROUTES and status < 400
        access_log.log(
            logging.DEBUG if quiet else logging.INFO,
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "request_id": info.request_id,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "key_id": principal.key_id if principal else None,
                "key_name": principal.name if principal else None,
            },
        )
