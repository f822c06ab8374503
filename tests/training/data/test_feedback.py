"""Moderator outcomes -> training rows -> `triage data prepare` (the feedback loop)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from tests.conftest import TIER_RULES, run_cli
from triage.domain.labels import LABELS
from triage.domain.review import (
    OUTCOME_LABELS,
    EventType,
    Outcome,
    ReviewedPost,
    ReviewEvent,
    disagrees_with_model,
)
from triage.queue import store as queue
from triage.settings import Settings
from triage.storage.database import Database
from triage.training.data.feedback import feedback_row, labels_from_review
from triage.training.data.prepare import prepare


@pytest.mark.parametrize(
    ("flags", "outcome", "relabels", "expected"),
    [
        (["spam"], Outcome.CONFIRMED_SPAM, None, {"spam": 1}),
        ([], Outcome.CONFIRMED_HOSTILE, None, {"hostile": 1}),
        (["distress"], Outcome.ESCALATED_TO_CRISIS_TEAM, None, {"self_harm": 1}),
        (["hostile", "spam"], Outcome.FALSE_POSITIVE, None, {"hostile": 0, "spam": 0}),
        (["self_harm"], Outcome.SUPPORTED, None, {}),
        (["hostile"], Outcome.FALSE_POSITIVE, {"hostile": 1}, {"hostile": 1}),
    ],
)
def test_labels_from_review(flags, outcome, relabels, expected):
    labels = labels_from_review(flags, outcome, relabels)
    assert {k: v for k, v in labels.items() if v is not None} == expected


FLAG_SETS = [[], *([label] for label in LABELS), ["self_harm", "distress"], ["hostile", "spam"]]


@pytest.mark.parametrize("outcome", [None, *Outcome])
@pytest.mark.parametrize("flags", FLAG_SETS)
def test_the_override_rate_and_the_training_rows_read_outcomes_alike(flags, outcome):
    """One outcome -> label table (review.OUTCOME_LABELS): the label a resolution confirms in a
    training row is the label whose missing flag counts as overruling the model in /v1/stats.
    Escalating to the crisis team confirms self_harm in both (the override rate once ignored it)."""
    labels = labels_from_review(flags, outcome, None)
    confirmed = {label for label, value in labels.items() if value == 1}
    assert confirmed == ({OUTCOME_LABELS[outcome]} if outcome in OUTCOME_LABELS else set())
    if outcome is not Outcome.FALSE_POSITIVE:  # a false positive overrules even with no flag
        said = {label: value for label, value in labels.items() if value is not None}
        contradicted = any(value != (label in flags) for label, value in said.items())
        assert disagrees_with_model(flags, outcome, None) == contradicted


def test_an_escalation_confirms_self_harm_for_both_readers():
    escalated = Outcome.ESCALATED_TO_CRISIS_TEAM
    assert labels_from_review(["distress"], escalated, None)["self_harm"] == 1
    assert disagrees_with_model(["distress"], escalated, None)  # the model missed self_harm
    assert not disagrees_with_model(["self_harm"], escalated, None)


def test_a_row_is_made_from_plain_values():
    wrong = Outcome.FALSE_POSITIVE
    post = ReviewedPost("forum", "p1", None, "text", "parent", ("spam",), wrong, None)
    row = feedback_row(post)
    assert row is not None
    assert (row.id, row.group, row.source) == ("feedback:forum:p1", "thread:forum:p1", "feedback")
    assert (row.text, row.parent_text) == ("text", "parent")
    assert {k: v for k, v in row.labels.items() if v is not None} == {"spam": 0}
    silent = ReviewedPost("forum", "p2", "t1", "text", None, ("spam",), Outcome.SUPPORTED, None)
    assert feedback_row(silent) is None


def test_the_training_adapters_import_without_the_database_layer():
    """The feedback adapter needs no SQLAlchemy (only the service extra installs it): the queue
    reads the decisions (triage/queue/feedback_export.py), training only turns them into rows."""
    code = (
        "import sys, triage.training.data.adapters; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic'})"
        " + sorted(m for m in sys.modules if m.startswith(('triage.storage', 'triage.queue'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"


def rules():
    return Settings().tier_rules


def _stored(db, external_id, flags, thread_id=None):
    now = datetime.now(UTC)
    new = queue.NewItem("forum", external_id, f"text of {external_id}", thread_id=thread_id)
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [new], now, TIER_RULES)
        view = queue.ModelView("m:1", {f: 0.9 for f in flags}, flags, "green")
        queue.record_scores(session, item.id, view, rules(), now)
        return item.id


def test_export_then_prepare_picks_the_rows_up(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    db = Database(url)
    db.upgrade()
    spam = _stored(db, "s1", ["spam"])
    wrong = _stored(db, "h1", ["hostile"], thread_id="t9")
    untouched = _stored(db, "u1", ["spam"])  # never reviewed: not exported
    supported = _stored(db, "x1", ["self_harm"])  # an outcome that says nothing about labels
    now = datetime.now(UTC)
    with db.write() as session:
        for item_id, outcome in (
            (spam, Outcome.CONFIRMED_SPAM),
            (wrong, Outcome.FALSE_POSITIVE),
            (supported, Outcome.SUPPORTED),
        ):
            queue.append_event(
                session, item_id, ReviewEvent(EventType.RESOLVE, "alice", outcome=outcome), now
            )
    assert untouched
    out = tmp_path / "external" / "feedback"
    result = run_cli("data", "export-feedback", "--database", url, "--out", out)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "feedback.jsonl").read_text().splitlines()]
    assert {r["id"]: r["labels"]["spam"] for r in rows} == {
        "feedback:forum:s1": 1,
        "feedback:forum:h1": None,
    }
    assert [r["labels"]["hostile"] for r in rows if r["id"].endswith("h1")] == [0]
    assert {r["group"] for r in rows} == {"thread:forum:s1", "thread:forum:t9"}

    (tmp_path / "datasets").mkdir()
    summary = prepare(
        tmp_path / "datasets", tmp_path / "prepared", ["feedback"], tmp_path / "external"
    )
    assert summary["sources"] == {"feedback": 2}
    prepared = [
        json.loads(line)
        for split in ("train", "dev", "test")
        for line in (tmp_path / "prepared" / f"{split}.jsonl").read_text().splitlines()
    ]
    assert sorted(r["id"] for r in prepared) == ["feedback:forum:h1", "feedback:forum:s1"]
