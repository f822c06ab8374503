"""Moderator outcomes -> training rows -> `triage data prepare` (the feedback loop)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.conftest import run_cli
from triage.domain.review import EventType, Outcome, ReviewEvent
from triage.queue import store as queue
from triage.settings import Settings
from triage.storage.database import Database
from triage.training.data.feedback import labels_from_review
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


def rules():
    return Settings().tier_rules


def _stored(db, external_id, flags, thread_id=None):
    now = datetime.now(UTC)
    new = queue.NewItem("forum", external_id, f"text of {external_id}", thread_id=thread_id)
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [new], now)
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
