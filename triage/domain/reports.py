"""Member reports: the configured reasons (configs/reports.yaml) and a reporter's weight.

Pure: no database, no web. A platform sends a member's report of a post (POST /v1/reports);
the queue counts it toward priority (priority.report_points) weighted by the reporter's record
of upheld reports (queue/reporters.py), as Discourse weighs flags by the flagger's accuracy.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from triage.domain.review import UPHELD_OUTCOMES, Outcome
from triage.paths import read_yaml

REASON_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


class ReportRules(BaseModel):
    """configs/reports.yaml: the reasons a report may give and the longest free text kept."""

    model_config = ConfigDict(extra="forbid")

    reasons: tuple[str, ...] = Field(min_length=1)
    text_max_chars: int = Field(2000, ge=1, le=20_000)

    @field_validator("reasons")
    @classmethod
    def _well_formed(cls, reasons: tuple[str, ...]) -> tuple[str, ...]:
        bad = [reason for reason in reasons if not re.match(REASON_PATTERN, reason)]
        if bad:
            raise ValueError(f"reasons must be lower_snake_case, 1-40 characters: {bad}")
        if len(set(reasons)) != len(reasons):
            raise ValueError(f"reasons repeat: {list(reasons)}")
        return reasons

    @classmethod
    def load(cls, path: Path) -> ReportRules:
        return cls.model_validate(read_yaml(path))


def reporter_weight(upheld: int, rejected: int) -> float:
    """(upheld + 1) / (upheld + rejected + 2): 0.5 for a member with no record (Laplace's rule),
    towards 1 for one whose reports moderators uphold, towards 0 for one they reject."""
    upheld, rejected = max(upheld, 0), max(rejected, 0)
    return (upheld + 1) / (upheld + rejected + 2)


def upholds(outcome: Outcome) -> bool:
    """Does resolving an item with `outcome` uphold the members' reports of it?"""
    return outcome in UPHELD_OUTCOMES
