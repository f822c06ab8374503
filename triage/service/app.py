"""The FastAPI app, built by create_app(settings); the model is loaded in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from triage import __version__
from triage.queue.faults import ModelFault
from triage.scoring.bundle import FAULT_HINTS, LOAD_FAILED, BundleError, load_bundle
from triage.scoring.scorer import OnnxScorer
from triage.service.api import docs_pages as api_docs
from triage.service.api.error_docs import AUTHENTICATED, error_responses
from triage.service.api.routes import health, items, metrics, queue, reports, score, threads
from triage.service.api.routes import webhooks as webhooks_router
from triage.service.console.routes import live as console_live
from triage.service.console.routes import pages as console
from triage.service.console.routes import team as console_team
from triage.service.console.routes.alerts import router as console_alerts_router
from triage.service.console.routes.dashboard import router as console_dashboard_router
from triage.service.context import ServiceContext
from triage.service.errors import install_error_handlers
from triage.service.runtime import background, observability
from triage.service.runtime.body_limits import BodySizeLimit
from triage.settings import Settings

log = logging.getLogger(__name__)


def load_scorer(context: ServiceContext) -> None:
    """Load the bundle once. No fault of the bundle, tokenizer or ONNX session stops start-up:
    the app runs with no scorer, /readyz and scoring answer 503 with the fault's kind (never its
    message, which names paths), and ingest queues items `unscored` for a person."""
    settings, model = context.settings, context.model
    model.scorer, model.fault = None, None
    try:
        bundle = load_bundle(settings.bundle_dir)
        scorer = OnnxScorer(
            bundle,
            settings.tier_rules,
            threads=settings.onnx_threads,
            evidence=settings.evidence,
            evidence_mode=settings.evidence_mode,
            lanes=settings.onnx_lanes,
            resource_guard=settings.resource_guard,
            int8_weights=settings.int8_weights,
        )
    except BundleError as error:
        model.fault = ModelFault(error.kind, error.hint)
        log.error("model not loaded (%s): %s", error.kind, error)
        return
    except Exception:  # whatever else fails, ingest must still store and queue items
        model.fault = ModelFault(LOAD_FAILED, FAULT_HINTS[LOAD_FAILED])
        log.exception("model not loaded (%s)", LOAD_FAILED)
        return
    model.scorer = observability.measured(scorer, context)
    log.info("loaded model %s %s from %s", bundle.name, bundle.version, bundle.path)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    context = ServiceContext.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context.start()
        load_scorer(context)
        tasks = background.start(context)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            context.stop()

    app = FastAPI(
        title="triage",
        version=__version__,
        summary="Scores peer-support posts for self-harm risk, hostility, spam and corumination. "
        "It only scores, flags, ranks and explains: it never removes or hides content.",
        lifespan=lifespan,
        docs_url=None,  # api_docs serves /docs and /redoc without a CDN
        redoc_url=None,
    )
    app.state.context = context  # the one thing kept on app.state: context_of() reads it
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    observability.install(app, context)  # request ids, logs, metrics, rate limits: outermost
    app.include_router(metrics.router)  # /metrics: a metrics or admin key
    app.include_router(health.router)
    app.include_router(score.router, responses=error_responses(*AUTHENTICATED, 413, 503))
    app.include_router(threads.router, responses=error_responses(*AUTHENTICATED, 413, 503))
    app.include_router(items.router, responses=error_responses(*AUTHENTICATED, 413))
    app.include_router(queue.router, responses=error_responses(*AUTHENTICATED))
    app.include_router(webhooks_router.router, responses=error_responses(*AUTHENTICATED))
    app.include_router(reports.router, responses=error_responses(*AUTHENTICATED, 413))
    console.install(app)
    app.include_router(console_dashboard_router)  # /console/dashboard, a console page
    app.include_router(console_alerts_router)  # /console/alerts, a console page
    app.include_router(console_team.router)  # the console's bulk bar
    app.include_router(console_live.router)  # the console's live queue updates
    api_docs.install(app)
    return app
