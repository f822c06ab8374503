"""What `triage rescore` writes for each input line: the record `triage score-file` writes for
it (the same code makes both), plus

- `model_version`: the bundle that scored it, "name:version" as the queue stores it;
- `tier_uncertain` (scored lines only): the tier head's uncertain band routed it to amber (the
  reasons say so in words), which the write-back stores with the item;
- `spam_withheld_by` (scored lines only): the crisis resource the text shares, which kept it
  from being flagged spam (the reasons say so in words), which the write-back stores too;
- `text_digest` (scored lines only): a digest of the text and parent text as scored, which the
  write-back compares with the queue's copy of the item, so a score never lands on a post whose
  stored text differs from the text that was scored.

In Parquet, `scores`, `tier_scores` and `error` are structs (`scores.self_harm` is a column to
query) and evidence a list of structs; an integer id is written as its string.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from triage.domain.labels import LABELS, TIER_CUTS
from triage.scoring.score_file import FileScorer, InputLine, LineError

if TYPE_CHECKING:
    import pyarrow as pa


def text_digest(text: str, parent_text: str | None) -> str:
    """Of the text and parent text as the model read them (after the API's repairs); None and
    an empty parent differ, as they score differently."""
    payload = json.dumps([text, parent_text]).encode()
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def output_records(
    scorer: FileScorer, entries: list[InputLine | LineError], model_version: str
) -> list[dict[str, Any]]:
    records = []
    for outcome in scorer.outcomes(entries):
        record = {**outcome.record, "model_version": model_version}
        if outcome.item is not None and outcome.result is not None:
            record["tier_uncertain"] = outcome.result.tier_uncertain
            record["spam_withheld_by"] = outcome.result.spam_withheld_by
            record["text_digest"] = text_digest(outcome.item.text, outcome.item.parent_text)
        records.append(record)
    return records


def schema() -> pa.Schema:
    import pyarrow as pa

    detail = pa.struct([("field", pa.string()), ("expected", pa.string()), ("found", pa.string())])
    error = pa.struct(
        [
            ("status", pa.int32()),
            ("code", pa.string()),
            ("message", pa.string()),
            ("details", pa.list_(detail)),
        ]
    )
    evidence = pa.struct([("label", pa.string()), ("start", pa.int64()), ("end", pa.int64())])
    return pa.schema(
        [
            ("line", pa.int64()),
            ("id", pa.string()),
            ("model_version", pa.string()),
            ("scores", pa.struct([(label, pa.float64()) for label in LABELS])),
            ("flags", pa.list_(pa.string())),
            ("tier", pa.string()),
            ("priority", pa.int32()),
            ("reasons", pa.list_(pa.string())),
            ("evidence", pa.list_(evidence)),
            ("tier_scores", pa.struct([(cut.value, pa.float64()) for cut in TIER_CUTS])),
            ("language", pa.string()),
            ("language_unsupported", pa.bool_()),
            ("self_harm_floor", pa.bool_()),
            ("tier_uncertain", pa.bool_()),
            ("spam_withheld_by", pa.string()),
            ("truncated", pa.bool_()),
            ("truncation", pa.string()),
            ("text_digest", pa.string()),
            ("error", error),
        ]
    )


def records_table(records: list[dict[str, Any]]) -> pa.Table:
    import pyarrow as pa

    rows = [{**r, "id": None if r.get("id") is None else str(r["id"])} for r in records]
    return pa.Table.from_pylist(rows, schema=schema())


def table_records(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as the JSONL records: an error row has line, id, model_version and error only."""
    records = []
    for row in table.to_pylist():
        if row["error"] is not None:
            keys = ("line", "id", "error", "model_version")
            records.append({key: row[key] for key in keys})
        else:
            del row["error"]
            records.append(row)
    return records
