"""Store first, then score: the path every ingested item takes (POST /v1/items, POST /v1/reports
with a post, and the background retry), through one Ingest object.

An item is committed before the model sees it. If the model is missing, raises, or takes longer
than TRIAGE_SCORING_TIMEOUT_S, the item stays in the queue as `unscored`, ranked for a person,
and the background retry (background.py) scores it once a model answers again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from triage.domain.tier_rules import TierRules
from triage.queue import store as queue
from triage.queue.faults import (
    MODEL_LOADING,
    MODEL_NOT_LOADED,
    TIMEOUT,
    ModelFault,
    ScoringFaults,
    not_loaded_reason,
)
from triage.queue.thread_scoring import corumination_threshold, record_thread_scores
from triage.scoring.results import ScoreInput, ScoreResult
from triage.scoring.scorer import OnnxScorer
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
        tier_uncertain=result.tier_uncertain,
        language=result.language,
        language_unsupported=result.language_unsupported,
        spam_withheld_by=result.spam_withheld_by,
    )


@dataclass
class ModelSlot:
    """The model the service scores with, swapped in once the bundle is loaded: `scorer` is None
    until then, and for good when loading failed, with why in `fault` (a kind and a hint, never a
    path: /readyz shows it)."""

    scorer: OnnxScorer | None = None
    fault: ModelFault | None = MODEL_LOADING

    @property
    def unavailable_reason(self) -> str:
        return not_loaded_reason(self.fault)


@dataclass(frozen=True)
class Ingest:
    """Scores stored items and records the outcome: the scores, or why there are none.

    Built once per service with everything scoring stored items needs, so every path that does
    it (POST /v1/items, POST /v1/reports, the background retry) passes the same collaborators
    and none can leave one out (a report's post once went without its webhook alert).
    """

    database: Database
    model: ModelSlot
    executor: Executor
    rules: TierRules
    timeout_s: float
    # No defaults: each construction says whether it records faults and alerts (None: it
    # does not), so a new path cannot leave them out by omission.
    faults: ScoringFaults | None  # recent failures, for /readyz
    alerts: Webhooks | None  # records the webhook alerts results call for

    def submit(self, scorer: OnnxScorer, inputs: Sequence[ScoreInput]) -> Future[list[ScoreResult]]:
        """Run the scorer on the scoring executor (the micro-batcher when it is on): how stored
        items (score_stored) and POST /v1/score, which stores nothing, call the model.

        One exception: POST /v1/threads/score (routes/threads.py) calls the scorer on FastAPI's
        thread pool, not here. A thread is scored in one request with one model run per post,
        each reply with its parent, and it needs the raw probabilities (scorer.probabilities),
        not the ScoreResults this returns; so it shares neither this executor's queue nor
        TRIAGE_SCORING_TIMEOUT_S."""
        return self.executor.submit(scorer.score, inputs)

    def score_stored(self, items: Sequence[Item]) -> None:
        """Score items already committed and record the scores, or record why they could not
        be scored (on the items, and as a fault for /readyz): a failure leaves them `unscored`
        for a person. Alerts are recorded in the same transaction as the scores."""
        if not items:
            return
        scorer = self.model.scorer  # read once: the slot may be filled while this runs
        if scorer is None:
            self._unscored(items, _Failure(MODEL_NOT_LOADED, self.model.unavailable_reason))
            return
        outcome = self._score(scorer, items)
        if isinstance(outcome, _Failure):
            self._unscored(items, outcome)
        else:
            self._scored(scorer, items, outcome)

    def _score(self, scorer: OnnxScorer, items: Sequence[Item]) -> list[ScoreResult] | _Failure:
        """The scorer's results, run on the executor, or why there are none."""
        inputs = [ScoreInput(str(item.id), item.text or "", item.parent_text) for item in items]
        future = self.submit(scorer, inputs)
        try:
            results = future.result(timeout=self.timeout_s)
            if len(results) != len(inputs):
                raise ValueError(f"{len(results)} results for {len(inputs)} items")
        except FutureTimeout:
            reason = f"scoring took longer than {self.timeout_s:g} s (TRIAGE_SCORING_TIMEOUT_S)"
            return _Failure(TIMEOUT, reason)
        except Exception as error:  # any scorer fault sends the item to a person, not to /dev/null
            kind = type(error).__name__
            # the frames, not the message: a message may quote the post (no raw text in logs)
            frames = "".join(traceback.format_tb(error.__traceback__))
            log.error("scoring failed for %d items: %s\n%s", len(items), kind, frames)
            return _Failure(kind, f"the scorer failed: {kind}")
        return results

    def _unscored(self, items: Sequence[Item], failure: _Failure) -> None:
        if self.faults is not None:
            self.faults.failed(failure.kind, len(items))
        now, rules, alerts = datetime.now(UTC), self.rules, self.alerts
        log.warning("%d items queued unscored: %s", len(items), failure.reason)
        ids = [item.id for item in items]
        self.database.write_retrying(
            lambda session: _record_failures(session, ids, failure.reason, rules, now, alerts)
        )

    def _scored(
        self, scorer: OnnxScorer, items: Sequence[Item], results: list[ScoreResult]
    ) -> None:
        if self.faults is not None:
            self.faults.succeeded()
        now, rules, alerts = datetime.now(UTC), self.rules, self.alerts
        views = {item.id: model_view(scorer, r) for item, r in zip(items, results, strict=True)}
        threshold = corumination_threshold(scorer)
        self.database.write_retrying(
            lambda session: _record_scores(session, views, threshold, rules, now, alerts)
        )


@dataclass(frozen=True)
class _Failure:
    kind: str  # recorded in ScoringFaults: a type name, never a message
    reason: str  # stored on the items for moderators


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
