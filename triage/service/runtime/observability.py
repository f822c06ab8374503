"""What create_app() installs for request ids, logs and metrics (one call, one place); the metrics
and the rate limiters themselves live on the ServiceContext, and the /metrics route
(api/routes/metrics.py) is included with the other routes."""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI

from triage.scoring.scorer import OnnxScorer
from triage.service.context import ServiceContext
from triage.service.runtime.prometheus import MeasuredScorer, install_queue_collector
from triage.service.runtime.request_tracking import RequestTracking


def install(app: FastAPI, context: ServiceContext) -> None:
    """Call after every other middleware is added: request tracking must be the outermost."""
    install_queue_collector(context)
    app.add_middleware(RequestTracking, metrics=context.metrics)


def measured(scorer: OnnxScorer, context: ServiceContext) -> OnnxScorer:
    """The scorer, wrapped so that /metrics sees its scores, errors and time; a stand-in for
    it (every other attribute passes through), so typed as one."""
    wrapped = MeasuredScorer(scorer, context.metrics, context.settings.scoring_timeout_s)
    return cast(OnnxScorer, wrapped)
