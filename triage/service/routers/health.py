"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request

from triage.service.errors import ApiError, Detail
from triage.service.schemas import Health, ModelInfo

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, summary="The model is loaded and can score")
def readyz(request: Request) -> Health:
    scorer = request.app.state.scorer
    if scorer is None:
        raise ApiError(
            503,
            "not_ready",
            "the model is not loaded",
            [Detail("model", "a loaded model bundle", request.app.state.model_error or "none")],
        )
    return Health(
        status="ready", model=ModelInfo(name=scorer.bundle.name, version=scorer.bundle.version)
    )
