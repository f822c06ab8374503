"""What was wrong with an input, as plain values any layer can give.

The service renders a Problem as its JSON error body (triage/service/errors.py); `triage
score-file` and `triage rescore` write one in an error line, in the same shape, without
importing the service:

    {"status": 422, "code": "invalid_line", "message": "...",
     "details": [{"field": "text", "expected": "...", "found": "..."}]}

`found` describes the value (its type, size or count), never echoes posted text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Detail:
    field: str | None
    expected: str
    found: str


@dataclass(frozen=True)
class Problem:
    status: int
    code: str
    message: str
    details: Sequence[Detail] = field(default_factory=tuple)

    def record(self) -> dict[str, Any]:
        """The error body's inner object, in the key order the API answers with."""
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "details": [asdict(d) for d in self.details],
        }


def describe(value: object) -> str:
    """What was found, without repeating user text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        keys = ", ".join(sorted(map(str, value))[:8])
        return f"an object with keys [{keys}]"
    return type(value).__name__
