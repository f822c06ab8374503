"""Stored rows -> response bodies (one place, shared by the API and the console)."""

from __future__ import annotations

from datetime import timedelta

from triage.domain.tier_rules import TierRules
from triage.service.api.queue_schemas import (
    EventOut,
    ItemOut,
    QueueItemOut,
    ReportsOut,
    ThreadItemOut,
)
from triage.service.api.schemas import EvidenceOut
from triage.storage.tables import Event, Item


def _scored_tier(item: Item) -> str | None:
    return item.tier if item.scoring_state == "scored" else None


def queue_item_out(item: Item, rules: TierRules) -> QueueItemOut:
    tier = _scored_tier(item)
    sla = rules.sla_for(tier)
    return QueueItemOut(
        item_id=item.id,
        id=item.external_id,
        community=item.community,
        text=item.text,
        parent_text=item.parent_text,
        text_repairs=list(item.text_repairs or []),
        thread_id=item.thread_id,
        parent_id=item.parent_external_id,
        author_id=item.author_id,
        url=item.url,
        received_at=item.received_at,
        scoring="scored" if tier else "unscored",
        tier=tier,
        tier_scores=item.tier_scores,
        scores=item.scores,
        flags=list(item.flags or []),
        evidence=[EvidenceOut(**e) for e in item.evidence or []],
        thread_corumination=item.thread_corumination,
        language=item.language,
        language_unsupported=item.language_unsupported,
        priority=item.priority,
        reasons=list(item.priority_reasons or []),
        reports=reports_out(item),
        state=item.state,
        claimed_by=item.claimed_by,
        assigned_to=item.assigned_to,
        outcome=item.outcome,
        sla_minutes=sla,
        sla_due_at=item.received_at + timedelta(minutes=sla) if sla else None,
    )


def reports_out(item: Item) -> ReportsOut:
    return ReportsOut(
        count=item.report_count or 0,
        reasons=dict(item.report_reasons or {}),
        weight=round(item.report_weight or 0.0, 4),
    )


def event_out(event: Event) -> EventOut:
    return EventOut(
        id=event.id,
        type=event.type,
        actor=event.actor,
        actor_key_id=event.actor_key_id,
        actor_kind=event.actor_kind,
        created_at=event.created_at,
        outcome=event.outcome,
        labels=event.labels,
        note=event.note,
        model_version=event.model_version,
        scores=event.scores,
        tier=event.tier,
        priority=event.priority,
        state_after=event.state_after,
        reporter_id=event.reporter_id,
        report_reason=event.report_reason,
        assignee=event.assignee,
    )


def thread_out(item: Item, thread: list[Item]) -> list[ThreadItemOut]:
    return [
        ThreadItemOut(
            item_id=other.id,
            id=other.external_id,
            text=other.text,
            tier=_scored_tier(other),
            flags=list(other.flags or []),
            received_at=other.received_at,
            is_this_item=other.id == item.id,
        )
        for other in thread
    ]


def item_out(item: Item, events: list[Event], thread: list[Item], rules: TierRules) -> ItemOut:
    return ItemOut(
        **queue_item_out(item, rules).model_dump(),
        model_version=item.model_version,
        scoring_error=item.scoring_error,
        events=[event_out(e) for e in events],
        thread=thread_out(item, thread),
    )
