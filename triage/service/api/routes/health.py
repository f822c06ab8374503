"""Liveness and readiness.

/readyz is 503 only while no model is loaded: then nothing can be scored, and an orchestrator
should keep traffic away and page someone. A loaded model that failed or timed out recently
leaves it at 200 with status `degraded` and the faults: that replica still stores every item
(the failed ones wait `unscored` for a person) and scores the rest, so taking it out of
rotation would turn a partial fault into an outage of ingest. Its 503 names the kind of model
fault (`checksum_mismatch`, ...) and a fix hint, never a path or the loader's message: /readyz
needs no key. The full error is in the server log.
"""

from __future__ import annotations

from fastapi import APIRouter

from triage.problems import Detail
from triage.queue.faults import MODEL_LOADING, FaultSummary
from triage.scoring.scorer import OnnxScorer
from triage.service.api.error_docs import error_responses
from triage.service.api.schemas import Health, ModelInfo, Readiness, ScoringFaultsOut
from triage.service.deps import Context
from triage.service.errors import TriageError

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz(context: Context) -> Health:
    scorer = context.model.scorer
    return Health(status="ok", model=model_info(scorer) if scorer is not None else None)


def model_info(scorer: OnnxScorer) -> ModelInfo:
    return ModelInfo(name=scorer.bundle.name, version=scorer.bundle.version)


def faults_out(summary: FaultSummary) -> ScoringFaultsOut:
    return ScoringFaultsOut(
        message=summary.message,
        failures=summary.failures,
        items=summary.items,
        window_minutes=summary.window_minutes,
        last_error=summary.last_kind,
        last_failure_at=summary.last_at,
        last_success_at=summary.last_success_at,
    )


@router.get(
    "/readyz",
    response_model=Readiness,
    responses=error_responses(503),
    summary="The model is loaded and can score (503 when it is not; `degraded` after faults)",
)
def readyz(context: Context) -> Readiness:
    scorer = context.model.scorer
    summary = context.faults.summary()
    if scorer is None:
        fault = context.model.fault or MODEL_LOADING
        details = [Detail("model", "a loaded model bundle", fault.kind)]
        if summary is not None:
            details.append(Detail("scoring", "no recent scoring failures", summary.message))
        raise TriageError(503, "not_ready", fault.message, details)
    return Readiness(
        status="ready" if summary is None else "degraded",
        model=model_info(scorer),
        faults=faults_out(summary) if summary is not None else None,
    )
