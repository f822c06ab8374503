"""The one error shape (errors.py) as OpenAPI responses, so the spec documents every 4xx and 503
a route answers, with the body it really has (tests/system/test_fuzz_api.py holds the app to it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetailOut(BaseModel):
    field: str | None = Field(description="where, e.g. items[0].text; null for the whole request")
    expected: str
    found: str = Field(description="what was found: a type, size or count, never posted text")


class ErrorBodyOut(BaseModel):
    status: int
    code: str = Field(description="e.g. invalid_request, unauthenticated, item_not_found")
    message: str
    details: list[ErrorDetailOut]


class ErrorOut(BaseModel):
    error: ErrorBodyOut


WHEN = {
    401: "no API key, or an unknown or revoked one",
    403: "the key's role may not do this",
    404: "no such item",
    409: "the event does not apply to the item's state (e.g. claimed by someone else)",
    413: "the body is larger than TRIAGE_MAX_BODY_BYTES",
    422: "the request is not valid, or breaks a limit: see details",
    429: "too many requests for this key: retry after Retry-After seconds",
    503: "the model is not loaded: see /readyz",
}
AUTHENTICATED = (401, 403, 422, 429)  # every route that needs a key


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: each status with the one error shape."""
    return {status: {"model": ErrorOut, "description": WHEN[status]} for status in statuses}
