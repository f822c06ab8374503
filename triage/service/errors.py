"""The one JSON error shape, for every 4xx and 5xx the service answers:

    {"error": {"status": 422, "code": "invalid_request", "message": "...",
               "details": [{"field": "items[0].text", "expected": "...", "found": "..."}]}}

`found` describes the value (its type, size or count), never echoes posted text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from triage.service.runtime.logs import log_failure, route_template

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Detail:
    field: str | None
    expected: str
    found: str


class ApiError(Exception):
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


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
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


def describe(value: object) -> str:
    """What was found, without repeating user text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        keys = ", ".join(sorted(map(str, value))[:8])
        return f"an object with keys [{keys}]"
    return type(value).__name__


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


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = validation_details(exc)
    fields = ", ".join(sorted({d.field or "body" for d in details}))
    return error_response(
        ApiError(422, "invalid_request", f"the request body is not valid: check {fields}", details)
    )


BODY_PARSE_ERROR = "There was an error parsing the body"  # fastapi.routing's 400


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 404:
        error = ApiError(
            404,
            "not_found",
            "no such route",
            [Detail("path", "a route listed at /docs", request.url.path)],
        )
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "see /docs")
        error = ApiError(
            405,
            "method_not_allowed",
            "this route does not take that method",
            [Detail("method", f"one of: {allowed}", request.method)],
        )
    elif exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
        # FastAPI answers 400 for a JSON body that is not UTF-8 but 422 for other bad JSON:
        # both are the same mistake, so both get the 422 that README and the spec document
        error = ApiError(
            422,
            "invalid_request",
            "the request body is not valid: check body",
            [Detail("body", _EXPECTED["json_invalid"], "a body that is not UTF-8 JSON")],
        )
    else:
        error = ApiError(
            exc.status_code,
            "http_error",
            str(exc.detail),
            [Detail(None, "a request this route accepts", str(exc.detail))],
        )
    return error_response(error, headers=exc.headers)


def internal_error(exc: BaseException) -> ApiError:
    return ApiError(
        500,
        "internal_error",
        "the server failed; this is a bug",
        [Detail(None, "a successful response", f"an internal {type(exc).__name__}")],
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # type and frames only: an exception's message may quote the request (logs.py)
    log_failure(log, "unhandled error on %s %s", exc, request.method, route_template(request.scope))
    return error_response(internal_error(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
