"""Moderator feedback as training rows: `triage data export-feedback` and its adapter.

Outcomes and relabels in the queue's event log become labels next to the public datasets:

| moderator said | label |
|---|---|
| resolve: confirmed_spam / confirmed_hostile | spam / hostile = 1 |
| resolve: escalated_to_crisis_team | self_harm = 1 |
| resolve: false_positive | every label the model had flagged = 0 |
| relabel {label: 0/1} | that label (the latest relabel wins over an outcome) |
| no_action, supported, comments | nothing (they do not say the model was right or wrong) |

The confirmations are review.OUTCOME_LABELS, the table the override rate counts by too. The
queue reads the decisions (triage/queue/feedback_export.py, which leaves out items whose text was
purged); this module turns them into rows and needs no database. Rows are grouped by thread, and
their split is decided by the thread's hash, so a thread never straddles splits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from triage.domain.labels import LABELS
from triage.domain.review import Outcome, ReviewedPost, confirmed_label
from triage.training.data.rows import Row, hash_split

FEEDBACK_FILE = "feedback.jsonl"


def labels_from_review(
    flags: Iterable[str], outcome: Outcome | None, relabels: Mapping[str, int] | None
) -> dict[str, int | None]:
    labels: dict[str, int | None] = dict.fromkeys(LABELS)
    confirmed = confirmed_label(outcome)
    if confirmed is not None:
        labels[confirmed] = 1
    elif outcome is Outcome.FALSE_POSITIVE:
        for label in flags:
            labels[label] = 0
    for label, value in (relabels or {}).items():
        labels[label] = int(value)
    return labels


def feedback_row(post: ReviewedPost) -> Row | None:
    """The training row of a moderator's decision; None when it says nothing about a label."""
    labels = labels_from_review(post.flags, post.outcome, post.relabels)
    if all(value is None for value in labels.values()):
        return None
    group = f"thread:{post.community}:{post.thread_id or post.external_id}"
    return Row(
        id=f"feedback:{post.community}:{post.external_id}",
        text=post.text,
        parent_text=post.parent_text,
        source="feedback",
        group=group,
        split=hash_split(group),
        labels=labels,
    )


def feedback_rows(posts: Iterable[ReviewedPost]) -> Iterator[Row]:
    for post in posts:
        row = feedback_row(post)
        if row is not None:
            yield row


def export_feedback(posts: Iterable[ReviewedPost], out_dir: Path) -> int:
    """Write feedback.jsonl into out_dir (replacing it); returns the number of rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    count = 0
    staging = out_dir / (FEEDBACK_FILE + ".tmp")
    with staging.open("w", encoding="utf-8") as handle:
        for row in feedback_rows(posts):
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
