"""The input of `triage rescore` cut into numbered parts, and each part's output file.

A part is `part_size` non-blank lines of a JSONL file, or the whole row groups of a Parquet
file (or folder of them) that add up to about that many rows. One Ray actor scores a part and
writes it whole under a temporary name, then renames it to part-NNNNN.<format>: a part file
that exists is complete, so a rerun after an interruption skips it and scores the rest.

manifest.json records what the parts were cut from (the input's path, size and modification
time, the part size), the model and the output format. A rerun into the same folder with any
of them changed is refused rather than mixing two runs' parts.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from triage.scoring.score_file import (
    InputLine,
    LineError,
    mark_repeated_ids,
    parse_line,
    parse_record,
)

Format = Literal["jsonl", "parquet"]
FORMATS: tuple[str, ...] = get_args(Format)
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
MANIFEST = "manifest.json"
PART_PREFIX = "part-"
TEMP_PREFIX = ".tmp-"
INPUT_COLUMNS = ("id", "text", "parent_text")  # what a Parquet input is read for


class RescoreError(ValueError):
    """The run cannot start or go on as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Part:
    index: int
    path: str  # the file it is read from
    first_line: int  # number of its first line (JSONL) or row (Parquet), from 1
    start: int  # JSONL: byte offset of its first line; Parquet: its first row group
    stop: int  # JSONL: byte offset past its last line; Parquet: the row group past its last
    rows: int  # non-blank lines, or rows

    def as_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Part:
        """From a row of Ray's batch (numpy scalars) or of as_row()."""
        return cls(
            index=int(row["index"]),
            path=str(row["path"]),
            first_line=int(row["first_line"]),
            start=int(row["start"]),
            stop=int(row["stop"]),
            rows=int(row["rows"]),
        )


def input_format(path: Path) -> Format:
    if path.is_dir() or path.suffix == ".parquet":
        return "parquet"
    if path.suffix in JSONL_SUFFIXES:
        return "jsonl"
    raise RescoreError(
        f"{path.name}: expected a JSONL file ({', '.join(JSONL_SUFFIXES)}), a .parquet file "
        "or a folder of .parquet files"
    )


def plan_parts(path: Path, part_size: int) -> list[Part]:
    if part_size < 1:
        raise RescoreError(f"the part size must be at least 1, found {part_size}")
    if input_format(path) == "jsonl":
        return plan_jsonl(path, part_size)
    return plan_parquet(parquet_files(path), part_size)


def plan_jsonl(path: Path, part_size: int) -> list[Part]:
    """Parts of `part_size` non-blank lines, found by reading the bytes once (no JSON)."""
    parts: list[Part] = []
    offset = start = first = rows = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                if rows == 0:
                    start, first = offset, number
                rows += 1
            offset += len(raw)
            if rows == part_size:
                parts.append(Part(len(parts), str(path), first, start, offset, rows))
                rows = 0
    if rows:
        parts.append(Part(len(parts), str(path), first, start, offset, rows))
    return parts


def parquet_files(path: Path) -> list[Path]:
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise RescoreError(f"{path} holds no .parquet files")
    return files


def plan_parquet(files: list[Path], part_size: int) -> list[Part]:
    """Whole row groups adding up to at least `part_size` rows per part (a bigger row group is
    a bigger part); rows are numbered from 1 across the files in name order."""
    import pyarrow.parquet as pq

    parts: list[Part] = []
    row = 1
    for file in files:
        metadata = pq.ParquetFile(file).metadata
        start = rows = 0
        for group in range(metadata.num_row_groups):
            rows += metadata.row_group(group).num_rows
            if rows >= part_size:
                parts.append(Part(len(parts), str(file), row, start, group + 1, rows))
                row, start, rows = row + rows, group + 1, 0
        if rows:
            parts.append(Part(len(parts), str(file), row, start, metadata.num_row_groups, rows))
            row += rows
    return parts


def read_part(part: Part) -> list[InputLine | LineError]:
    """The part's entries, parsed as `score-file` parses lines. A repeated id is an error on
    its later line within a part; across parts it is not checked (each part is read alone)."""
    if input_format(Path(part.path)) == "jsonl":
        return list(mark_repeated_ids(_jsonl_lines(part)))
    return list(mark_repeated_ids(_parquet_rows(part)))


def _jsonl_lines(part: Part) -> Iterator[tuple[int, Any]]:
    with open(part.path, "rb") as handle:
        handle.seek(part.start)
        chunk = handle.read(part.stop - part.start)
    for number, raw in enumerate(io.BytesIO(chunk), start=part.first_line):
        if raw.strip():
            yield number, parse_line(raw, number)


def _parquet_rows(part: Part) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(part.path)
    columns = [name for name in INPUT_COLUMNS if name in file.schema_arrow.names]
    table = file.read_row_groups(range(part.start, part.stop), columns=columns)
    for number, row in enumerate(table.to_pylist(), start=part.first_line):
        yield number, parse_record(row, number)


# --- output ----------------------------------------------------------------------------------
def part_path(out_dir: Path, index: int, fmt: Format) -> Path:
    return out_dir / f"{PART_PREFIX}{index:05d}.{fmt}"


def done_parts(out_dir: Path, fmt: Format) -> set[int]:
    prefix, suffix = PART_PREFIX, f".{fmt}"
    return {
        int(path.name[len(prefix) : -len(suffix)])
        for path in out_dir.glob(f"{prefix}*{suffix}")
        if path.name[len(prefix) : -len(suffix)].isdigit()
    }


def write_part(out_dir: Path, index: int, records: list[dict[str, Any]], fmt: Format) -> Path:
    """Written under a temporary name, flushed to disk, then renamed: a part file is whole."""
    final = part_path(out_dir, index, fmt)
    temporary = out_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex}-{final.name}"
    if fmt == "jsonl":
        with temporary.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(record) + "\n" for record in records)
            handle.flush()
            os.fsync(handle.fileno())
    else:
        import pyarrow.parquet as pq

        from triage.rescore.output import records_table

        pq.write_table(records_table(records), temporary)
    os.replace(temporary, final)
    return final


def remove_temporaries(out_dir: Path) -> int:
    """Parts an interrupted run was writing; returns how many were removed."""
    stale = list(out_dir.glob(f"{TEMP_PREFIX}*"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def read_output(out_dir: Path, fmt: Format) -> Iterator[dict[str, Any]]:
    """Every record of the complete parts, in part order (and so in input order)."""
    for index in sorted(done_parts(out_dir, fmt)):
        path = part_path(out_dir, index, fmt)
        if fmt == "jsonl":
            with path.open(encoding="utf-8") as handle:
                yield from (json.loads(line) for line in handle if line.strip())
        else:
            import pyarrow.parquet as pq

            from triage.rescore.output import table_records

            yield from table_records(pq.read_table(path))


# --- manifest --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Manifest:
    input: str
    input_bytes: int
    input_mtime_ns: int
    part_size: int
    parts: int
    model_version: str
    output_format: Format

    @classmethod
    def of(cls, path: Path, part_size: int, parts: int, model: str, fmt: Format) -> Manifest:
        files = parquet_files(path) if input_format(path) == "parquet" else [path]
        stats = [file.stat() for file in files]
        return cls(
            str(path.resolve()),
            sum(s.st_size for s in stats),
            max(s.st_mtime_ns for s in stats),
            part_size,
            parts,
            model,
            fmt,
        )


def open_output(out_dir: Path, manifest: Manifest) -> None:
    """Make the folder and write the manifest; for a folder holding an earlier run, check that
    it is the same run (RescoreError otherwise) and remove the parts it left half-written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MANIFEST
    if path.exists():
        earlier = Manifest(**json.loads(path.read_text()))
        changed = [
            f"{f.name} {getattr(earlier, f.name)!r} -> {getattr(manifest, f.name)!r}"
            for f in fields(Manifest)
            if getattr(earlier, f.name) != getattr(manifest, f.name)
        ]
        if changed:
            raise RescoreError(
                f"{out_dir} holds the parts of another run ({'; '.join(changed)}): give a new "
                "--out, or delete that folder to start over"
            )
        remove_temporaries(out_dir)
        return
    temporary = out_dir / f"{TEMP_PREFIX}{MANIFEST}"
    temporary.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    os.replace(temporary, path)


def read_manifest(out_dir: Path) -> Manifest:
    path = out_dir / MANIFEST
    if not path.exists():
        raise RescoreError(f"{out_dir} has no {MANIFEST}: it is not the output of triage rescore")
    return Manifest(**json.loads(path.read_text()))
