"""Console sign-in: a signed, expiring session cookie, and CSRF tokens derived from it.

Why a signed value rather than a server-side session table: the cookie holds only
{key id, expiry, random session id} under an HMAC-SHA256 of the console secret, so it works
across restarts and replicas with no extra table. Every request re-reads the API key row by id,
so revoking the key (`triage keys revoke`) or changing its role ends its sessions at once.
The cost: signing out deletes the cookie in the browser, but a copy stolen before then stays
valid until it expires (Settings.session_hours, default 8 h). HttpOnly keeps it away from
scripts, SameSite=Strict away from other sites, and Secure on https keeps it off the wire.

A visitor who has not signed in gets an anonymous session (key id null) so the sign-in form
also carries a CSRF token; signing in issues a new session id (no session fixation).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from triage.settings import Settings

log = logging.getLogger(__name__)

COOKIE = "triage_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ANONYMOUS_SECONDS = 3600
MIN_SECRET_CHARS = 32


class SecretError(RuntimeError):
    pass


@dataclass(frozen=True)
class ConsoleSession:
    session_id: str
    key_id: int | None  # None: not signed in yet
    expires_at: int  # unix seconds


def load_secret(settings: Settings) -> bytes:
    """Settings.secret_key, else the file Settings.secret_key_file (generated on first use)."""
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if len(value) < MIN_SECRET_CHARS:
            raise SecretError(
                f"TRIAGE_SECRET_KEY: expected at least {MIN_SECRET_CHARS} characters, "
                f"found {len(value)}"
            )
        return value.encode()
    return _secret_from_file(settings.secret_key_file)


def _secret_from_file(path: Path) -> bytes:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made earlier, or just now by another worker
    except OSError as error:
        raise SecretError(
            f"cannot create the console secret {path} ({error.strerror}); set "
            "TRIAGE_SECRET_KEY or a writable TRIAGE_SECRET_KEY_FILE"
        ) from None
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        log.info("generated a console secret in %s", path)
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_SECRET_CHARS:
        raise SecretError(
            f"{path}: expected a secret of at least {MIN_SECRET_CHARS} characters, "
            f"found {len(value)}"
        )
    return value.encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, purpose: str, message: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}:{message}".encode(), hashlib.sha256).digest())


def new_session(key_id: int | None, now: float, lifetime_s: float) -> ConsoleSession:
    return ConsoleSession(secrets.token_urlsafe(18), key_id, int(now + lifetime_s))


def encode(secret: bytes, session: ConsoleSession) -> str:
    payload = _b64(
        json.dumps(
            {"sid": session.session_id, "kid": session.key_id, "exp": session.expires_at},
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{_sign(secret, 'session', payload)}"


def decode(secret: bytes, cookie: str | None, now: float) -> ConsoleSession | None:
    """The session in a cookie this server signed and that has not expired; else None."""
    if not cookie or cookie.count(".") != 1:
        return None
    payload, signature = cookie.split(".")
    if not _same(signature, _sign(secret, "session", payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = ConsoleSession(str(data["sid"]), data["kid"], int(data["exp"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if session.key_id is not None and not isinstance(session.key_id, int):
        return None
    return session if session.expires_at > now else None


def csrf_token(secret: bytes, session: ConsoleSession) -> str:
    return _sign(secret, "csrf", session.session_id)


def csrf_ok(secret: bytes, session: ConsoleSession, token: object) -> bool:
    """Whether `token` (a form field: maybe missing, or a file) is this session's CSRF token."""
    return isinstance(token, str) and bool(token) and _same(token, csrf_token(secret, session))


def _same(found: str, expected: str) -> bool:
    """A constant-time comparison that takes any text: compare_digest raises TypeError on a
    str with non-ASCII characters, which a cookie or form field may hold."""
    return hmac.compare_digest(found.encode("utf-8", "surrogatepass"), expected.encode())
