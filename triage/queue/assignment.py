"""Who an item may be assigned to: a moderator, named as events name actors (an active key's
name, moderator or admin role). Assignment itself is an event (review.EventType.ASSIGN) that
queue.append_event applies; this module only answers who can take one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.storage.keys import Role
from triage.storage.tables import ApiKey

ASSIGNABLE_ROLES = (Role.MODERATOR.value, Role.ADMIN.value)


class UnknownAssignee(ValueError):
    """The assignee is no active moderator or admin key's name (the API answers 422)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no active moderator key is named {name!r}")
        self.name = name


def assignable_moderators(session: Session) -> list[str]:
    """The names an item may be assigned to, sorted (the console's assign menu)."""
    rows = session.scalars(
        select(ApiKey.name)
        .where(ApiKey.revoked_at.is_(None), ApiKey.role.in_(ASSIGNABLE_ROLES))
        .order_by(ApiKey.name)
    )
    return list(rows)


def check_assignee(session: Session, name: str) -> None:
    """UnknownAssignee unless `name` is an active moderator or admin key's name."""
    found = session.scalar(
        select(ApiKey.id).where(
            ApiKey.name == name, ApiKey.revoked_at.is_(None), ApiKey.role.in_(ASSIGNABLE_ROLES)
        )
    )
    if found is None:
        raise UnknownAssignee(name)
