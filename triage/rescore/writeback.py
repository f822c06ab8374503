"""`triage rescore --write-back`: a run's new scores into the queue database.

Each scored record is matched to the queue's item of the same community and id (the platform's
id, as ingested). The item takes the new scores, flags, tier and evidence, is re-ranked, and
gets one `rescored` system event naming the old and the new model (queue.record_rescore) when

- it is not resolved (a resolved item keeps the scores its moderator saw),
- its stored text and parent text are the ones that were scored (`text_digest`): a post whose
  text was purged, or that the file holds in another form, is left as it is, and
- something changed (the model, a score, a flag, the tier...): a rerun adds nothing.

An item the new scores raise to an urgent tier (crisis, red) from a less urgent tier, or from
none, records the webhook alert ingest would (queue/alerts.py, Webhooks.on_scored) in the same
transaction; the service's senders deliver it. Red raised to crisis alerts (the crisis condition
may be on where red's is off); an item already at its new tier or above does not alert again.

The thread corumination of each changed reply is then recomputed from the stored scores, as
after scoring. Items are written `batch_size` at a time, one transaction each, locked in id
order (PostgreSQL), so the service can keep ingesting and moderators keep working meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.domain.labels import CORUMINATION, URGENT_TIERS, Tier
from triage.domain.priority import UNCERTAIN_REASON, crisis_resource_in
from triage.domain.review import ReviewState
from triage.domain.tier_rules import TierRules
from triage.queue import store as queue
from triage.queue.thread_scoring import record_thread_scores
from triage.rescore.output import text_digest
from triage.rescore.parts import read_manifest, read_output
from triage.scoring.bundle import Bundle
from triage.storage.database import Database
from triage.storage.tables import Item

if TYPE_CHECKING:
    from triage.queue.alerts import Webhooks

DEFAULT_BATCH = 500


@dataclass
class WriteBackSummary:
    records: int = 0  # scored records read (error records are not written back)
    rescored: int = 0  # items that took the new scores, each with a `rescored` event
    unchanged: int = 0  # items that already had them
    resolved: int = 0  # resolved items, left as they are
    not_in_queue: int = 0  # no item of this community and id
    text_differs: int = 0  # the stored text is not the text scored (or was purged)
    raised_to_urgent: int = 0  # re-scored items raised to crisis or red (see raised_to_urgent)

    def add(self, other: WriteBackSummary) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def thread_threshold(bundle: Bundle) -> float | None:
    """As queue/thread_scoring.corumination_threshold, from the bundle that scored the run."""
    if CORUMINATION not in bundle.trained_labels:
        return None
    return bundle.thresholds.get(CORUMINATION)


def write_back(
    db: Database,
    out_dir: Path,
    community: str,
    rules: TierRules,
    threshold: float | None,
    batch_size: int = DEFAULT_BATCH,
    now: datetime | None = None,
    *,
    alerts: Webhooks | None,  # no default, as in Ingest: each caller says whether it alerts
) -> WriteBackSummary:
    """Write the complete parts of the run in out_dir into the queue (see the module's doc)."""
    fmt = read_manifest(out_dir).output_format
    total = WriteBackSummary()
    scored = (record for record in read_output(out_dir, fmt) if "error" not in record)
    for batch in _batches(scored, batch_size):
        at = now or datetime.now(UTC)
        work = partial(
            _write_batch,
            records=batch,
            community=community,
            rules=rules,
            threshold=threshold,
            now=at,
            alerts=alerts,
        )
        total.add(db.write_retrying(work))
    return total


def _batches(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_batch(
    session: Session,
    records: list[dict[str, Any]],
    community: str,
    rules: TierRules,
    threshold: float | None,
    now: datetime,
    alerts: Webhooks | None,
) -> WriteBackSummary:
    summary = WriteBackSummary(records=len(records))
    by_id = {str(record["id"]): record for record in records}
    items = session.scalars(
        select(Item)
        .where(Item.community == community, Item.external_id.in_(list(by_id)))
        .order_by(Item.id)
        .with_for_update()
    ).all()
    summary.not_in_queue = len(by_id) - len(items)
    changed = []
    for item in items:
        record = by_id[item.external_id]
        tier_before = item.tier  # before record_rescore writes the new tier
        if item.state == ReviewState.RESOLVED.value:
            summary.resolved += 1
        elif item.text is None or text_digest(item.text, item.parent_text) != record.get(
            "text_digest"
        ):
            summary.text_differs += 1
        elif (
            rescored := queue.record_rescore(session, item.id, model_view(record), rules, now)
        ) is None:
            summary.unchanged += 1
        else:
            summary.rescored += 1
            changed.append(item.id)
            if raised_to_urgent(tier_before, rescored.tier):
                summary.raised_to_urgent += 1
                if alerts is not None:
                    alerts.on_scored(session, rescored, now)
    record_thread_scores(session, changed, threshold, rules, now)
    return summary


def model_view(record: dict[str, Any]) -> queue.ModelView:
    """What the queue stores of a record, as queue/ingest.model_view builds it from a result."""
    return queue.ModelView(
        model_version=record["model_version"],
        scores=dict(record["scores"]),
        flags=list(record["flags"]),
        tier=record["tier"],
        evidence=[
            {"label": e["label"], "start": e["start"], "end": e["end"]} for e in record["evidence"]
        ],
        tier_scores=dict(record["tier_scores"]) if record.get("tier_scores") else None,
        tier_uncertain=tier_uncertain(record),
        language=record["language"],
        language_unsupported=record["language_unsupported"],
        spam_withheld_by=spam_withheld_by(record),
    )


def tier_uncertain(record: dict[str, Any]) -> bool:
    """The record's `tier_uncertain`. Runs written before it was recorded say it only in words,
    as a reason (UNCERTAIN_REASON): for their records it is read from there."""
    recorded = record.get("tier_uncertain")
    return UNCERTAIN_REASON in record["reasons"] if recorded is None else bool(recorded)


def raised_to_urgent(before: str | None, after: str | None) -> bool:
    """The new tier is urgent and more urgent than the old one (or there was none)."""
    if after not in URGENT_TIERS:
        return False
    return before is None or Tier(after).rank < Tier(before).rank


def spam_withheld_by(record: dict[str, Any]) -> str | None:
    """The record's `spam_withheld_by`. Runs written before it was recorded name the resource
    only in words, as a reason (crisis_resource_reason): for their records it is read from there."""
    if "spam_withheld_by" in record:
        return record["spam_withheld_by"]
    return crisis_resource_in(record["reasons"])
