"""The console's side of the high-risk limit (triage/domain/high_risk_limit.py) and of reply
guidance:
what a claim or "next item" reads to decide, and what the item page shows about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request

from triage.domain.high_risk_limit import Steer, decide, is_high_risk
from triage.domain.reply_guidance import (
    ReplyGuidanceError,
    Selected,
    load_reply_guidance,
    needs_crisis_resources,
)
from triage.queue import moderators, team_load
from triage.queue import store as queue
from triage.service.console.auth import Moderator
from triage.service.context import context_of
from triage.storage.tables import MAX_ID

OVERRIDE_FIELD = "override_limit"  # "take it anyway": the claim is never steered


@dataclass(frozen=True)
class CareNote:
    """Why the console opened a lighter item: shown on that item's page."""

    from_item: int
    from_tier: str | None
    from_waiting: bool  # still open or escalated: it can be claimed anyway
    taken: int
    limit: int
    free_colleagues: tuple[str, ...]
    active_minutes: float


@dataclass(frozen=True)
class GuidanceView:
    selected: list[Selected]
    crisis_open: bool  # crisis lines and safe messaging shown open, not one click away
    error: str | None = None


def steer_for(request: Request, moderator: Moderator, tier: str | None) -> Steer | None:
    """decide() for this moderator taking an item of `tier` now, from the database's view."""
    service = context_of(request)
    settings = service.settings
    limit = settings.high_risk_limit_per_hour
    if limit <= 0 or not is_high_risk(tier):
        return None  # the common case: no reads
    now = datetime.now(UTC)
    active_within = timedelta(minutes=settings.moderator_active_minutes)
    with service.database.read() as session:
        taken = team_load.high_risk_taken(session, moderator.name, now)
        colleagues = team_load.active_colleagues(session, moderator.name, now, active_within)
        opted_out = moderators.opt_outs(session, moderator.name)
        lighter = team_load.next_waiting_item(session, opted_out, known_low_risk=True)
    return decide(
        item_tier=tier,
        taken=taken,
        limit=limit,
        colleagues=colleagues,
        alternative=lighter.id if lighter else None,
    )


def steered_claim(request: Request, moderator: Moderator, item_id: int, form) -> str | None:
    """Where a claim of `item_id` goes instead (a lighter item's page), or None to claim it."""
    if form.get(OVERRIDE_FIELD) == "1":
        return None
    with context_of(request).database.read() as session:
        try:
            item = queue.get_item(session, item_id)
        except queue.ItemNotFound:
            return None  # the claim itself answers 404
        tier, waiting = item.tier, item.waiting
    if not waiting:
        return None  # claimed or resolved: the claim itself answers 409
    steer = steer_for(request, moderator, tier)
    return f"/items/{steer.to_item}?steered_from={item_id}" if steer else None


def care_note(request: Request, moderator: Moderator, steered_from: int | None) -> CareNote | None:
    """The note for a page opened instead of item `steered_from`, with the numbers as they are
    now."""
    if steered_from is None or not 1 <= steered_from <= MAX_ID:
        return None
    service = context_of(request)
    settings, now = service.settings, datetime.now(UTC)
    active_within = timedelta(minutes=settings.moderator_active_minutes)
    with service.database.read() as session:
        try:
            item = queue.get_item(session, steered_from)
        except queue.ItemNotFound:
            return None
        taken = team_load.high_risk_taken(session, moderator.name, now)
        colleagues = team_load.active_colleagues(session, moderator.name, now, active_within)
        limit = settings.high_risk_limit_per_hour
        return CareNote(
            from_item=item.id,
            from_tier=item.tier,
            from_waiting=bool(item.waiting),
            taken=taken,
            limit=limit,
            free_colleagues=tuple(c.name for c in colleagues if c.high_risk_taken < limit),
            active_minutes=settings.moderator_active_minutes,
        )


def guidance_for(request: Request, tier: str | None, flags: list[str]) -> GuidanceView:
    """The reply guidance that fits an item; a broken file shows its reason, and the crisis
    resources open, rather than failing the page."""
    try:
        guidance = load_reply_guidance(context_of(request).settings.config_dir)
    except ReplyGuidanceError as error:
        return GuidanceView([], True, str(error))
    selected = guidance.for_item(tier, flags)
    return GuidanceView(selected, needs_crisis_resources(selected))
