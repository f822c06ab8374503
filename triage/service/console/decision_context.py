"""What the item page shows as context for a decision, in plain words: the audit trail
("Claimed by sam at 14:02"), the author's other recent items with a repeat-risk note, the
thread around the item, and the link to the post on the platform.

Built from queue/item_context.py and the item's events; the template is _context.html.
Nothing here logs: these strings can hold moderators' names and members' report reasons, and
the rows hold post text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from triage.domain.review import Outcome
from triage.queue import item_context
from triage.queue.item_context import AuthorHistory, RepeatRisk, ThreadView
from triage.service.api.post_links import post_link_host
from triage.service.console.views import sensitive_reason, tier_name
from triage.storage.tables import Item

OUTCOME_WORDS = {
    Outcome.NO_ACTION.value: "no action needed",
    Outcome.SUPPORTED.value: "supported the person",
    Outcome.ESCALATED_TO_CRISIS_TEAM.value: "escalated to the crisis team",
    Outcome.CONFIRMED_SPAM.value: "confirmed spam",
    Outcome.CONFIRMED_HOSTILE.value: "confirmed hostile",
    Outcome.FALSE_POSITIVE.value: "false positive",
}
SELF_HARM_OUTCOMES = "item resolved as self-harm (supported or escalated to the crisis team)"
# "<verb> by <who> at <time>" for moderator events
DONE_BY = {
    "claim": "Claimed",
    "release": "Released",
    "escalate": "Escalated",
    "resolve": "Resolved",
    "comment": "Comment",
    "relabel": "Relabelled",
    "reopen": "Reopened",
    "unassign": "Unassigned",
}


@dataclass(frozen=True)
class ContextRow:
    """One other item, as the context lists show it."""

    item_id: int
    external_id: str
    tier: str | None  # None while unscored
    flags: list[str]
    status: str  # "open", "claimed by sam", "resolved: supported the person"
    received_at: datetime
    text: str | None = None  # thread rows only: shown blurred by `blur_reason`
    blur_reason: str | None = None
    relation: str | None = None  # "this item", "replied to", "reply"
    is_this_item: bool = False


@dataclass(frozen=True)
class PostLink:
    url: str
    host: str


@dataclass(frozen=True)
class DecisionContext:
    audit: list[str]
    author: AuthorHistory | None
    author_rows: list[ContextRow]
    repeat_risk_note: str | None
    thread: ThreadView
    thread_rows: list[ContextRow]
    link: PostLink | None


def build(
    session: Session, item: Item, thread: ThreadView, events: Sequence, now: datetime
) -> DecisionContext:
    author = item_context.author_history(session, item, now)
    return DecisionContext(
        audit=audit_trail(events, now),
        author=author,
        author_rows=[_row(other) for other in author.items] if author else [],
        repeat_risk_note=repeat_risk_note(author.repeat_risk) if author else None,
        thread=thread,
        thread_rows=[_thread_row(item, other) for other in thread.items],
        link=post_link(item.url),
    )


def post_link(url: str | None) -> PostLink | None:
    host = post_link_host(url)
    return PostLink(url, host) if url and host else None


def _scored_tier(row: Item) -> str | None:
    return row.tier if row.scoring_state == "scored" else None


def status_words(state: str, claimed_by: str | None, outcome: str | None) -> str:
    if state == "claimed":
        return f"claimed by {claimed_by}"
    if state == "resolved" and outcome:
        return f"resolved: {OUTCOME_WORDS.get(outcome, outcome.replace('_', ' '))}"
    return state


def _row(other: Item) -> ContextRow:
    return ContextRow(
        item_id=other.id,
        external_id=other.external_id,
        tier=_scored_tier(other),
        flags=list(other.flags or []),
        status=status_words(other.state, other.claimed_by, other.outcome),
        received_at=other.received_at,
    )


def _thread_row(item: Item, other: Item) -> ContextRow:
    if other.id == item.id:
        relation = "this item"
    elif item.parent_external_id and other.external_id == item.parent_external_id:
        relation = "replied to"
    elif other.parent_external_id == item.external_id:
        relation = "reply"
    else:
        relation = None
    tier, flags = _scored_tier(other), list(other.flags or [])
    return ContextRow(
        item_id=other.id,
        external_id=other.external_id,
        tier=tier,
        flags=flags,
        status=status_words(other.state, other.claimed_by, other.outcome),
        received_at=other.received_at,
        text=other.text,
        blur_reason=sensitive_reason(tier, flags, other.language_unsupported),
        relation=relation,
        is_this_item=other.id == item.id,
    )


def repeat_risk_note(risk: RepeatRisk) -> str | None:
    """One sentence for the moderator, or None when the author's recent record shows no risk."""
    if not risk.present:
        return None
    parts = []
    if risk.high_risk_items:
        parts.append(_count(risk.high_risk_items, "other crisis or red item"))
    if risk.self_harm_outcomes:
        parts.append(_count(risk.self_harm_outcomes, SELF_HARM_OUTCOMES))
    return (
        f"Repeat risk: this author has {' and '.join(parts)} in the last {risk.days} days. "
        "Read this post with that history in mind."
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun.replace('item', 'items', 1)}"


def when(moment: datetime, now: datetime) -> str:
    """When, for the audit trail (UTC): "at 14:02" today, "on 3 Mar at 14:02" this year, and
    "on 3 Mar 2025 at 14:02" before."""
    clock = moment.strftime("%H:%M")
    if moment.date() == now.date():
        return f"at {clock}"
    day = f"{moment.day} {moment.strftime('%b')}"
    if moment.year != now.year:
        day += f" {moment.year}"
    return f"on {day} at {clock}"


def audit_trail(events: Sequence, now: datetime) -> list[str]:
    """The item's events as sentences, oldest first; consecutive member reports are one line
    ("Reported by 3 members: bullying (2), spam — at 14:02, the last at 14:12")."""
    lines: list[str] = []
    reports: list = []
    for event in events:
        if event.type == "report":
            reports.append(event)
            continue
        if reports:
            lines.append(_reports_line(reports, now))
            reports = []
        lines.append(event_words(event, now))
    if reports:
        lines.append(_reports_line(reports, now))
    return lines


def _reports_line(reports: list, now: datetime) -> str:
    reasons = Counter((r.report_reason or "other").replace("_", " ") for r in reports)
    several = len(reasons) > 1  # one reason: its count is the members'
    listed = ", ".join(
        f"{reason} ({n})" if several and n > 1 else reason for reason, n in reasons.most_common()
    )
    members = "1 member" if len(reports) == 1 else f"{len(reports)} members"
    first, last = when(reports[0].created_at, now), when(reports[-1].created_at, now)
    span = first if first == last else f"{first}, the last {last}"
    return f"Reported by {members}: {listed} — {span}"


def event_words(event, now: datetime) -> str:
    """One event in plain words; a type this module does not know still reads sensibly."""
    at, who = when(event.created_at, now), event.actor
    match event.type:
        case "ingested":
            return f"Received {at}"
        case "scored":
            return f"Scored {tier_name(event.tier).lower()} by the model {at}"
        case "scoring_failed":
            return f"Scoring failed {at}: left for a person to judge"
        case "text_purged":
            return f"Text purged by the retention policy {at}"
        case "rescored":
            model = getattr(event, "model_version", None) or "a new model"
            return f"Re-scored {tier_name(event.tier).lower()} by {model} {at}"
        case "resolve":
            outcome = OUTCOME_WORDS.get(event.outcome or "", event.outcome or "no outcome")
            return f"Resolved by {who} {at}: {outcome}"
        case "relabel":
            labels = ", ".join(
                f"{label.replace('_', ' ')} {'yes' if value else 'no'}"
                for label, value in sorted((event.labels or {}).items())
            )
            return f"Relabelled by {who} {at}: {labels}"
        case "assign":
            assignee = getattr(event, "assignee", None)
            to = f" to {assignee}" if assignee else ""
            return f"Assigned{to} by {who} {at}"
    verb = DONE_BY.get(event.type, event.type.replace("_", " ").capitalize())
    return f"{verb} by {who} {at}"
