"""Background work of the service: re-rank items as they age, retry unscored items, purge
old text, send webhook alerts.

All loops are idempotent, so several replicas sharing one PostgreSQL may all run them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from triage.queue import retention
from triage.queue import store as queue
from triage.queue.ingest import score_in_app
from triage.service.runtime.logs import log_failure

log = logging.getLogger(__name__)
RESCORE_BATCH = 32
PURGE_FIRST_AFTER_S = 60.0


def rerank_once(app: FastAPI) -> int:
    settings = app.state.settings
    total = 0
    while True:
        with app.state.db.write() as session:
            count = queue.refresh_priorities(session, settings.tier_rules, datetime.now(UTC))
        total += count
        if count < 500:
            return total


def rescore_once(app: FastAPI) -> int:
    """Retry items left unscored (or pending after a crash) once a model is loaded."""
    settings, scorer = app.state.settings, app.state.scorer
    if scorer is None:
        return 0
    older_than = datetime.now(UTC) - timedelta(seconds=2 * settings.scoring_timeout_s)
    with app.state.db.read() as session:
        ids = queue.needing_scores(session, older_than, RESCORE_BATCH)
        items = [queue.get_item(session, item_id) for item_id in ids]
    score_in_app(app, items)
    return len(items)


def purge_once(app: FastAPI) -> int:
    """Retention (TRIAGE_RETENTION_DAYS): purge the text of long-resolved items."""
    result = retention.purge(app.state.db, app.state.settings.retention_days, datetime.now(UTC))
    app.state.metrics.purged.inc(result.items)
    return result.items


async def _every(seconds: float, work, app: FastAPI, first_after: float | None = None) -> None:
    delay = seconds if first_after is None else first_after
    while True:
        await asyncio.sleep(delay)
        delay = seconds
        try:
            count = await run_in_threadpool(work, app)
            if count:
                log.info("%s: %d items", work.__name__, count)
        except Exception as error:  # a failed round is logged and retried next round
            log_failure(log, "%s failed", error, work.__name__)


def webhooks_once(app: FastAPI) -> int:
    """Alerts (TRIAGE_WEBHOOK_URLS): the near-SLA check, then due deliveries."""
    return app.state.webhooks.run_once()


def start(app: FastAPI) -> list[asyncio.Task]:
    settings = app.state.settings
    return [
        asyncio.create_task(_every(settings.rerank_interval_s, rerank_once, app)),
        asyncio.create_task(_every(settings.rescore_interval_s, rescore_once, app)),
        *_retention_task(app),
        *_webhooks_task(app),
    ]


def _webhooks_task(app: FastAPI) -> list[asyncio.Task]:
    if app.state.webhooks is None:
        return []
    interval = app.state.settings.webhook_poll_interval_s
    return [asyncio.create_task(_every(interval, webhooks_once, app))]


def _retention_task(app: FastAPI) -> list[asyncio.Task]:
    """Hourly (TRIAGE_PURGE_INTERVAL_S) when TRIAGE_RETENTION_DAYS is set; first a minute after
    start, so a service restarted more often than the interval still purges."""
    settings = app.state.settings
    if settings.retention_days is None:
        return []
    first = min(PURGE_FIRST_AFTER_S, settings.purge_interval_s)
    return [asyncio.create_task(_every(settings.purge_interval_s, purge_once, app, first))]
