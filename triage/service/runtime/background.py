"""Background work of the service: re-rank items as they age, retry unscored items, purge
old text, send webhook alerts.

All loops are idempotent, so several replicas sharing one PostgreSQL may all run them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool

from triage.queue import ranking, retention
from triage.queue import store as queue
from triage.service.context import ServiceContext
from triage.service.runtime.logs import log_failure

log = logging.getLogger(__name__)
RESCORE_BATCH = 32
PURGE_FIRST_AFTER_S = 60.0


def rerank_once(context: ServiceContext) -> int:
    total = 0
    while True:
        with context.database.write() as session:
            count = ranking.refresh_priorities(
                session, context.settings.tier_rules, datetime.now(UTC)
            )
        total += count
        if count < 500:
            return total


def rescore_once(context: ServiceContext) -> int:
    """Retry items left unscored (or pending after a crash) once a model is loaded."""
    if context.model.scorer is None:
        return 0
    older_than = datetime.now(UTC) - timedelta(seconds=2 * context.settings.scoring_timeout_s)
    with context.database.read() as session:
        ids = queue.needing_scores(session, older_than, RESCORE_BATCH)
        items = [queue.get_item(session, item_id) for item_id in ids]
    context.ingest.score_stored(items)
    return len(items)


def purge_once(context: ServiceContext) -> int:
    """Retention (TRIAGE_RETENTION_DAYS): purge the text of long-resolved items."""
    days = context.settings.retention_days
    if days is None:  # the loop only runs with retention on (_retention_task)
        return 0
    result = retention.purge(context.database, days, datetime.now(UTC))
    context.metrics.purged.inc(result.items)
    return result.items


Work = Callable[[ServiceContext], int]


async def _every(
    seconds: float, work: Work, context: ServiceContext, first_after: float | None = None
) -> None:
    delay = seconds if first_after is None else first_after
    while True:
        await asyncio.sleep(delay)
        delay = seconds
        try:
            count = await run_in_threadpool(work, context)
            if count:
                log.info("%s: %d items", work.__name__, count)
        except Exception as error:  # a failed round is logged and retried next round
            log_failure(log, "%s failed", error, work.__name__)


def webhooks_once(context: ServiceContext) -> int:
    """Alerts (TRIAGE_WEBHOOK_URLS): the near-SLA check, then due deliveries."""
    assert context.webhooks is not None  # the loop runs only when alerts are configured
    return context.webhooks.run_once()


def start(context: ServiceContext) -> list[asyncio.Task]:
    settings = context.settings
    return [
        asyncio.create_task(_every(settings.rerank_interval_s, rerank_once, context)),
        asyncio.create_task(_every(settings.rescore_interval_s, rescore_once, context)),
        *_retention_task(context),
        *_webhooks_task(context),
    ]


def _webhooks_task(context: ServiceContext) -> list[asyncio.Task]:
    if context.webhooks is None:
        return []
    interval = context.settings.webhook_poll_interval_s
    return [asyncio.create_task(_every(interval, webhooks_once, context))]


def _retention_task(context: ServiceContext) -> list[asyncio.Task]:
    """Hourly (TRIAGE_PURGE_INTERVAL_S) when TRIAGE_RETENTION_DAYS is set; first a minute after
    start, so a service restarted more often than the interval still purges."""
    settings = context.settings
    if settings.retention_days is None:
        return []
    first = min(PURGE_FIRST_AFTER_S, settings.purge_interval_s)
    return [asyncio.create_task(_every(settings.purge_interval_s, purge_once, context, first))]
