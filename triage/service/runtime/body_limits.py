"""Request body limits as plain ASGI middleware, enforced on the bytes as they arrive.

A declared Content-Length over the limit is refused before anything is read. Otherwise the
bytes of the body are counted as the app pulls them (a chunked body declares no length, and a
declared length may lie): past the limit the app gets no more of the body, its own answer to
the cut-off body is dropped, and the caller gets 413. So at most max_bytes of a body is ever
buffered, whoever sent it.

An API route (under /v1/) also refuses, with 401, to read the body of a request that carries
no API key at all: the key is checked after the body is parsed (deps.get_principal), so without
this an unauthenticated client could make the service read max_bytes per request. Whether the
key is valid is still decided by get_principal; here only its presence is checked.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.problems import Detail
from triage.service.deps import bearer_key, missing_key_error
from triage.service.errors import TriageError, error_response


class _BodyRefused(Exception):
    """Raised into the app from receive(); the middleware answers with `error`."""

    def __init__(self, error: TriageError) -> None:
        super().__init__(error.code)
        self.error = error


def too_large(max_bytes: int, found: str) -> TriageError:
    return TriageError(
        413,
        "body_too_large",
        "the request body is too large",
        [Detail("body", f"at most {max_bytes} bytes (TRIAGE_MAX_BODY_BYTES)", found)],
    )


def declared_length(scope: Scope) -> int | None:
    length = Headers(scope=scope).get("content-length")
    return int(length) if length is not None and length.isdigit() else None


class _GuardedExchange:
    """One request's receive and send, wrapped: counts body bytes and, once the body is
    refused, keeps the rest of it unread and holds back the app's own response."""

    def __init__(self, receive: Receive, send: Send, max_bytes: int, key_needed: bool) -> None:
        self._receive, self._send = receive, send
        self.max_bytes = max_bytes
        self.key_needed = key_needed
        self.received = 0
        self.refusal: TriageError | None = None
        self.response_started = False
        self.held_back = False

    async def receive(self) -> Message:
        if self.refusal is None and self.key_needed and not self.response_started:
            self.refusal = missing_key_error()
        if self.refusal is not None:
            raise _BodyRefused(self.refusal)
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.max_bytes:
                self.refusal = too_large(self.max_bytes, f"more than {self.max_bytes} bytes")
                raise _BodyRefused(self.refusal)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.held_back = self.refusal is not None
            self.response_started = not self.held_back
        if not self.held_back:
            await self._send(message)

    @property
    def must_answer(self) -> bool:
        return self.refusal is not None and not self.response_started


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, key_required_under: str = "/v1/") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.key_required_under = key_required_under

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            await error_response(too_large(self.max_bytes, f"{length} bytes"))(scope, receive, send)
            return
        exchange = _GuardedExchange(receive, send, self.max_bytes, self._key_missing(scope))
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            # whatever the app made of a refused body (FastAPI turns it into a 400), the
            # refusal is the answer; any other failure is not this middleware's to handle
            if not exchange.must_answer:
                raise
        if exchange.must_answer:
            assert exchange.refusal is not None  # must_answer means there is a refusal
            await error_response(exchange.refusal)(scope, receive, send)

    def _key_missing(self, scope: Scope) -> bool:
        on_api = scope.get("path", "").startswith(self.key_required_under)
        return on_api and bearer_key(Headers(scope=scope)) is None
