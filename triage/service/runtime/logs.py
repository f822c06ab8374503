"""Structured logs: one JSON object per line, with the request id, route and API key's id and
name of the request being served.

What never goes into a log: post text, parent text, notes, API keys, cookies, request bodies,
query strings and exception messages (a message may quote its input, e.g. a scorer's or a
database driver's). An exception is logged as its type and its stack frames (file, line,
function, source line), which is what a bug report needs. See
tests/service/runtime/test_logs_privacy.py.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.types import Scope

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Fields a record may carry (set by RequestContextFilter or passed as `extra=`); nothing else
# a record holds is written, so an `extra` added by a library cannot leak into the output.
FIELDS = (
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "key_id",
    "key_name",
    "error_type",
    "stack",
)


@dataclass
class RequestInfo:
    """The request this task serves. `scope` is read lazily: the route is known only after
    routing, the API key only after authentication."""

    request_id: str
    method: str
    scope: Scope = field(repr=False)

    @property
    def route(self) -> str:
        return route_template(self.scope)

    @property
    def principal(self):
        return (self.scope.get("state") or {}).get("principal")


CURRENT: ContextVar[RequestInfo | None] = ContextVar("triage_request", default=None)


def request_id_from(value: str | None) -> str:
    """The caller's X-Request-ID when it is a plain token, else a new one (a header is never
    copied into the logs unchecked)."""
    if value and _REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """`/v1/items/{item_id}`, not `/v1/items/17`: one series per route, and no ids in logs."""
    path = getattr(scope.get("route"), "path", None)
    if path is None:
        return "unmatched"  # 404s: a scanner's paths would make endless series
    return path or "/"


def describe_error(error: BaseException) -> dict[str, str]:
    """An exception as `extra` fields: its type and its frames, never its message."""
    stack = "".join(traceback.format_tb(error.__traceback__))
    cause = error.__cause__ or error.__context__
    kind = type(error).__name__
    if cause is not None:
        kind += f" (from {type(cause).__name__})"
    return {"error_type": kind, "stack": stack}


def log_failure(logger: logging.Logger, message: str, error: BaseException, *args) -> None:
    """logger.exception without the exception's message (see the module docstring)."""
    logger.error(message, *args, extra=describe_error(error))


class RequestContextFilter(logging.Filter):
    """Adds the current request's id, route and key to each record (never the key itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = CURRENT.get()
        if info is None:
            return True
        if not hasattr(record, "request_id"):
            record.request_id = info.request_id
        if not hasattr(record, "route"):
            record.route = info.route
        principal = info.principal
        if principal is not None and not hasattr(record, "key_id"):
            record.key_id, record.key_name = principal.key_id, principal.name
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[1] is not None and "error_type" not in entry:
            entry.update(describe_error(record.exc_info[1]))  # a library's log.exception
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(level: str = "INFO") -> dict:
    """A dictConfig for `triage serve` (passed to uvicorn as log_config): JSON lines on stdout.

    uvicorn's own access log is off (it prints raw paths and query strings); the service
    writes one `triage.access` line per request instead (request_tracking.py). SQLAlchemy stays at
    WARNING at any level: at INFO it logs every statement with its parameters, i.e. post text.
    """
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestContextFilter}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["request"],
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            "sqlalchemy": {"handlers": [], "propagate": True, "level": "WARNING"},
            "alembic": {"handlers": [], "propagate": True, "level": "WARNING"},
            "multipart": {"handlers": [], "propagate": True, "level": "WARNING"},
            "python_multipart": {"handlers": [], "propagate": True, "level": "WARNING"},
        },
    }
