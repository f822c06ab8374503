"""The project's own annotations (issues 6, 7 and 13): manifests and batch files; the kinds and
the label files are in triage/training/data/annotation_labels.py.

Flow (`triage data annotations ...`):
- `sample` (sample.py) draws items from a prepared data folder and writes batch files
  of texts to annotation/work/ (gitignored: it holds dataset text) and a manifest per kind
  (ids, source, split, stratum, batch; never text) to annotations/;
- annotators write `<batch>.labels.jsonl` next to each batch, following docs/annotation/;
- `import` (importing.py) validates those files and writes the label files here
  (annotations/*.csv: ids and labels only);
- `join` puts the texts back from the dataset folder for people who want to read them;
- `agreement` (agreement.py) reports Cohen's kappa between the two passes.

Items are drawn in sampling rounds (round 2: issue 13, risk tiers only); every round has its own
manifest and batch names, and all rounds share the label files (annotations/README.md). Hostile
pairs (issue 13: a reply read with its parent, hostile or not) are a kind of their own, drawn by
hostile_sample.py, with batches named `hostile-p1-01`.

Batch items carry an opaque id (`h-` + 12 hex digits), not the row id, so that annotators see no
hint of the source; the manifest maps it back to the row id. Ids in the label files are adapter
row ids (a post, or a reply for pairs) or thread ids (`<source>:<group>` for threads).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from triage.training.data.annotation_labels import KINDS, Kind
from triage.training.data.rows import Row

KINDS_BY_PREFIX: dict[str, Kind] = {kind.prefix: kind for kind in KINDS.values()}

# Sampling rounds: round 1 (issues 6 and 7) has no round in its names; a later round r has its
# own manifest (`manifest_tiers_r2.csv`) and batches (`tiers-r2-p1-01`), and its labels go to the
# same label file (a unit is drawn in one round only).
BATCH_NAME = re.compile(
    rf"^(?P<kind>{'|'.join(KINDS_BY_PREFIX)})(?:-r(?P<round_>[2-9]))?"
    r"-p(?P<pass_>[12])-(?P<number>\d{2})$"
)
LABELS_SUFFIX = ".labels.jsonl"
ROUNDS = (1, 2)


def round_prefix(kind: str, round_: int = 1) -> str:
    """What a round's batch names start with: `tiers` (round 1), `tiers-r2` (round 2),
    `hostile` (the hostile_pairs kind)."""
    prefix = KINDS[kind].prefix if kind in KINDS else kind
    return prefix if round_ == 1 else f"{prefix}-r{round_}"


def batch_name(kind: str, pass_: int, number: int, round_: int = 1) -> str:
    return f"{round_prefix(kind, round_)}-p{pass_}-{number:02d}"


def manifest_file(kind: Kind, round_: int = 1) -> str:
    """`manifest_tiers.csv` for round 1, `manifest_tiers_r2.csv` for round 2."""
    if round_ == 1:
        return kind.manifest_file
    return kind.manifest_file.removesuffix(".csv") + f"_r{round_}.csv"


@dataclass(frozen=True)
class BatchName:
    kind: Kind
    round_: int
    pass_: int


def parse_batch(name: str) -> BatchName:
    """`tiers-r2-p2-01` -> (tiers, round 2, pass 2); ValueError for anything else."""
    match = BATCH_NAME.match(name)
    if not match:
        raise ValueError(
            "batch name must look like tiers-p1-01, tiers-r2-p2-01, pairs-p2-03, "
            f"threads-p1-02 or hostile-p1-01, found {name!r}"
        )
    kind = KINDS_BY_PREFIX[match["kind"]]
    return BatchName(kind, int(match["round_"] or 1), int(match["pass_"]))


def item_key(kind: str, unit_id: str) -> str:
    """The opaque id annotators see: stable, and silent about the source."""
    return "h-" + hashlib.sha1(f"{kind}\0{unit_id}".encode()).hexdigest()[:12]


def thread_id(row: Row) -> str:
    return f"{row.source}:{row.group}"


# --- manifests: one row per sampled item, no text -------------------------------------------


@dataclass
class ManifestItem:
    item_id: str
    unit_id: str  # row id (post or reply) or thread id
    source: str
    split: str
    stratum: str
    batch: str
    double_batch: str = ""  # the pass-2 batch holding this item, if it is double-annotated
    score: int | None = None  # the enrichment heuristic's score, where one applies
    turn_ids: tuple[str, ...] = field(default_factory=tuple)  # threads: the reply row ids

    def to_csv(self) -> dict[str, str]:
        return {
            "item_id": self.item_id,
            "unit_id": self.unit_id,
            "source": self.source,
            "split": self.split,
            "stratum": self.stratum,
            "batch": self.batch,
            "double_batch": self.double_batch,
            "score": "" if self.score is None else str(self.score),
            "turn_ids": " ".join(self.turn_ids),
        }

    @classmethod
    def from_csv(cls, record: dict[str, str]) -> ManifestItem:
        return cls(
            item_id=record["item_id"],
            unit_id=record["unit_id"],
            source=record["source"],
            split=record["split"],
            stratum=record["stratum"],
            batch=record["batch"],
            double_batch=record["double_batch"],
            score=int(record["score"]) if record["score"] else None,
            turn_ids=tuple(record["turn_ids"].split()),
        )


MANIFEST_COLUMNS = list(ManifestItem("", "", "", "", "", "").to_csv())


def write_manifest(path: Path, items: Iterable[ManifestItem]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(item.to_csv() for item in items)


def read_manifest(path: Path) -> list[ManifestItem]:
    if not path.exists():
        raise FileNotFoundError(
            f"manifest {path} not found; run `triage data annotations sample` first"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        return [ManifestItem.from_csv(record) for record in csv.DictReader(handle)]


def read_round_manifests(annotations_dir: Path, kind: Kind) -> dict[int, list[ManifestItem]]:
    """The manifests of every sampling round of a kind that has one, by round."""
    return {
        round_: read_manifest(annotations_dir / manifest_file(kind, round_))
        for round_ in ROUNDS
        if (annotations_dir / manifest_file(kind, round_)).exists()
    }


def units_by_round(
    annotations_dir: Path, kind: Kind, labelled: Iterable[str]
) -> dict[int, set[str]]:
    """Labelled unit ids by sampling round: a unit in a later round's manifest belongs to that
    round, every other one (in round 1's manifest or in none) to round 1."""
    later = {
        item.unit_id: round_
        for round_, items in read_round_manifests(annotations_dir, kind).items()
        if round_ > 1
        for item in items
    }
    rounds: dict[int, set[str]] = defaultdict(set)
    for unit in labelled:
        rounds[later.get(unit, 1)].add(unit)
    return dict(sorted(rounds.items()))


# --- batch files: what annotators read (text, no labels, no source) ---------------------------


def write_jsonl(path: Path, records: Iterable[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_batch(path: Path) -> dict[str, dict]:
    """Batch file -> {item id: item}."""
    if not path.exists():
        raise FileNotFoundError(f"batch file {path} not found (needed to check evidence quotes)")
    with path.open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    return {item["id"]: item for item in items}


# --- threads --------------------------------------------------------------------------------


def threads_from_rows(rows: Iterable[Row]) -> dict[str, list[Row]]:
    """Thread id -> its reply rows in order, for threads whose replies form one unbroken chain.

    A thread is read from its replies (each reply's parent is the turn before it), so a thread
    whose opening post was merged into a copy elsewhere is still whole: turn 1 is the first
    reply's parent_text. Threads whose replies do not form one chain are left out.
    """
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.parent_text is not None:
            groups[thread_id(row)].append(row)
    threads = {}
    for key, replies in groups.items():
        ordered = _chain(replies)
        if ordered:
            threads[key] = ordered
    return threads


def _chain(replies: list[Row]) -> list[Row] | None:
    texts = {reply.text for reply in replies}
    starts = [reply for reply in replies if reply.parent_text not in texts]
    if len(starts) != 1:
        return None
    by_parent = {reply.parent_text: reply for reply in replies}
    ordered = [starts[0]]
    while len(ordered) < len(replies):
        following = by_parent.get(ordered[-1].text)
        if following is None or following in ordered:
            return None
        ordered.append(following)
    return ordered


def thread_turns(replies: list[Row]) -> list[str]:
    """The texts of a thread in order: the opening post, then each reply."""
    return [replies[0].parent_text or "", *(reply.text for reply in replies)]
