"""`triage data annotations join`: the label files with their texts, for people to read.

The repository keeps ids and labels only. This runs the adapters on a dataset folder (ids are
adapter row ids; a thread's turns come from the manifest) and writes JSONL with the texts
beside the labels, to a path outside the repository.
"""

from __future__ import annotations

from pathlib import Path

from triage.training.annotations.files import read_manifest, write_jsonl
from triage.training.data.adapters import ADAPTERS
from triage.training.data.annotation_labels import KINDS, LabelRecord, read_labels
from triage.training.data.rows import Row


def _source_of(unit_id: str) -> str:
    source = unit_id.split(":", 1)[0]
    if source not in ADAPTERS:
        raise ValueError(
            f"id {unit_id!r} does not start with a known source ({', '.join(ADAPTERS)})"
        )
    return source


def _rows(source_dir: Path, sources: set[str]) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for source in sorted(sources):
        directory = source_dir / source
        if not directory.is_dir():
            raise FileNotFoundError(f"source {source!r} expected at {directory}")
        rows.update((row.id, row) for row in ADAPTERS[source](directory))
    return rows


def _row_ids(kind_name: str, records: list[LabelRecord], turns: dict[str, tuple[str, ...]]):
    if kind_name != "threads":
        return {r.unit_id: (r.unit_id,) for r in records}
    missing = sorted({r.unit_id for r in records} - set(turns))
    if missing:
        raise ValueError(f"{len(missing)} thread ids are not in the manifest, e.g. {missing[0]}")
    return {r.unit_id: turns[r.unit_id] for r in records}


def join_labels(kind_name: str, annotations_dir: Path, source_dir: Path, out_path: Path) -> int:
    """Write one JSONL line per label (both passes) with its text; returns the line count."""
    kind = KINDS[kind_name]
    records = read_labels(annotations_dir / kind.labels_file, kind)
    turns = {}
    if kind_name == "threads":
        manifest = read_manifest(annotations_dir / kind.manifest_file)
        turns = {m.unit_id: m.turn_ids for m in manifest}
    row_ids = _row_ids(kind_name, records, turns)
    needed = {row_id for ids in row_ids.values() for row_id in ids}
    rows = _rows(source_dir, {_source_of(row_id) for row_id in needed})
    absent = sorted(needed - set(rows))
    if absent:
        raise ValueError(
            f"{len(absent)} annotated ids are not produced by the adapters on {source_dir} "
            f"(e.g. {absent[0]}): a different dataset version, or adapter ids changed"
        )
    lines = (
        _line(kind_name, record, [rows[i] for i in row_ids[record.unit_id]]) for record in records
    )
    return write_jsonl(out_path, lines)


def _line(kind_name: str, record: LabelRecord, rows: list[Row]) -> dict:
    kind = KINDS[kind_name]
    line = {"id": record.unit_id, "pass": record.pass_, kind.field: record.label}
    if kind_name == "threads":
        return line | {"turns": [rows[0].parent_text, *(row.text for row in rows)]}
    row = rows[0]
    if kind_name == "pairs":
        return line | {"parent_text": row.parent_text, "text": row.text}
    if kind_name == "hostile_pairs":
        return line | _evidence(record, row) | {"parent_text": row.parent_text, "text": row.text}
    return line | _evidence(record, row) | {"text": row.text}


def _evidence(record: LabelRecord, row: Row) -> dict:
    if record.evidence is None:
        return {"evidence": None}
    start, end = record.evidence
    if end > len(row.text):
        raise ValueError(
            f"evidence span {start}-{end} of {record.unit_id} is past the end of its text "
            f"({len(row.text)} characters): the text changed since it was annotated"
        )
    return {"evidence": row.text[start:end], "evidence_start": start, "evidence_end": end}
