"""The FastAPI app, built by create_app(settings); the model is loaded in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from triage import __version__
from triage.queue import alerts as webhooks
from triage.queue.faults import MODEL_LOADING, ModelFault, ScoringFaults
from triage.scoring.bundle import FAULT_HINTS, LOAD_FAILED, BundleError, load_bundle
from triage.scoring.micro_batcher import MicroBatcher
from triage.scoring.scorer import OnnxScorer
from triage.service.api import docs_pages as api_docs
from triage.service.api.error_docs import AUTHENTICATED, error_responses
from triage.service.api.routes import health, items, queue, reports, score, threads
from triage.service.api.routes import webhooks as webhooks_router
from triage.service.console.routes import live as console_live
from triage.service.console.routes import pages as console
from triage.service.console.routes import team as console_team
from triage.service.console.routes.alerts import router as console_alerts_router
from triage.service.console.routes.dashboard import router as console_dashboard_router
from triage.service.errors import install_error_handlers
from triage.service.runtime import background, observability
from triage.service.runtime.body_limits import BodySizeLimit
from triage.service.runtime.key_cache import VerifiedKeys
from triage.settings import Settings
from triage.storage.database import Database

log = logging.getLogger(__name__)


def load_scorer(app: FastAPI, settings: Settings) -> None:
    """Load the bundle once. No fault of the bundle, tokenizer or ONNX session stops start-up:
    the app runs with no scorer, /readyz and scoring answer 503 with the fault's kind (never its
    message, which names paths), and ingest queues items `unscored` for a person."""
    app.state.scorer = None
    app.state.model_fault = None
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
        )
    except BundleError as error:
        app.state.model_fault = ModelFault(error.kind, error.hint)
        log.error("model not loaded (%s): %s", error.kind, error)
        return
    except Exception:  # whatever else fails, ingest must still store and queue items
        app.state.model_fault = ModelFault(LOAD_FAILED, FAULT_HINTS[LOAD_FAILED])
        log.exception("model not loaded (%s)", LOAD_FAILED)
        return
    app.state.scorer = observability.measured(scorer, app)
    log.info("loaded model %s %s from %s", bundle.name, bundle.version, bundle.path)


def scoring_executor(settings: Settings) -> Executor:
    """Where scorer calls run: a micro-batcher that merges concurrent calls, or a thread pool of
    Settings.scoring_workers threads. A small fixed pool, not one thread per request: with 16
    requests at once, 16 model runs sharing 2 cores all finish late; in arrival order on 2
    threads, the first ones finish early (same throughput, shorter tail)."""
    if settings.micro_batching:
        return MicroBatcher(settings.batch_window_ms / 1000, settings.batch_max_items)
    return ThreadPoolExecutor(max_workers=settings.scoring_workers, thread_name_prefix="scorer")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings.database_url)
        if settings.migrate_on_start:
            app.state.db.upgrade()
        app.state.executor = scoring_executor(settings)
        app.state.webhooks = webhooks.create(settings, app.state.db, app.state.metrics)
        load_scorer(app, settings)
        tasks = background.start(app)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            app.state.executor.shutdown(wait=False, cancel_futures=True)
            app.state.db.dispose()

    app = FastAPI(
        title="triage",
        version=__version__,
        summary="Scores peer-support posts for self-harm risk, hostility, spam and corumination. "
        "It only scores, flags, ranks and explains: it never removes or hides content.",
        lifespan=lifespan,
        docs_url=None,  # api_docs serves /docs and /redoc without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.scorer = None
    app.state.model_fault = MODEL_LOADING
    app.state.faults = ScoringFaults()  # recent scoring failures, reported by /readyz
    app.state.webhooks = None  # alerts (webhooks.Webhooks) once started, if configured
    app.state.verified_keys = VerifiedKeys(settings.key_cache_s)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    observability.install(app, settings)  # request ids, logs, metrics, rate limits: outermost
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
