"""Typed dependencies for the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from triage.config import Settings
from triage.scoring import OnnxScorer
from triage.service.errors import ApiError, Detail


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_scorer(request: Request) -> OnnxScorer:
    scorer = request.app.state.scorer
    if scorer is None:
        raise ApiError(
            503,
            "model_unavailable",
            "the model is not loaded; see /readyz",
            [Detail("model", "a loaded model bundle", request.app.state.model_error or "none")],
        )
    return scorer


SettingsDep = Annotated[Settings, Depends(get_settings)]
ScorerDep = Annotated[OnnxScorer, Depends(get_scorer)]
