"""Request body size limit as plain ASGI middleware (before any body is read)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from triage.service.errors import ApiError, Detail, error_response


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_bytes:
                error = ApiError(
                    413,
                    "body_too_large",
                    "the request body is too large",
                    [
                        Detail(
                            "body",
                            f"at most {self.max_bytes} bytes (TRIAGE_MAX_BODY_BYTES)",
                            f"{int(length)} bytes",
                        )
                    ],
                )
                await error_response(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)
