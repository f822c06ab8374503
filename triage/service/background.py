"""Background work of the service: re-rank items as they age, retry unscored items.

Both loops are idempotent, so several replicas sharing one PostgreSQL may all run them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from triage.service.ingest import score_items
from triage.storage import queue

log = logging.getLogger(__name__)
RESCORE_BATCH = 32


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
    score_items(
        app.state.db,
        items,
        scorer,
        settings.tier_rules,
        app.state.executor,
        settings.scoring_timeout_s,
        faults=app.state.faults,
    )
    return len(items)


async def _every(seconds: float, work, app: FastAPI) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            count = await run_in_threadpool(work, app)
            if count:
                log.info("%s: %d items", work.__name__, count)
        except Exception:  # a failed round is logged and retried next round
            log.exception("%s failed", work.__name__)


def start(app: FastAPI) -> list[asyncio.Task]:
    settings = app.state.settings
    return [
        asyncio.create_task(_every(settings.rerank_interval_s, rerank_once, app)),
        asyncio.create_task(_every(settings.rescore_interval_s, rescore_once, app)),
    ]
