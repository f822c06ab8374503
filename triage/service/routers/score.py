"""POST /v1/score: score without storing."""

from __future__ import annotations

from fastapi import APIRouter

from triage.config import Settings
from triage.scoring import ScoreInput, ScoreResult
from triage.service.deps import ScorerDep, SettingsDep
from triage.service.errors import ApiError, Detail
from triage.service.schemas import (
    EvidenceOut,
    ModelInfo,
    ScoreRequest,
    ScoreResponse,
    ScoreResultOut,
)

router = APIRouter(prefix="/v1", tags=["scoring"])


def check_limits(request: ScoreRequest, settings: Settings) -> None:
    """The limits pydantic's static types cannot know: they come from Settings."""
    details: list[Detail] = []
    if len(request.items) > settings.max_items_per_request:
        details.append(
            Detail(
                "items",
                f"at most {settings.max_items_per_request} items (TRIAGE_MAX_ITEMS_PER_REQUEST)",
                f"{len(request.items)} items",
            )
        )
    seen: set[str] = set()
    for i, item in enumerate(request.items):
        if not item.text.strip():
            details.append(
                Detail(
                    f"items[{i}].text",
                    "a non-empty string",
                    f"a string of {len(item.text)} characters, all whitespace"
                    if item.text
                    else "an empty string",
                )
            )
        for name in ("text", "parent_text"):
            value = getattr(item, name)
            if value is not None and len(value) > settings.max_text_chars:
                details.append(
                    Detail(
                        f"items[{i}].{name}",
                        f"at most {settings.max_text_chars} characters (TRIAGE_MAX_TEXT_CHARS)",
                        f"{len(value)} characters",
                    )
                )
        if item.id in seen:
            details.append(
                Detail(
                    f"items[{i}].id",
                    "ids unique within one request",
                    "an id already used earlier in this request",
                )
            )
        seen.add(item.id)
    if details:
        fields = ", ".join(d.field or "body" for d in details[:5])
        raise ApiError(
            422, "invalid_request", f"the request breaks a limit: check {fields}", details
        )


def to_response(result: ScoreResult) -> ScoreResultOut:
    return ScoreResultOut(
        id=result.id,
        scores=result.scores,
        flags=result.flags,
        tier=result.tier.value,
        priority=result.priority,
        reasons=list(result.reasons),
        evidence=[EvidenceOut(label=e.label, start=e.start, end=e.end) for e in result.evidence],
    )


@router.post("/score", response_model=ScoreResponse, summary="Score posts without storing them")
def score(request: ScoreRequest, scorer: ScorerDep, settings: SettingsDep) -> ScoreResponse:
    """Calibrated scores, flags, risk tier, priority and evidence spans for each item.

    Nothing is stored. A bad request is refused whole (4xx), never half-scored.
    """
    check_limits(request, settings)
    items = [ScoreInput(i.id, i.text, i.parent_text) for i in request.items]
    results = scorer.score(items)
    return ScoreResponse(
        model=ModelInfo(name=scorer.bundle.name, version=scorer.bundle.version),
        results=[to_response(r) for r in results],
    )
