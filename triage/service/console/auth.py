"""Who is using the console: the signed-in moderator (a dependency), CSRF checks on every POST,
and the console's refusals (TriageErrors, rendered as pages by console/routing.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from triage.problems import Detail
from triage.service.console import session as cs
from triage.service.context import context_of
from triage.service.errors import TriageError
from triage.storage.keys import Principal, Role
from triage.storage.tables import ApiKey


def sign_in_required(found: str) -> TriageError:
    """The console's only 401: a browser asking for a page is sent to sign in instead."""
    return TriageError(
        401,
        "unauthenticated",
        "sign in to the console with a moderator or admin API key",
        [Detail("session", "a signed-in console session (see /sign-in)", found)],
    )


def csrf_refused(found: str) -> TriageError:
    return TriageError(
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


def console_secret(request: Request) -> bytes:
    """The cookie-signing secret, loaded (or generated) on the console's first use."""
    context = context_of(request)
    secret = context.console_secret
    if secret is None:
        try:
            secret = cs.load_secret(context.settings)
        except cs.SecretError as error:
            raise TriageError(
                503,
                "console_unavailable",
                "the console has no secret to sign sessions with",
                [Detail("secret_key", "TRIAGE_SECRET_KEY or a writable key file", str(error))],
            ) from None
        context.console_secret = secret
    return secret


def read_session(request: Request) -> cs.ConsoleSession | None:
    return cs.decode(console_secret(request), request.cookies.get(cs.COOKIE), time.time())


def set_session_cookie(request: Request, response: Response, session: cs.ConsoleSession) -> None:
    settings = context_of(request).settings
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
        raise sign_in_required("no session, or an expired one")
    with context_of(request).database.read() as db_session:
        row = db_session.get(ApiKey, session.key_id)
        principal = Principal(row.id, row.name, Role(row.role)) if row else None
        revoked = row is None or row.revoked_at is not None
    if revoked or principal is None:
        raise sign_in_required("a session whose API key was revoked")
    request.state.principal = principal  # for the access log: key id and name, never the key
    if not principal.role.allows(Role.MODERATOR):
        raise TriageError(
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
