"""The project's annotation label files (annotations/*.csv: ids and labels, no text) and their
kinds; `attach_annotations` puts the labels on training rows by id.

They are read here, with the data, because `triage data prepare` attaches them to the rows it
prepares; the annotations package (sampling, import, join, agreement) writes and checks them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from triage.domain.labels import CORUMINATION_LEVELS, HOSTILE_IN_CONTEXT, TIERS, Tier
from triage.training.data.rows import Annotation, Row

SKIP = "skip"
PASSES = (1, 2)


@dataclass(frozen=True)
class Kind:
    """One kind of annotation unit and the files that belong to it."""

    name: str
    field: str  # the label's key in annotator output and in the label file
    values: tuple[str, ...]  # valid labels, least to most severe for ordinal agreement
    labels_file: str
    manifest_file: str
    evidence: tuple[str, ...] = ()  # labels that need an evidence quote
    batch_prefix: str = ""  # what its batch names start with, when not its name

    @property
    def accepted(self) -> tuple[str, ...]:
        return (*self.values, SKIP)

    @property
    def prefix(self) -> str:
        return self.batch_prefix or self.name


KINDS: dict[str, Kind] = {
    "tiers": Kind(
        "tiers",
        "tier",
        tuple(reversed(TIERS)),
        "self_harm_tiers.csv",
        "manifest_tiers.csv",
        evidence=(Tier.CRISIS.value, Tier.RED.value),
    ),
    "pairs": Kind(
        "pairs", "level", CORUMINATION_LEVELS, "corumination_pairs.csv", "manifest_pairs.csv"
    ),
    "threads": Kind(
        "threads", "level", CORUMINATION_LEVELS, "corumination_threads.csv", "manifest_threads.csv"
    ),
    # A reply read with its parent (docs/annotation/hostile_in_context.md); the evidence is the
    # phrase of the reply that makes it hostile.
    "hostile_pairs": Kind(
        "hostile_pairs",
        "hostile",
        HOSTILE_IN_CONTEXT,
        "hostile_pairs.csv",
        "manifest_hostile_pairs.csv",
        evidence=("hostile",),
        batch_prefix="hostile",
    ),
}


# --- label files: the repository's ids + labels -----------------------------------------------


@dataclass(frozen=True)
class LabelRecord:
    unit_id: str
    label: str
    pass_: int
    evidence: tuple[int, int] | None = None


def _label_columns(kind: Kind) -> list[str]:
    extra = ["evidence_start", "evidence_end"] if kind.evidence else []
    return ["id", kind.field, *extra, "pass"]


def write_labels(path: Path, kind: Kind, records: Iterable[LabelRecord]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(_label_columns(kind))
        for record in sorted(records, key=lambda r: (r.pass_, r.unit_id)):
            span = [] if not kind.evidence else list(record.evidence or ("", ""))
            writer.writerow([record.unit_id, record.label, *span, record.pass_])


def read_labels(path: Path, kind: Kind) -> list[LabelRecord]:
    """A label file; every value is checked, so a hand-edited file fails loudly."""
    if not path.exists():
        raise FileNotFoundError(
            f"label file {path} not found; run `triage data annotations import`"
        )
    records = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != _label_columns(kind):
            raise ValueError(
                f"{path}: expected columns {_label_columns(kind)}, found {reader.fieldnames}"
            )
        for number, record in enumerate(reader, start=2):
            records.append(_label_record(path, number, kind, record))
    return records


def _label_record(path: Path, line: int, kind: Kind, record: dict[str, str]) -> LabelRecord:
    label, pass_ = record[kind.field], record["pass"]
    if label not in kind.accepted:
        raise ValueError(
            f"{path}:{line}: {kind.field} must be one of {kind.accepted}, found {label!r}"
        )
    if pass_ not in {str(p) for p in PASSES}:
        raise ValueError(f"{path}:{line}: pass must be 1 or 2, found {pass_!r}")
    evidence = None
    if kind.evidence and record["evidence_start"]:
        evidence = (int(record["evidence_start"]), int(record["evidence_end"]))
    return LabelRecord(record["id"], label, int(pass_), evidence)


def load_labels(annotations_dir: Path, kind_name: str, pass_: int = 1) -> dict[str, LabelRecord]:
    """The labels of one pass by id, skips left out. Pass 1 covers every annotated item; pass 2
    is the blind second annotation of a subset, used for agreement."""
    kind = KINDS[kind_name]
    records = read_labels(annotations_dir / kind.labels_file, kind)
    return {r.unit_id: r for r in records if r.pass_ == pass_ and r.label != SKIP}


def attach_annotations(rows: Iterable[Row], annotations_dir: Path) -> int:
    """Set `row.annotation` (pass-1 tier and evidence, pair corumination level, reply
    hostile in context) by row id.

    Label files that do not exist yet are ignored. Returns how many rows got an annotation.
    """
    tiers = _load_if_present(annotations_dir, "tiers")
    pairs = _load_if_present(annotations_dir, "pairs")
    hostile = _load_if_present(annotations_dir, "hostile_pairs")
    attached = 0
    for row in rows:
        tier, pair, reply = tiers.get(row.id), pairs.get(row.id), hostile.get(row.id)
        if tier is None and pair is None and reply is None:
            continue
        row.annotation = Annotation(
            tier=tier.label if tier else None,
            evidence=tier.evidence if tier else None,
            corumination=pair.label if pair else None,
            hostile=reply.label if reply else None,
        )
        attached += 1
    return attached


def _load_if_present(annotations_dir: Path, kind_name: str) -> dict[str, LabelRecord]:
    if not (annotations_dir / KINDS[kind_name].labels_file).exists():
        return {}
    return load_labels(annotations_dir, kind_name)
