"""Store first, then score: the path every ingested item takes (POST /v1/items and retries).

An item is committed before the model sees it. If the model is missing, raises, or takes longer
than TRIAGE_SCORING_TIMEOUT_S, the item stays in the queue as `unscored`, ranked for a person,
and the background retry (background.py) scores it once a model answers again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import FastAPI
from sqlalchemy.orm import Session

from triage.domain.priority import UNCERTAIN_REASON
from triage.domain.tier_rules import TierRules
from triage.queue import store as queue
from triage.queue.faults import MODEL_NOT_LOADED, TIMEOUT, ScoringFaults, not_loaded_reason
from triage.queue.thread_scoring import corumination_threshold, record_thread_scores
from triage.scoring.scorer import OnnxScorer, ScoreInput, ScoreResult
from triage.storage.database import Database
from triage.storage.tables import Item

if TYPE_CHECKING:
    from triage.queue.alerts import Webhooks

log = logging.getLogger(__name__)


def model_view(scorer: OnnxScorer, result: ScoreResult) -> queue.ModelView:
    return queue.ModelView(
        model_version=f"{scorer.bundle.name}:{scorer.bundle.version}",
        scores=result.scores,
        flags=list(result.flags),
        tier=result.tier.value,
        evidence=[{"label": e.label, "start": e.start, "end": e.end} for e in result.evidence],
        tier_scores=result.tier_scores,
        tier_uncertain=UNCERTAIN_REASON in result.reasons,
        language=result.language,
        language_unsupported=result.language_unsupported,
    )


def score_in_app(app: FastAPI, items: Sequence[Item]) -> None:
    """score_items with everything it takes from the running app (scorer, executor, faults,
    alerts): the one call every path that scores stored items makes, so none can leave a part
    out (a report's post once went without its webhook alert)."""
    state, settings = app.state, app.state.settings
    score_items(
        state.db,
        items,
        state.scorer,
        settings.tier_rules,
        state.executor,
        settings.scoring_timeout_s,
        unavailable_reason=not_loaded_reason(state.model_fault),
        faults=state.faults,
        alerts=state.webhooks,
    )


def score_items(
    db: Database,
    items: Sequence[Item],
    scorer: OnnxScorer | None,
    rules: TierRules,
    executor: Executor,
    timeout_s: float,
    unavailable_reason: str = "the model is not loaded",
    faults: ScoringFaults | None = None,
    alerts: Webhooks | None = None,
) -> None:
    """Score stored items and record the scores, or record why they could not be scored (on
    the items, and as a fault in `faults` for /readyz). `alerts` records the webhook alerts
    the results call for in the same transaction."""
    if not items:
        return
    inputs = [ScoreInput(str(item.id), item.text or "", item.parent_text) for item in items]
    results: list[ScoreResult] | None = None
    if scorer is None:
        reason, kind = unavailable_reason, MODEL_NOT_LOADED
    else:
        future = executor.submit(scorer.score, inputs)
        try:
            results = future.result(timeout=timeout_s)
            if len(results) != len(inputs):
                raise ValueError(f"{len(results)} results for {len(inputs)} items")
        except FutureTimeout:
            reason = f"scoring took longer than {timeout_s:g} s (TRIAGE_SCORING_TIMEOUT_S)"
            kind = TIMEOUT
        except Exception as error:  # any scorer fault sends the item to a person, not to /dev/null
            kind = type(error).__name__
            reason = f"the scorer failed: {kind}"
            # the frames, not the message: a message may quote the post (no raw text in logs)
            frames = "".join(traceback.format_tb(error.__traceback__))
            log.error("scoring failed for %d items: %s\n%s", len(items), kind, frames)
    if faults is not None:
        if results is None:
            faults.failed(kind, len(items))
        else:
            faults.succeeded()
    now = datetime.now(UTC)
    if results is None:
        log.warning("%d items queued unscored: %s", len(items), reason)
        ids = [item.id for item in items]
        db.write_retrying(
            lambda session: _record_failures(session, ids, reason, rules, now, alerts)
        )
    else:
        views = {item.id: model_view(scorer, r) for item, r in zip(items, results, strict=True)}
        threshold = corumination_threshold(scorer)
        db.write_retrying(
            lambda session: _record_scores(session, views, threshold, rules, now, alerts)
        )


# Both lock the items in id order: two requests that ingested the same items in different
# orders, and now both score them, then queue up instead of deadlocking.
def _record_failures(
    session: Session,
    item_ids: Sequence[int],
    reason: str,
    rules: TierRules,
    now: datetime,
    alerts: Webhooks | None = None,
) -> None:
    for item_id in sorted(item_ids):
        item = queue.record_failure(session, item_id, reason, rules, now)
        if alerts is not None:
            alerts.on_unscored(session, item, now)


def _record_scores(
    session: Session,
    views: dict[int, queue.ModelView],
    threshold: float | None,
    rules: TierRules,
    now: datetime,
    alerts: Webhooks | None = None,
) -> None:
    for item_id in sorted(views):
        item = queue.record_scores(session, item_id, views[item_id], rules, now)
        if alerts is not None:
            alerts.on_scored(session, item, now)
    record_thread_scores(session, sorted(views), threshold, rules, now)
