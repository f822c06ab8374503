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

from triage.config import TierRules
from triage.priority import UNCERTAIN_REASON
from triage.scoring import OnnxScorer, ScoreInput, ScoreResult
from triage.service.faults import MODEL_NOT_LOADED, TIMEOUT, ScoringFaults
from triage.service.thread_queue import corumination_threshold, record_thread_scores
from triage.storage import queue
from triage.storage.database import Database
from triage.storage.tables import Item

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
) -> None:
    """Score stored items and record the scores, or record why they could not be scored (on
    the items, and as a fault in `faults` for /readyz)."""
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
    with db.write() as session:
        if results is None:
            log.warning("%d items queued unscored: %s", len(items), reason)
            for item in items:
                queue.record_failure(session, item.id, reason, rules, now)
        else:
            for item, result in zip(items, results, strict=True):
                queue.record_scores(session, item.id, model_view(scorer, result), rules, now)
            threshold = corumination_threshold(scorer)
            record_thread_scores(session, [item.id for item in items], threshold, rules, now)
