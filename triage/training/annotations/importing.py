"""`triage data annotations import`: annotator output -> the repository's label files.

Reads every `<batch>.labels.jsonl` in the work folder, checks it against its batch file and the
manifest of its sampling round (`tiers-r2-p1-01` -> manifest_tiers_r2.csv), and writes
annotations/<kind>.csv (ids and labels only; all rounds in one file). Every problem in every
file is collected and reported together, and nothing is written unless all files are clean.
Labels already in the label files are kept; a re-imported (id, pass) replaces its old row.

Checks: each line is a JSON object with only the expected keys; its id is in that batch; no id
twice; the label is one of the guideline's; a crisis or red tier has an evidence quote found
verbatim in the post (whitespace may differ) and is stored as character offsets; no other label
has one; every item of the batch is labelled (unless partial imports are allowed).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from triage.training.annotations.files import (
    LABELS_SUFFIX,
    ManifestItem,
    manifest_file,
    parse_batch,
    read_batch,
    read_manifest,
)
from triage.training.data.annotation_labels import (
    KINDS,
    Kind,
    LabelRecord,
    read_labels,
    write_labels,
)

MAX_NOTE_CHARS = 200
_SHOWN_PROBLEMS = 40


class AnnotationImportError(ValueError):
    """Annotator output that does not pass the checks; `problems` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n".join(f"- {p}" for p in problems[:_SHOWN_PROBLEMS])
        more = len(problems) - _SHOWN_PROBLEMS
        tail = f"\n- ... and {more} more" if more > 0 else ""
        super().__init__(
            f"{len(problems)} problem(s) in annotator output; nothing was written:\n{shown}{tail}"
        )


def find_evidence(text: str, quote: str) -> tuple[int, int] | None:
    """Character span of `quote` in `text`: exact first, then with any run of whitespace
    matching any other (annotators may write a line break as a space). None if absent."""
    quote = quote.strip()
    if not quote:
        return None
    start = text.find(quote)
    if start >= 0:
        return start, start + len(quote)
    match = re.search(r"\s+".join(re.escape(token) for token in quote.split()), text)
    return (match.start(), match.end()) if match else None


@dataclass
class _Context:
    """What checking one output file needs: its batch, kind, pass and the manifest."""

    path: Path
    kind: Kind
    pass_: int
    batch: dict[str, dict]
    manifest: dict[str, ManifestItem]
    problems: list[str] = field(default_factory=list)

    def problem(self, line: int | None, message: str) -> None:
        where = f"{self.path.name}:{line}" if line else self.path.name
        self.problems.append(f"{where}: {message}")


def _check_line(ctx: _Context, number: int, line: str, seen: set[str]) -> LabelRecord | None:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        ctx.problem(number, f"expected a JSON object, found invalid JSON ({error.msg})")
        return None
    if not isinstance(data, dict):
        ctx.problem(number, f"expected a JSON object, found {type(data).__name__}")
        return None
    kind = ctx.kind
    allowed = {"id", kind.field, "note"} | ({"evidence_quote"} if kind.evidence else set())
    unexpected = sorted(set(data) - allowed)
    if unexpected:
        ctx.problem(number, f"unexpected keys {unexpected}; expected only {sorted(allowed)}")
        return None
    item_id = data.get("id")
    if not isinstance(item_id, str) or item_id not in ctx.batch:
        ctx.problem(number, f"unknown id {item_id!r}: not an item of batch {_batch(ctx)}")
        return None
    if item_id in seen:
        ctx.problem(number, f"id {item_id} is labelled twice")
        return None
    seen.add(item_id)
    item = ctx.manifest.get(item_id)
    placed = None if item is None else item.batch if ctx.pass_ == 1 else item.double_batch
    if placed != _batch(ctx):
        ctx.problem(
            number,
            f"id {item_id} belongs to batch {placed!r} in the manifest, not {_batch(ctx)!r}: "
            "batch files and manifest are from different samples",
        )
        return None
    label = data.get(kind.field)
    if label not in kind.accepted:
        ctx.problem(number, f"{kind.field} must be one of {list(kind.accepted)}, found {label!r}")
        return None
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE_CHARS):
        ctx.problem(number, f"note must be a string of at most {MAX_NOTE_CHARS} characters")
    evidence = _check_evidence(ctx, number, item_id, label, data.get("evidence_quote"))
    return LabelRecord(ctx.manifest[item_id].unit_id, label, ctx.pass_, evidence)


def _check_evidence(
    ctx: _Context, number: int, item_id: str, label: str, quote: object
) -> tuple[int, int] | None:
    if not ctx.kind.evidence:
        return None
    if label not in ctx.kind.evidence:
        if quote is not None:
            ctx.problem(
                number,
                f"evidence_quote is only given for {'/'.join(ctx.kind.evidence)}; "
                f"found one on a {label!r} item (leave it out or null)",
            )
        return None
    if not isinstance(quote, str) or not quote.strip():
        ctx.problem(
            number, f"a {label} item needs evidence_quote (an exact phrase), found {quote!r}"
        )
        return None
    span = find_evidence(ctx.batch[item_id]["text"], quote)
    if span is None:
        ctx.problem(
            number,
            f"evidence_quote ({len(quote)} characters) of item {item_id} is not found verbatim "
            "in the item's text; copy the phrase exactly",
        )
    return span


def _batch(ctx: _Context) -> str:
    return ctx.path.name[: -len(LABELS_SUFFIX)]


class Manifests:
    """The manifests of annotations_dir, read once each: {item id: manifest item} per kind and
    sampling round."""

    def __init__(self, annotations_dir: Path) -> None:
        self.annotations_dir = annotations_dir
        self._loaded: dict[tuple[str, int], dict[str, ManifestItem]] = {}

    def of(self, kind: Kind, round_: int = 1) -> dict[str, ManifestItem]:
        key = (kind.name, round_)
        if key not in self._loaded:
            items = read_manifest(self.annotations_dir / manifest_file(kind, round_))
            self._loaded[key] = {item.item_id: item for item in items}
        return self._loaded[key]


def check_output_file(
    path: Path, work_dir: Path, manifests: Manifests, partial: bool
) -> tuple[Kind | None, list[LabelRecord], list[str]]:
    """Check one annotator file: (its kind, its records, its problems)."""
    name = path.name[: -len(LABELS_SUFFIX)]
    try:
        parsed = parse_batch(name)
        batch = read_batch(work_dir / f"{name}.jsonl")
        manifest = manifests.of(parsed.kind, parsed.round_)
    except (ValueError, FileNotFoundError) as error:
        return None, [], [f"{path.name}: {error}"]
    kind = parsed.kind
    ctx = _Context(path, kind, parsed.pass_, batch, manifest)
    seen: set[str] = set()
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                record = _check_line(ctx, number, line, seen)
                if record is not None:
                    records.append(record)
    missing = len(set(batch) - seen)
    if missing and not partial:
        ctx.problem(None, f"{missing} of {len(batch)} items of the batch have no label")
    return kind, records, ctx.problems


@dataclass
class ImportSummary:
    files: list[str]
    counts: dict[str, Counter]  # kind -> Counter of (pass, label)


def import_labels(work_dir: Path, annotations_dir: Path, partial: bool = False) -> ImportSummary:
    """Check every output file in work_dir; if all are clean, merge them into the label files."""
    paths = sorted(work_dir.glob(f"*{LABELS_SUFFIX}"))
    if not paths:
        raise FileNotFoundError(f"no *{LABELS_SUFFIX} files in {work_dir}: nothing to import")
    manifests = Manifests(annotations_dir)
    by_kind: dict[str, list[LabelRecord]] = {}
    problems: list[str] = []
    for path in paths:
        kind, records, found = check_output_file(path, work_dir, manifests, partial)
        problems.extend(found)
        if kind is not None:
            by_kind.setdefault(kind.name, []).extend(records)
    problems.extend(_duplicates_across_files(by_kind))
    if problems:
        raise AnnotationImportError(problems)
    counts = {}
    for kind_name, records in by_kind.items():
        kind = KINDS[kind_name]
        target = annotations_dir / kind.labels_file
        merged = {
            (r.unit_id, r.pass_): r for r in (read_labels(target, kind) if target.exists() else [])
        }
        merged |= {(r.unit_id, r.pass_): r for r in records}
        write_labels(target, kind, merged.values())
        counts[kind_name] = Counter((r.pass_, r.label) for r in records)
    return ImportSummary([p.name for p in paths], counts)


def _duplicates_across_files(by_kind: dict[str, list[LabelRecord]]) -> list[str]:
    problems = []
    for kind_name, records in by_kind.items():
        repeated = Counter((r.unit_id, r.pass_) for r in records)
        for (unit_id, pass_), times in sorted(repeated.items()):
            if times > 1:
                problems.append(f"{kind_name}: {unit_id} has {times} pass-{pass_} labels")
    return problems
