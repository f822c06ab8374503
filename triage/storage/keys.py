"""API keys with roles. A key is shown once at creation and stored only as a SHA-256 digest.

Keys look like `trg_<8-char prefix>_<secret>`. The prefix finds the row; the digest of the
whole key is then compared in constant time (hmac.compare_digest).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage.domain.review import SYSTEM_ACTOR
from triage.storage.tables import NAME, ApiKey

KEY_PREFIX = "trg"
# names no key may take (compared ignoring case): events by such a key would read as the system's
RESERVED_NAMES = frozenset({SYSTEM_ACTOR, "system"})


class BadKeyName(ValueError):
    """The name cannot be given to a new key: blank, too long, reserved, or already in use."""


class Role(StrEnum):
    PLATFORM = "platform"  # score and ingest
    MODERATOR = "moderator"  # queue, items, events, console
    ADMIN = "admin"  # everything, including keys and settings
    METRICS = "metrics"  # GET /metrics only: what a Prometheus scraper holds

    def allows(self, needed: Role) -> bool:
        return self is Role.ADMIN or self is needed


@dataclass(frozen=True)
class Principal:
    """Who is calling. Events record the key's name (unique among active keys; shown as the
    actor) and its id (never reused, so the audit trail tells two holders of a name apart)."""

    key_id: int
    name: str
    role: Role


@dataclass(frozen=True)
class NewKey:
    principal: Principal
    secret: str  # the full key: shown once, never stored


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_name(session: Session, name: str) -> None:
    """Raise BadKeyName unless `name` may be given to a new key now."""
    if not name.strip():
        raise BadKeyName("a key name: expected a non-empty name, found a blank one")
    if len(name) > NAME:
        raise BadKeyName(f"a key name: expected at most {NAME} characters, found {len(name)}")
    if name.strip().lower() in RESERVED_NAMES:
        raise BadKeyName(
            f"the name {name!r} is reserved: {SYSTEM_ACTOR!r} is the actor of system events"
        )
    holder = session.scalar(
        select(ApiKey.id).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
    )
    if holder is not None:
        raise BadKeyName(
            f"the name {name!r} is held by active key {holder}; choose another, or revoke "
            f"that key first (`triage keys revoke {holder}`)"
        )


def create_key(session: Session, name: str, role: Role, now: datetime) -> NewKey:
    """A new key named `name`; BadKeyName if the name cannot be used (see check_name)."""
    check_name(session, name)
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name, role=role.value, prefix=prefix, digest=digest(secret), created_at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # created at the same moment by another process: the index refused
        raise BadKeyName(f"the name {name!r} was just given to another active key") from None
    return NewKey(Principal(row.id, name, role), secret)


def verify_key(session: Session, key: str) -> Principal | None:
    """The principal for a valid, unrevoked key; None otherwise."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    wanted = digest(key)
    rows = session.scalars(
        select(ApiKey).where(ApiKey.prefix == parts[1], ApiKey.revoked_at.is_(None))
    )
    for row in rows:
        if hmac.compare_digest(row.digest, wanted):
            return Principal(row.id, row.name, Role(row.role))
    return None


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, key_id: int, now: datetime) -> ApiKey | None:
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
    return row
