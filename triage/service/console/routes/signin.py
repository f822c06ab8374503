"""Console sign-in and sign-out: an API key pasted once becomes a session cookie."""

from __future__ import annotations

import time

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from triage.problems import Detail
from triage.service.console import session as cs
from triage.service.console.auth import (
    CheckedModerator,
    console_secret,
    csrf_refused,
    current_moderator,
    read_session,
    set_session_cookie,
    wants_html,
)
from triage.service.console.routing import console_router
from triage.service.console.views import render, safe_next
from triage.service.context import context_of
from triage.service.deps import DatabaseDep, SettingsDep
from triage.service.errors import TriageError
from triage.storage.keys import Role, verify_key

router = console_router()

MESSAGES = {"signed_out": "You are signed out."}


def _sign_in_page(
    request: Request,
    session: cs.ConsoleSession,
    next_path: str,
    message: str | None = None,
    error: TriageError | None = None,
) -> Response:
    context = {
        "csrf": cs.csrf_token(console_secret(request), session),
        "next": next_path,
        "message": message,
        "error": error,
    }
    response = render(request, "sign_in.html", context, error.status if error else 200)
    set_session_cookie(request, response, session)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None, done: str | None = None) -> Response:
    try:
        current_moderator(request)
        return RedirectResponse(safe_next(next), status_code=303)
    except TriageError:
        pass  # not signed in (or no longer allowed): show the form
    session = read_session(request)
    if session is None or session.key_id is not None:
        session = cs.new_session(None, time.time(), cs.ANONYMOUS_SECONDS)
    return _sign_in_page(request, session, safe_next(next), MESSAGES.get(done or ""))


def _refused(status: int, code: str, message: str, expected: str, found: str) -> TriageError:
    return TriageError(status, code, message, [Detail("api_key", expected, found)])


def _check_sign_in_rate(request: Request) -> None:
    """Attempts per client address (Settings.sign_in_rate): slows down key guessing and
    floods. Behind a proxy the address is the proxy's unless TRIAGE_FORWARDED_ALLOW_IPS
    names it (cli.uvicorn_options)."""
    service = context_of(request)
    settings = service.settings
    if not settings.rate_limit_enabled:
        return
    address = request.client.host if request.client else "unknown"
    limit = settings.sign_in_rate
    wait = service.sign_in_limiter.check(address, limit.per_minute, limit.burst)
    if wait:
        service.metrics.rate_limited.labels("sign_in").inc()
        raise TriageError(
            429,
            "rate_limited",
            f"too many sign-in attempts from your address; try again in {wait} s",
            [
                Detail(
                    "api_key",
                    f"at most {limit.per_minute:g} sign-in attempts a minute (TRIAGE_SIGN_IN_RATE)",
                    "more attempts than that",
                )
            ],
            headers={"Retry-After": str(wait)},
        )


@router.post("/sign-in")
async def sign_in(request: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    _check_sign_in_rate(request)
    form = await request.form()
    session = read_session(request)
    token = form.get(cs.CSRF_FIELD)
    if session is None or not cs.csrf_ok(console_secret(request), session, token):
        raise csrf_refused("no token" if not token else "a token this session did not issue")
    key = str(form.get("api_key") or "").strip()
    with db.read() as db_session:
        principal = verify_key(db_session, key) if key else None
    if principal is None:
        error = _refused(
            401,
            "unauthenticated",
            "that API key is unknown or revoked",
            "a moderator or admin API key",
            "no key" if not key else "an unknown or revoked key",
        )
    elif not principal.role.allows(Role.MODERATOR):
        error = _refused(
            403,
            "forbidden",
            "platform keys score and ingest; they cannot sign in to the console",
            "a moderator or admin API key",
            f"a {principal.role.value} key",
        )
    else:
        request.state.principal = principal  # for the access log (never the key)
        signed_in = cs.new_session(principal.key_id, time.time(), settings.session_hours * 3600)
        response = RedirectResponse(safe_next(str(form.get("next") or "/")), status_code=303)
        set_session_cookie(request, response, signed_in)
        return response
    if not wants_html(request):
        raise error
    return _sign_in_page(request, session, safe_next(str(form.get("next") or "/")), error=error)


@router.post("/sign-out")
def sign_out(request: Request, _moderator: CheckedModerator) -> Response:
    response = RedirectResponse("/sign-in?done=signed_out", status_code=303)
    response.delete_cookie(cs.COOKIE, path="/", httponly=True, samesite="strict")
    return response
