"""Typed dependencies for the routers: settings, scorer, database, and the caller's role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from triage.config import Settings
from triage.scoring import OnnxScorer
from triage.service.errors import ApiError, Detail
from triage.storage.database import Database
from triage.storage.keys import Principal, Role, verify_key


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


def get_database(request: Request) -> Database:
    return request.app.state.db


def _bearer_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


def get_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <key>` (or X-API-Key); 401 without a valid key."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    key = _bearer_key(request)
    if key is None:
        raise ApiError(
            401,
            "unauthenticated",
            "an API key is required; create one with `triage keys create`",
            [Detail("Authorization", "a header `Authorization: Bearer <key>`", "no key")],
        )
    with request.app.state.db.read() as session:
        principal = verify_key(session, key)
    if principal is None:
        raise ApiError(
            401,
            "unauthenticated",
            "the API key is unknown or revoked",
            [Detail("Authorization", "a valid, unrevoked API key", "an unknown or revoked key")],
        )
    request.state.principal = principal
    return principal


def require(role: Role) -> Callable[..., Principal]:
    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.role.allows(role):
            raise ApiError(
                403,
                "forbidden",
                f"this needs a {role.value} key",
                [Detail("role", f"{role.value} (or admin)", principal.role.value)],
            )
        return principal

    return check


SettingsDep = Annotated[Settings, Depends(get_settings)]
ScorerDep = Annotated[OnnxScorer, Depends(get_scorer)]
DatabaseDep = Annotated[Database, Depends(get_database)]
PlatformDep = Annotated[Principal, Depends(require(Role.PLATFORM))]
ModeratorDep = Annotated[Principal, Depends(require(Role.MODERATOR))]
AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
