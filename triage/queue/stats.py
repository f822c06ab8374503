"""GET /v1/stats: queue depth per tier, SLA breaches, time to first action, override rate."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.domain.labels import TIERS
from triage.domain.review import Outcome, ReviewState, disagrees_with_model
from triage.domain.tier_rules import TierRules
from triage.queue.store import UNSCORED
from triage.storage.tables import Item

WAITING = (ReviewState.OPEN.value, ReviewState.CLAIMED.value, ReviewState.ESCALATED.value)
MAX_ROWS_FOR_MEDIANS = 50_000


@dataclass(frozen=True)
class QueueStats:
    depth: dict[str, int]  # not-yet-resolved items per tier (and unscored)
    sla_breaches_open: dict[str, int]  # waiting items already past their tier's SLA
    window_hours: float
    handled: int  # items with a first moderator action within the window
    median_minutes_to_first_action: float | None
    first_action_within_sla: float | None  # share of handled items acted on within their SLA
    resolved: int  # items resolved within the window
    override_rate: float | None  # share of resolved items where the moderator overruled flags


def _tier_key(tier: str | None, scoring_state: str) -> str:
    return tier if scoring_state == "scored" and tier else UNSCORED


def waiting_depth(session: Session) -> dict[str, int]:
    """Not-yet-resolved items per tier (and unscored): one grouped count."""
    depth = dict.fromkeys((*TIERS, UNSCORED), 0)
    rows = session.execute(
        select(Item.tier, Item.scoring_state, func.count())
        .where(Item.state.in_(WAITING))
        .group_by(Item.tier, Item.scoring_state)
    )
    for tier, scoring_state, count in rows:
        depth[_tier_key(tier, scoring_state)] += count
    return depth


def sla_breaches(session: Session, rules: TierRules, now: datetime) -> dict[str, int]:
    """Not-yet-resolved items already past their tier's SLA: one count per tier."""
    breaches = dict.fromkeys((*TIERS, UNSCORED), 0)
    for key in breaches:
        sla = rules.sla_for(None if key == UNSCORED else key)
        if sla is None:
            continue
        query = select(func.count()).where(
            Item.state.in_(WAITING), Item.received_at < now - timedelta(minutes=sla)
        )
        if key == UNSCORED:
            query = query.where(Item.scoring_state != "scored")
        else:
            query = query.where(Item.tier == key, Item.scoring_state == "scored")
        breaches[key] = session.scalar(query) or 0
    return breaches


def queue_stats(
    session: Session, rules: TierRules, now: datetime, window: timedelta = timedelta(days=7)
) -> QueueStats:
    depth = waiting_depth(session)
    breaches = sla_breaches(session, rules, now)
    since = now - window
    acted = session.execute(
        select(Item.received_at, Item.first_action_at, Item.tier, Item.scoring_state)
        .where(Item.first_action_at >= since)
        .limit(MAX_ROWS_FOR_MEDIANS)
    ).all()
    waits, within = [], 0
    for received_at, first_action_at, tier, scoring_state in acted:
        assert first_action_at is not None  # the WHERE above compares it, so it is not NULL
        minutes = (first_action_at - received_at).total_seconds() / 60
        waits.append(minutes)
        sla = rules.sla_for(tier if scoring_state == "scored" else None)
        within += sla is None or minutes <= sla

    resolved = session.execute(
        select(Item.flags, Item.outcome, Item.relabels)
        .where(Item.resolved_at >= since)
        .limit(MAX_ROWS_FOR_MEDIANS)
    ).all()
    overruled = sum(
        disagrees_with_model(flags or [], Outcome(outcome) if outcome else None, relabels)
        for flags, outcome, relabels in resolved
    )
    return QueueStats(
        depth=depth,
        sla_breaches_open=breaches,
        window_hours=window.total_seconds() / 3600,
        handled=len(waits),
        median_minutes_to_first_action=round(statistics.median(waits), 2) if waits else None,
        first_action_within_sla=round(within / len(waits), 4) if waits else None,
        resolved=len(resolved),
        override_rate=round(overruled / len(resolved), 4) if resolved else None,
    )
