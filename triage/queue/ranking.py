"""How an item's place in the queue is derived: the policy half of the queue.

rank() turns an item's stored facts (tier, flags, scores, member reports, how long it has
waited against its tier's SLA) into its stored priority and the reasons shown for it, using
triage.domain.priority, and sets rerank_at: when ageing next changes that priority.
refresh_priorities() re-ranks the items whose moment has come, so the priority stays a stored
column and the queue an index scan in tables.QUEUE_ORDER at any depth.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.domain.labels import Tier
from triage.domain.priority import (
    UNCERTAIN_REASON,
    MemberReports,
    compute_priority,
    crisis_resource_reason,
    minutes_until_ageing_changes,
    unreadable_language_reason,
    unscored_priority,
)
from triage.domain.review import ReviewState
from triage.domain.tier_rules import TierRules
from triage.storage.tables import Item


def rank(item: Item, rules: TierRules, now: datetime) -> None:
    """Recompute the stored priority (with ageing) and when it next needs recomputing."""
    waited = max((now - item.received_at).total_seconds() / 60, 0.0)
    sla = rules.sla_for(item.tier if item.scoring_state == "scored" else None)
    reports = member_reports(item)
    if item.scoring_state == "scored" and item.tier is not None:
        priority = compute_priority(  # as the scorer computed it, from the stored facts
            Tier(item.tier),
            item.flags,
            item.scores or {},
            waited,
            sla,
            item.tier_scores,
            reports,
            points=rules.priority,
        )
    else:
        priority = unscored_priority(waited, sla, reports, points=rules.priority)
    item.priority, item.priority_reasons = priority.value, list(priority.reasons)
    if item.tier_uncertain:
        item.priority_reasons.append(UNCERTAIN_REASON)
    if item.language_unsupported:  # the stored tier already holds the floor (scoring/decision.py)
        item.priority_reasons.append(unreadable_language_reason(item.language or "und"))
    if item.spam_withheld_by is not None:  # the scorer's reason, from the stored resource
        item.priority_reasons.append(crisis_resource_reason(item.spam_withheld_by))
    thread = item.thread_corumination or {}
    if thread.get("flagged"):  # explains, does not re-rank: see triage/queue/thread_scoring.py
        item.priority_reasons.append(thread["summary"])
    step = minutes_until_ageing_changes(waited, sla, points=rules.priority)
    resolved = item.state == ReviewState.RESOLVED.value
    item.rerank_at = None if step is None or resolved else now + timedelta(minutes=step)


def member_reports(item: Item) -> MemberReports | None:
    if not item.report_count:
        return None
    return MemberReports(item.report_count, dict(item.report_reasons or {}), item.report_weight)


def refresh_priorities(session: Session, rules: TierRules, now: datetime, limit: int = 500) -> int:
    """Re-rank up to `limit` items whose ageing has moved on; returns how many."""
    items = session.scalars(
        select(Item)
        .where(Item.rerank_at.is_not(None), Item.rerank_at <= now)
        .order_by(Item.rerank_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for item in items:
        rank(item, rules, now)
    return len(items)
