"""The evaluation casebook's file format (casebook/evaluation.jsonl, issue 13; casebook/README.md):
one case per line, every field checked, so a hand-edited file fails loudly with its line.

Read by evaluation (evaluation/casebook.py scores it) and by data preparation, which drops
synthetic rows like a casebook case (the casebook is never trained on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from triage.domain.labels import NON_REPLY_LABELS, TIERS

CASEBOOK_LABELS: tuple[str, ...] = NON_REPLY_LABELS
REQUIRED_KEYS: tuple[str, ...] = ("id", "category", "text", "parent_text", "tier", "labels")


class CasebookError(ValueError):
    """A casebook file that cannot be read as the casebook README describes."""


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    text: str
    parent_text: str | None
    tier: str
    labels: dict[str, int]


def load_casebook(path: Path) -> list[Case]:
    """Every case of a casebook JSONL file; a CasebookError names the line and what is wrong."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CasebookError(f"{path}: cannot be read ({error})") from None
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            case = _parse_case(line)
        except CasebookError as error:
            raise CasebookError(f"{path} line {number}: {error}") from None
        if case.id in seen:
            raise CasebookError(
                f"{path} line {number}: id {case.id!r} repeats line {seen[case.id]}"
            )
        seen[case.id] = number
        cases.append(case)
    if not cases:
        raise CasebookError(f"{path}: no cases (empty file)")
    return cases


def _parse_case(line: str) -> Case:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise CasebookError(f"not JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise CasebookError(f"expected a JSON object, found {type(row).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in row]
    if missing:
        raise CasebookError(f"missing keys {missing}; every case needs {list(REQUIRED_KEYS)}")
    for key in ("id", "category", "text"):
        if not isinstance(row[key], str) or not row[key].strip():
            raise CasebookError(f"{key}: expected a non-empty string, found {row[key]!r:.40}")
    parent = row["parent_text"]
    if parent is not None and (not isinstance(parent, str) or not parent.strip()):
        raise CasebookError("parent_text: expected null or a non-empty string")
    if row["tier"] not in TIERS:
        raise CasebookError(f"tier: expected one of {list(TIERS)}, found {row['tier']!r:.40}")
    return Case(row["id"], row["category"], row["text"], parent, row["tier"], _labels(row))


def _labels(row: dict) -> dict[str, int]:
    labels = row["labels"]
    if not isinstance(labels, dict) or sorted(labels) != sorted(CASEBOOK_LABELS):
        found = sorted(labels) if isinstance(labels, dict) else type(labels).__name__
        raise CasebookError(f"labels: expected the keys {list(CASEBOOK_LABELS)}, found {found}")
    for label, value in labels.items():
        if type(value) is not int or value not in (0, 1):
            raise CasebookError(f"labels.{label}: expected 0 or 1, found {value!r:.40}")
    return {label: labels[label] for label in CASEBOOK_LABELS}
