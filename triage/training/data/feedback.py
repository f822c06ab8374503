"""Moderator feedback as training rows: `triage data export-feedback` and its adapter.

Outcomes and relabels in the queue's event log become labels next to the public datasets:

| moderator said | label |
|---|---|
| resolve: confirmed_spam / confirmed_hostile | spam / hostile = 1 |
| resolve: escalated_to_crisis_team | self_harm = 1 |
| resolve: false_positive | every label the model had flagged = 0 |
| relabel {label: 0/1} | that label (the latest relabel wins over an outcome) |
| no_action, supported, comments | nothing (they do not say the model was right or wrong) |

An item whose text was purged (retention) cannot be exported. Rows are grouped by thread, and
their split is decided by the thread's hash, so a thread never straddles splits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from triage.domain.labels import LABELS
from triage.domain.review import Outcome
from triage.storage.tables import Item
from triage.training.data.rows import Row, hash_split

FEEDBACK_FILE = "feedback.jsonl"
_CONFIRMS = {
    Outcome.CONFIRMED_SPAM: "spam",
    Outcome.CONFIRMED_HOSTILE: "hostile",
    Outcome.ESCALATED_TO_CRISIS_TEAM: "self_harm",
}


def labels_from_review(
    flags: list[str], outcome: Outcome | None, relabels: dict[str, int] | None
) -> dict[str, int | None]:
    labels: dict[str, int | None] = dict.fromkeys(LABELS)
    if outcome in _CONFIRMS:
        labels[_CONFIRMS[outcome]] = 1
    elif outcome is Outcome.FALSE_POSITIVE:
        for label in flags:
            labels[label] = 0
    for label, value in (relabels or {}).items():
        labels[label] = int(value)
    return labels


def feedback_rows(session: Session) -> Iterator[Row]:
    items = session.scalars(
        select(Item)
        .where(Item.text.is_not(None), or_(Item.outcome.is_not(None), Item.relabels.is_not(None)))
        .order_by(Item.id)
    )
    for item in items:
        outcome = Outcome(item.outcome) if item.outcome else None
        labels = labels_from_review(list(item.flags or []), outcome, item.relabels)
        if all(value is None for value in labels.values()):
            continue
        group = f"thread:{item.community}:{item.thread_id or item.external_id}"
        yield Row(
            id=f"feedback:{item.community}:{item.external_id}",
            text=item.text,
            parent_text=item.parent_text,
            source="feedback",
            group=group,
            split=hash_split(group),
            labels=labels,
        )


def export_feedback(session: Session, out_dir: Path) -> int:
    """Write feedback.jsonl into out_dir (replacing it); returns the number of rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    staging = out_dir / (FEEDBACK_FILE + ".tmp")
    with staging.open("w", encoding="utf-8") as handle:
        for row in feedback_rows(session):
            handle.write(json.dumps(row.to_json(), ensure_ascii=False) + "\n")
            count += 1
    staging.replace(out_dir / FEEDBACK_FILE)
    return count


def read_feedback(directory: Path) -> Iterator[Row]:
    """The adapter for `triage data prepare` (source "feedback", found under --external)."""
    with (directory / FEEDBACK_FILE).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield Row.from_json(json.loads(line))
