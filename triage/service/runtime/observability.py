"""What create_app() installs for security limits, logs and metrics (one call, one place)."""

from __future__ import annotations

from fastapi import FastAPI

from triage.service.api.routes import metrics
from triage.service.runtime.prometheus import (
    MeasuredScorer,
    ServiceMetrics,
    install_queue_collector,
)
from triage.service.runtime.ratelimit import RateLimiter
from triage.service.runtime.request_tracking import RequestTracking
from triage.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Call after every other middleware is added: request tracking must be the outermost."""
    app.state.metrics = ServiceMetrics()
    app.state.rate_limiter = RateLimiter()  # API keys
    app.state.sign_in_limiter = RateLimiter()  # console sign-in, per client address
    install_queue_collector(app.state.metrics, app, settings.metrics_refresh_s)
    app.add_middleware(RequestTracking, metrics=app.state.metrics)
    app.include_router(metrics.router)


def measured(scorer, app: FastAPI):
    """The scorer, wrapped so that /metrics sees its scores, errors and time."""
    return MeasuredScorer(scorer, app.state.metrics, app.state.settings.scoring_timeout_s)
