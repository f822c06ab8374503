"""POST /v1/score: score without storing."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from triage.queue.ingest import Ingest
from triage.scoring.answer import result_answer
from triage.scoring.results import ScoreInput, ScoreResult
from triage.scoring.scorer import OnnxScorer
from triage.service.api.schemas import ModelInfo, ScoreRequest, ScoreResponse, ScoreResultOut
from triage.service.api.validation import check_items
from triage.service.deps import IngestDep, PlatformDep, ScorerDep, SettingsDep

router = APIRouter(prefix="/v1", tags=["scoring"])


def to_response(result: ScoreResult) -> ScoreResultOut:
    """The answer `triage score-file` also writes (triage/scoring/answer.py)."""
    return ScoreResultOut.model_validate(result_answer(result))


async def run_scorer(
    ingest: Ingest, scorer: OnnxScorer, items: list[ScoreInput]
) -> list[ScoreResult]:
    """Off the event loop, on the scoring executor (Ingest.submit): the micro-batcher when it is
    on, else Settings.scoring_workers threads that take calls in arrival order."""
    return await asyncio.wrap_future(ingest.submit(scorer, items))


@router.post("/score", response_model=ScoreResponse, summary="Score posts without storing them")
async def score(
    _caller: PlatformDep,
    body: ScoreRequest,
    scorer: ScorerDep,
    ingest: IngestDep,
    settings: SettingsDep,
) -> ScoreResponse:
    """Calibrated scores, flags, risk tier, priority and evidence spans for each item.

    Nothing is stored. A bad request is refused whole (4xx), never half-scored.
    """
    check_items(body.items, settings)
    items = [ScoreInput(i.id, i.text, i.parent_text) for i in body.items]
    results = await run_scorer(ingest, scorer, items)
    return ScoreResponse(
        model=ModelInfo(name=scorer.bundle.name, version=scorer.bundle.version),
        results=[to_response(r) for r in results],
    )
