"""Who is using the console: the signed-in moderator (a dependency), CSRF checks on every POST,
and console errors (an HTML page for a browser, the one JSON error shape for anything else)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from triage.service.console import session as cs
from triage.service.console.views import render
from triage.service.errors import ApiError, Detail, error_response
from triage.storage.keys import Principal, Role
from triage.storage.tables import ApiKey


class ConsoleError(ApiError):
    """An error on a console route; see console_error()."""

    @classmethod
    def from_api(cls, error: ApiError) -> ConsoleError:
        return cls(error.status, error.code, error.message, error.details)


class SignInRequired(ConsoleError):
    def __init__(self, found: str) -> None:
        super().__init__(
            401,
            "unauthenticated",
            "sign in to the console with a moderator or admin API key",
            [Detail("session", "a signed-in console session (see /sign-in)", found)],
        )


def csrf_refused(found: str) -> ConsoleError:
    return ConsoleError(
        403,
        "csrf_failed",
        "this form is not from your current console session; reload the page and try again",
        [Detail(cs.CSRF_FIELD, "the CSRF token of this session's form", found)],
    )


@dataclass(frozen=True)
class Moderator:
    principal: Principal
    session: cs.ConsoleSession
    csrf: str

    @property
    def name(self) -> str:
        return self.principal.name


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def console_error(request: Request, error: ConsoleError) -> Response:
    """A browser gets a page (or, not signed in, the sign-in page); other clients get JSON."""
    if not wants_html(request):
        return error_response(error)
    if isinstance(error, SignInRequired) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)
    page = render(request, "error.html", {"error": error}, status_code=error.status)
    page.headers.update(error.headers)
    return page


def console_secret(request: Request) -> bytes:
    """The cookie-signing secret, loaded (or generated) on the console's first use."""
    secret = getattr(request.app.state, "console_secret", None)
    if secret is None:
        try:
            secret = cs.load_secret(request.app.state.settings)
        except cs.SecretError as error:
            raise ConsoleError(
                503,
                "console_unavailable",
                "the console has no secret to sign sessions with",
                [Detail("secret_key", "TRIAGE_SECRET_KEY or a writable key file", str(error))],
            ) from None
        request.app.state.console_secret = secret
    return secret


def read_session(request: Request) -> cs.ConsoleSession | None:
    return cs.decode(console_secret(request), request.cookies.get(cs.COOKIE), time.time())


def set_session_cookie(request: Request, response: Response, session: cs.ConsoleSession) -> None:
    settings = request.app.state.settings
    secure = settings.cookie_secure
    if secure is None:
        secure = request.url.scheme == "https"
    response.set_cookie(
        cs.COOKIE,
        cs.encode(console_secret(request), session),
        max_age=max(int(session.expires_at - time.time()), 0),
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def current_moderator(request: Request) -> Moderator:
    """The signed-in moderator or admin; the key is re-checked on every request."""
    session = read_session(request)
    if session is None or session.key_id is None:
        raise SignInRequired("no session, or an expired one")
    with request.app.state.db.read() as db_session:
        row = db_session.get(ApiKey, session.key_id)
        principal = Principal(row.id, row.name, Role(row.role)) if row else None
        revoked = row is None or row.revoked_at is not None
    if revoked or principal is None:
        raise SignInRequired("a session whose API key was revoked")
    request.state.principal = principal  # for the access log: key id and name, never the key
    if not principal.role.allows(Role.MODERATOR):
        raise ConsoleError(
            403,
            "forbidden",
            "the console is for moderators",
            [Detail("role", "moderator (or admin)", principal.role.value)],
        )
    return Moderator(principal, session, cs.csrf_token(console_secret(request), session))


async def form_csrf(request: Request) -> str | None:
    form = await request.form()
    token = form.get(cs.CSRF_FIELD)
    return token if isinstance(token, str) else request.headers.get(cs.CSRF_HEADER)


async def checked_moderator(
    request: Request, moderator: Annotated[Moderator, Depends(current_moderator)]
) -> Moderator:
    """current_moderator, for a POST: the form must carry this session's CSRF token."""
    token = await form_csrf(request)
    if not cs.csrf_ok(console_secret(request), moderator.session, token):
        raise csrf_refused("no token" if not token else "a token of another session")
    return moderator


ModeratorSession = Annotated[Moderator, Depends(current_moderator)]
CheckedModerator = Annotated[Moderator, Depends(checked_moderator)]
