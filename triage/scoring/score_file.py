"""`triage score-file`: score a JSONL file offline with the serving scorer, line by line.

Each good line gives what POST /v1/score gives for the item (answer.py builds both, so the two
cannot drift) plus its input line number and whether the model read all of it. Each bad line
gives an error line in the API's error shape (triage/problems.py), and the run goes on. Output lines
keep the input order; blank input lines are skipped.

There is no length limit: like the API, the model reads the head and the tail of a long text
(triage/scoring/encoding.py), and the output says so (`truncated`, `truncation`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tqdm.auto import tqdm

from triage.domain.text import clean_text
from triage.problems import Detail, Problem, describe
from triage.scoring.answer import result_answer
from triage.scoring.bundle import load_bundle
from triage.scoring.encoding import PairEncoder, split_budget
from triage.scoring.results import ScoreInput, ScoreResult
from triage.scoring.scorer import OnnxScorer
from triage.settings import Settings

CHUNK = 32
MAX_ID_CHARS = 200  # as ScoreItemIn.id


@dataclass(frozen=True)
class InputLine:
    number: int
    item: ScoreInput


@dataclass(frozen=True)
class LineError:
    number: int
    id: str | int | None
    error: Problem

    def record(self) -> dict[str, Any]:
        return {"line": self.number, "id": self.id, "error": self.error.record()}


@dataclass(frozen=True)
class LineOutcome:
    """What one input line gave: its output record, and for a scored line its item and result."""

    record: dict[str, Any]
    item: ScoreInput | None = None
    result: ScoreResult | None = None


@dataclass(frozen=True)
class Summary:
    lines: int  # non-blank input lines
    failed: int
    model: str = ""

    @property
    def scored(self) -> int:
        return self.lines - self.failed


def invalid_line(details: list[Detail]) -> Problem:
    fields = ", ".join(d.field for d in details if d.field)
    problem = f"check {fields}" if fields else f"expected {details[0].expected}"
    return Problem(422, "invalid_line", f"this line cannot be scored: {problem}", details)


def parse_line(raw: bytes, number: int) -> ScoreInput | LineError:
    """The line as an item, or an error naming every field that is wrong (never its text)."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))  # a BOM on the first line is no error
    except UnicodeDecodeError:
        detail = Detail(None, "a line of UTF-8 text", "bytes that are not UTF-8")
        return LineError(number, None, invalid_line([detail]))
    except (ValueError, RecursionError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else type(error).__name__
        detail = Detail(None, "a JSON object", f"invalid JSON ({reason})")
        return LineError(number, None, invalid_line([detail]))
    if not isinstance(data, dict):
        detail = Detail(None, "a JSON object", describe(data))
        return LineError(number, None, invalid_line([detail]))
    return parse_record(data, number)


def parse_record(data: dict[str, Any], number: int) -> ScoreInput | LineError:
    """A decoded row (a JSON line, or a Parquet row in `triage rescore`) as an item, or an
    error naming every field that is wrong."""
    item_id, details = data.get("id"), field_problems(data)
    usable_id = item_id if not any(d.field == "id" for d in details) else None
    if details:
        return LineError(number, usable_id, invalid_line(details))
    # the API's rule for broken text (NUL, lone surrogates): repaired, never refused
    text, _ = clean_text(data["text"])
    parent = clean_text(data["parent_text"])[0] if data.get("parent_text") else None
    return ScoreInput(str(item_id), text, parent)


def field_problems(data: dict[str, Any]) -> list[Detail]:
    details = []
    item_id, text, parent = data.get("id"), data.get("text"), data.get("parent_text")
    id_ok = isinstance(item_id, str) and 0 < len(item_id) <= MAX_ID_CHARS
    if not (id_ok or (isinstance(item_id, int) and not isinstance(item_id, bool))):
        expected = f"a string of 1 to {MAX_ID_CHARS} characters, or an integer"
        details.append(Detail("id", expected, _found(data, "id")))
    if not isinstance(text, str) or not text.strip():
        details.append(Detail("text", "a non-empty string", _found(data, "text")))
    if parent is not None and not isinstance(parent, str):
        details.append(Detail("parent_text", "a string, null or absent", describe(parent)))
    return details


def _found(data: dict[str, Any], name: str) -> str:
    if name not in data:
        return "nothing (field missing)"
    value = data[name]
    if isinstance(value, str) and value and not value.strip():
        return f"a string of {len(value)} characters, all whitespace"
    return "an empty string" if value == "" else describe(value)


def read_lines(path: Path) -> Iterator[InputLine | LineError]:
    """Every non-blank line, parsed; a repeated id is an error on the later line."""
    with path.open("rb") as handle:
        numbered = ((number, raw) for number, raw in enumerate(handle, start=1) if raw.strip())
        yield from mark_repeated_ids((number, parse_line(raw, number)) for number, raw in numbered)


def mark_repeated_ids(
    parsed: Iterable[tuple[int, ScoreInput | LineError]],
) -> Iterator[InputLine | LineError]:
    """(line number, parsed line) pairs as entries; a repeated id is an error on the later line."""
    first_line: dict[str, int] = {}
    for number, entry in parsed:
        if isinstance(entry, LineError):
            yield entry
        elif entry.id in first_line:
            yield duplicate_id(entry.id, number, first_line[entry.id])
        else:
            first_line[entry.id] = number
            yield InputLine(number, entry)


def duplicate_id(item_id: str, number: int, first: int) -> LineError:
    detail = Detail("id", "an id not used on an earlier line", f"the id of line {first}")
    return LineError(number, item_id, invalid_line([detail]))


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())


def truncation(encoder: PairEncoder, item: ScoreInput) -> str | None:
    """What the model did not read of a long text or parent (it reads their head and tail)."""
    text_tokens = _token_count(encoder, item.text)
    if item.parent_text is None:
        text_read, parent_tokens, parent_read = min(text_tokens, encoder.max_length - 2), 0, 0
    else:
        parent_tokens = _token_count(encoder, item.parent_text)
        text_read, parent_read = split_budget(text_tokens, parent_tokens, encoder.max_length - 3)
    parts = (("text", text_read, text_tokens), ("parent_text", parent_read, parent_tokens))
    notes = [
        f"{name}: read the first {(read + 1) // 2} and the last {read // 2} of {total} tokens"
        for name, read, total in parts
        if read < total
    ]
    return "; ".join(notes) or None


def _token_count(encoder: PairEncoder, text: str) -> int:
    return len(encoder.tokenizer.encode(text, add_special_tokens=False).ids)


def result_record(number: int, result: ScoreResult, cut: str | None) -> dict[str, Any]:
    return {
        "line": number,
        **result_answer(result),
        "truncated": cut is not None,
        "truncation": cut,
    }


def scoring_failed(number: int, item: ScoreInput, error: Exception) -> LineError:
    # the type only: an exception's message may quote the text
    detail = Detail(None, "a scored item", f"the model failed ({type(error).__name__})")
    problem = Problem(500, "scoring_failed", "the model failed on this line", [detail])
    return LineError(number, item.id, problem)


class FileScorer:
    """Scores InputLines in chunks and writes one output line per input line, in input order."""

    def __init__(self, scorer: OnnxScorer, out: IO[str] | None = None) -> None:
        self.scorer, self.out = scorer, out
        self.failed = 0

    def write(self, entries: list[InputLine | LineError]) -> None:
        assert self.out is not None, "FileScorer.write needs an output"
        for record in self.records(entries):
            self.out.write(json.dumps(record) + "\n")

    def records(self, entries: list[InputLine | LineError]) -> list[dict[str, Any]]:
        """One output record per entry, in order."""
        return [outcome.record for outcome in self.outcomes(entries)]

    def outcomes(self, entries: list[InputLine | LineError]) -> list[LineOutcome]:
        """One outcome per entry, in order: its record, and for a scored line the item and
        result behind it (`triage rescore` adds what it needs of them to its parts)."""
        lines = [e for e in entries if isinstance(e, InputLine)]
        scored = dict(zip((e.number for e in lines), self._score(lines), strict=True))
        outcomes = []
        for entry in entries:
            outcome = scored[entry.number] if isinstance(entry, InputLine) else entry
            if isinstance(outcome, LineError):
                self.failed += 1
                outcome = LineOutcome(outcome.record())
            outcomes.append(outcome)
        return outcomes

    def _score(self, lines: list[InputLine]) -> list[LineOutcome | LineError]:
        try:
            results = self.scorer.score([line.item for line in lines])
        except Exception:  # find the item that fails by scoring each alone
            return [self._score_alone(line) for line in lines]
        return [self._scored(line, result) for line, result in zip(lines, results, strict=True)]

    def _score_alone(self, line: InputLine) -> LineOutcome | LineError:
        try:
            return self._scored(line, self.scorer.score([line.item])[0])
        except Exception as error:  # one bad item must not stop the file
            return scoring_failed(line.number, line.item, error)

    def _scored(self, line: InputLine, result: ScoreResult) -> LineOutcome:
        cut = truncation(self.scorer.encoder, line.item)
        return LineOutcome(result_record(line.number, result, cut), line.item, result)


def load_scorer(settings: Settings) -> OnnxScorer:
    """The scorer as the service builds it (evidence included), with a chunk's items on every
    core, each still run alone."""
    return OnnxScorer(
        load_bundle(settings.bundle_dir),
        settings.tier_rules,
        settings.onnx_threads,
        evidence=settings.evidence,
        evidence_mode=settings.evidence_mode,
        lanes=settings.scoring_workers,
        resource_guard=settings.resource_guard,
        int8_weights=settings.int8_weights,
    )


def score_jsonl(input_path: Path, output_path: Path, settings: Settings) -> Summary:
    """Score every line of input_path into output_path. An input without lines writes nothing
    (and loads no model)."""
    total = count_lines(input_path)
    if total == 0:
        return Summary(0, 0)
    scorer = load_scorer(settings)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        output_path.open("w", encoding="utf-8") as out,
        tqdm(total=total, unit="line", file=sys.stderr, disable=None) as bar,
    ):
        writer = FileScorer(scorer, out)
        chunk: list[InputLine | LineError] = []
        for entry in read_lines(input_path):
            chunk.append(entry)
            if len(chunk) == CHUNK:
                writer.write(chunk)
                bar.update(len(chunk))
                chunk = []
        writer.write(chunk)
        bar.update(len(chunk))
    return Summary(total, writer.failed, f"{scorer.bundle.name} {scorer.bundle.version}")
