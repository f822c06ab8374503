"""The console's routers. A TriageError raised on a console route (by the route, a form
check or the sign-in dependency) is rendered here for the client that asked: a browser gets the
error page, or, not signed in, the sign-in page; any other client gets the one JSON shape.
An API route raising the same error always answers JSON (triage/service/errors.py)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from triage.service.console.auth import wants_html
from triage.service.console.views import render
from triage.service.errors import PageRoute, TriageError, error_response


class ConsoleRoute(PageRoute):
    async def error_page(self, request: Request, error: TriageError) -> Response:
        return console_error_page(request, error)


def console_error_page(request: Request, error: TriageError) -> Response:
    if not wants_html(request):
        return error_response(error)
    if error.status == 401 and request.method == "GET":  # auth.sign_in_required
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)
    page = render(request, "error.html", {"error": error}, status_code=error.status)
    page.headers.update(error.headers)
    return page


def console_router() -> APIRouter:
    """A router of console pages: kept out of the OpenAPI spec, its errors rendered above."""
    return APIRouter(include_in_schema=False, route_class=ConsoleRoute)
