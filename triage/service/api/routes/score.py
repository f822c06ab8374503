"""POST /v1/score: score without storing."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, FastAPI, Request

from triage.scoring.scorer import OnnxScorer, ScoreInput, ScoreResult
from triage.service.api.schemas import (
    EvidenceOut,
    ModelInfo,
    ScoreRequest,
    ScoreResponse,
    ScoreResultOut,
)
from triage.service.api.validation import check_items
from triage.service.deps import PlatformDep, ScorerDep, SettingsDep

router = APIRouter(prefix="/v1", tags=["scoring"])


def to_response(result: ScoreResult) -> ScoreResultOut:
    return ScoreResultOut(
        id=result.id,
        scores=result.scores,
        flags=result.flags,
        tier=result.tier.value,
        priority=result.priority,
        reasons=list(result.reasons),
        evidence=[EvidenceOut(label=e.label, start=e.start, end=e.end) for e in result.evidence],
        tier_scores=result.tier_scores,
        language=result.language,
        language_unsupported=result.language_unsupported,
        self_harm_floor=result.self_harm_floor,
    )


async def run_scorer(
    app: FastAPI, scorer: OnnxScorer, items: list[ScoreInput]
) -> list[ScoreResult]:
    """Off the event loop, on the scoring executor (app.scoring_executor): the micro-batcher
    when it is on, else Settings.scoring_workers threads that take calls in arrival order."""
    return await asyncio.wrap_future(app.state.executor.submit(scorer.score, items))


@router.post("/score", response_model=ScoreResponse, summary="Score posts without storing them")
async def score(
    _caller: PlatformDep,
    body: ScoreRequest,
    request: Request,
    scorer: ScorerDep,
    settings: SettingsDep,
) -> ScoreResponse:
    """Calibrated scores, flags, risk tier, priority and evidence spans for each item.

    Nothing is stored. A bad request is refused whole (4xx), never half-scored.
    """
    check_items(body.items, settings)
    items = [ScoreInput(i.id, i.text, i.parent_text) for i in body.items]
    results = await run_scorer(request.app, scorer, items)
    return ScoreResponse(
        model=ModelInfo(name=scorer.bundle.name, version=scorer.bundle.version),
        results=[to_response(r) for r in results],
    )
