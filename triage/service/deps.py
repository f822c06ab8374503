"""Typed dependencies for the routers: the service context and its parts (settings, scorer,
database, ingest), and the caller's role. A route names what it needs as a parameter of one of
the `...Dep` types at the bottom (full-stack-fastapi-template's deps.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from triage.problems import Detail
from triage.queue.faults import MODEL_LOADING
from triage.queue.ingest import Ingest
from triage.scoring.scorer import OnnxScorer
from triage.service.context import ServiceContext, context_of
from triage.service.errors import TriageError
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.keys import Principal, Role, verify_key

# The dependencies are `async def` although they do not await (but for a key lookup): FastAPI
# runs a plain `def` dependency on a worker thread, a hand-off that cost more than the work.


async def get_context(request: Request) -> ServiceContext:
    return context_of(request)


async def get_settings(request: Request) -> Settings:
    return context_of(request).settings


async def get_scorer(request: Request) -> OnnxScorer:
    model = context_of(request).model
    scorer = model.scorer
    if scorer is None:
        fault = model.fault or MODEL_LOADING
        raise TriageError(
            503,
            "model_unavailable",
            f"{fault.message}; see /readyz",
            [Detail("model", "a loaded model bundle", fault.kind)],
        )
    return scorer


async def get_database(request: Request) -> Database:
    return context_of(request).database


async def get_ingest(request: Request) -> Ingest:
    return context_of(request).ingest


def bearer_key(headers: Mapping[str, str]) -> str | None:
    """The key of `Authorization: Bearer <key>` (or X-API-Key); None when there is none."""
    header = headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key") or None


def missing_key_error() -> TriageError:
    return TriageError(
        401,
        "unauthenticated",
        "an API key is required; create one with `triage keys create`",
        [Detail("Authorization", "a header `Authorization: Bearer <key>`", "no key")],
    )


async def get_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <key>` (or X-API-Key); 401 without a valid key.

    A key verified in the last Settings.key_cache_s seconds is not looked up again (key_cache.py).
    """
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    key = bearer_key(request.headers)
    if key is None:
        raise missing_key_error()
    context = context_of(request)
    verified = context.verified_keys
    principal = verified.get(key)
    if principal is None:
        principal = await run_in_threadpool(_look_up, context.database, key)
        if principal is not None:
            verified.put(key, principal)
    if principal is None:
        raise TriageError(
            401,
            "unauthenticated",
            "the API key is unknown or revoked",
            [Detail("Authorization", "a valid, unrevoked API key", "an unknown or revoked key")],
        )
    request.state.principal = principal
    check_rate(context, principal)
    return principal


def _look_up(db: Database, key: str) -> Principal | None:
    with db.read() as session:
        return verify_key(session, key)


def check_rate(context: ServiceContext, principal: Principal) -> None:
    """429 with Retry-After once the key has used up its bucket (Settings.rate_limits)."""
    settings = context.settings
    if not settings.rate_limit_enabled:
        return
    limit = settings.rate_limits[principal.role.value]
    wait = context.rate_limiter.check(("key", principal.key_id), limit.per_minute, limit.burst)
    if wait:
        context.metrics.rate_limited.labels("api_key").inc()
        raise TriageError(
            429,
            "rate_limited",
            f"too many requests with this API key; retry in {wait} s",
            [
                Detail(
                    "Authorization",
                    f"at most {limit.per_minute:g} requests a minute, {limit.burst} at once, "
                    f"for a {principal.role.value} key (TRIAGE_RATE_LIMITS)",
                    "more requests than that",
                )
            ],
            headers={"Retry-After": str(wait)},
        )


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.role.allows(role):
            raise TriageError(
                403,
                "forbidden",
                f"this needs a {role.value} key",
                [Detail("role", f"{role.value} (or admin)", principal.role.value)],
            )
        return principal

    return check


Context = Annotated[ServiceContext, Depends(get_context)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ScorerDep = Annotated[OnnxScorer, Depends(get_scorer)]
DatabaseDep = Annotated[Database, Depends(get_database)]
IngestDep = Annotated[Ingest, Depends(get_ingest)]
PlatformDep = Annotated[Principal, Depends(require(Role.PLATFORM))]
ModeratorDep = Annotated[Principal, Depends(require(Role.MODERATOR))]
AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
MetricsDep = Annotated[Principal, Depends(require(Role.METRICS))]
