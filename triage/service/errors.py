"""The one JSON error shape, for every 4xx and 5xx the service answers:

    {"error": {"status": 422, "code": "invalid_request", "message": "...",
               "details": [{"field": "items[0].text", "expected": "...", "found": "..."}]}}

`found` describes the value (its type, size or count), never echoes posted text.

One error type, TriageError, is raised by the API and the console alike; how it is rendered is
the route's business, not the raiser's: an API route always answers the JSON shape, a page route
(PageRoute, the console's) renders it for its client (an HTML page for a browser).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict
from typing import cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from triage.problems import Detail, describe
from triage.service.runtime.logs import log_failure, route_template

log = logging.getLogger(__name__)


class TriageError(Exception):
    """A refusal or failure the caller is told about: status, code, message, details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[Detail],
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, list(details)
        self.headers = dict(headers or {})  # e.g. Retry-After on a 429


def error_response(error: TriageError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = {
        "error": {
            "status": error.status,
            "code": error.code,
            "message": error.message,
            "details": [asdict(d) for d in error.details],
        }
    }
    merged = {**error.headers, **(headers or {})}
    return JSONResponse(body, status_code=error.status, headers=merged)


def field_path(loc: Sequence[str | int]) -> str | None:
    parts = [p for p in loc if p != "body"]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or None


_EXPECTED = {
    "missing": "this required field",
    "string_type": "a string",
    "int_type": "an integer",
    "list_type": "a list",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
    "json_invalid": "a valid JSON body (Content-Type: application/json)",
    "extra_forbidden": "no such field",
    "too_short": "at least one item",
    "string_too_short": "a non-empty string",
}


def validation_details(exc: RequestValidationError) -> list[Detail]:
    details = []
    for err in exc.errors():
        kind = err.get("type", "")
        expected = _EXPECTED.get(kind, err.get("msg", "a valid value"))
        if kind == "extra_forbidden":
            found = "an unknown field"
        elif kind == "missing":
            found = "nothing (field missing)"
        elif kind == "json_invalid":
            found = (
                f"a body that is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})"
            )
        else:
            found = describe(err.get("input"))
        details.append(Detail(field_path(err.get("loc", ())), expected, found))
    return details


class PageRoute(APIRoute):
    """A route that serves pages to a browser: a TriageError it raises is answered by its
    error_page (the console's: an HTML page for a browser, the JSON shape for other clients).
    Chosen per route, not per path, so that the console's pages need no common prefix."""

    async def error_page(self, request: Request, error: TriageError) -> Response:
        return error_response(error)


async def _triage_error(request: Request, exc: TriageError) -> Response:
    route = request.scope.get("route")  # the matched route; absent before routing
    if isinstance(route, PageRoute):
        return await route.error_page(request, exc)
    return error_response(exc)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = validation_details(exc)
    fields = ", ".join(sorted({d.field or "body" for d in details}))
    return error_response(
        TriageError(
            422, "invalid_request", f"the request body is not valid: check {fields}", details
        )
    )


BODY_PARSE_ERROR = "There was an error parsing the body"  # fastapi.routing's 400


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 404:
        error = TriageError(
            404,
            "not_found",
            "no such route",
            [Detail("path", "a route listed at /docs", request.url.path)],
        )
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "see /docs")
        error = TriageError(
            405,
            "method_not_allowed",
            "this route does not take that method",
            [Detail("method", f"one of: {allowed}", request.method)],
        )
    elif exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
        # FastAPI answers 400 for a JSON body that is not UTF-8 but 422 for other bad JSON:
        # both are the same mistake, so both get the 422 that README and the spec document
        error = TriageError(
            422,
            "invalid_request",
            "the request body is not valid: check body",
            [Detail("body", _EXPECTED["json_invalid"], "a body that is not UTF-8 JSON")],
        )
    else:
        error = TriageError(
            exc.status_code,
            "http_error",
            str(exc.detail),
            [Detail(None, "a request this route accepts", str(exc.detail))],
        )
    return error_response(error, headers=exc.headers)


def internal_error(exc: BaseException) -> TriageError:
    return TriageError(
        500,
        "internal_error",
        "the server failed; this is a bug",
        [Detail(None, "a successful response", f"an internal {type(exc).__name__}")],
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # type and frames only: an exception's message may quote the request (logs.py)
    log_failure(log, "unhandled error on %s %s", exc, request.method, route_template(request.scope))
    return error_response(internal_error(exc))


# Starlette types a handler as taking any Exception, but calls each one only with an instance of
# the class it is registered for, so a handler typed for that class is safe to register.
_Handler = Callable[[Request, Exception], Awaitable[Response]]


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TriageError, cast(_Handler, _triage_error))
    app.add_exception_handler(RequestValidationError, cast(_Handler, _validation_error))
    app.add_exception_handler(StarletteHTTPException, cast(_Handler, _http_error))
    app.add_exception_handler(Exception, _unhandled)
