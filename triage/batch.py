"""`triage score-file`: score a JSONL file offline with the serving scorer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from tqdm.auto import tqdm

from triage.bundle import load_bundle
from triage.config import Settings
from triage.scoring import OnnxScorer, ScoreInput

CHUNK = 32


class InputLineError(ValueError):
    pass


def parse_line(line: str, number: int, max_chars: int) -> ScoreInput:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputLineError(
            f"line {number}: expected a JSON object, found invalid JSON ({error.msg})"
        ) from None
    if not isinstance(data, dict):
        raise InputLineError(f"line {number}: expected a JSON object, found {type(data).__name__}")
    item_id, text, parent = data.get("id"), data.get("text"), data.get("parent_text")
    if not isinstance(item_id, str | int) or isinstance(item_id, bool) or item_id == "":
        raise InputLineError(
            f'line {number}: expected "id" as a non-empty string, found {item_id!r}'
        )
    if not isinstance(text, str) or not text.strip():
        raise InputLineError(f'line {number}: expected "text" as a non-empty string')
    if parent is not None and not isinstance(parent, str):
        raise InputLineError(f'line {number}: expected "parent_text" as a string or absent')
    if len(text) > max_chars or len(parent or "") > max_chars:
        raise InputLineError(f"line {number}: text longer than {max_chars} characters")
    return ScoreInput(str(item_id), text, parent)


def read_items(path: Path, max_chars: int) -> Iterator[ScoreInput]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield parse_line(line, number, max_chars)


def score_jsonl(input_path: Path, output_path: Path, settings: Settings) -> int:
    """Validate every line first (nothing half-written on bad input), then score in chunks."""
    items = list(read_items(input_path, settings.max_text_chars))
    scorer = OnnxScorer(
        load_bundle(settings.bundle_dir),
        settings.tier_rules,
        settings.onnx_threads,
        evidence=False,
        lanes=settings.scoring_workers,  # a chunk's items on every core, each still alone
    )
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with output_path.open("w", encoding="utf-8") as out, tqdm(total=len(items), unit="item") as bar:
        for start in range(0, len(items), CHUNK):
            for result in scorer.score(items[start : start + CHUNK]):
                record = {
                    "id": result.id,
                    "scores": result.scores,
                    "flags": result.flags,
                    "tier": result.tier.value,
                }
                out.write(json.dumps(record) + "\n")
            bar.update(min(CHUNK, len(items) - start))
    return len(items)
