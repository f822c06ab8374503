"""The scorer's values: an item in, its evidence spans and its result out.

Kept apart from the scorer so that the modules it is built from (decision.py, evidence.py) and
its readers (score-file, the queue) share them without importing onnxruntime's session code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from triage.domain.labels import Tier
from triage.scoring.language import UNDETERMINED


@dataclass(frozen=True)
class ScoreInput:
    id: str
    text: str
    parent_text: str | None = None


@dataclass(frozen=True)
class Evidence:
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class ScoreResult:
    id: str
    scores: dict[str, float | None]
    flags: list[str]
    tier: Tier
    priority: int
    reasons: tuple[str, ...] = ()
    evidence: list[Evidence] = field(default_factory=list)
    tier_scores: dict[str, float] | None = None  # P(tier >= amber / red / crisis), tier head only
    language: str = UNDETERMINED  # ISO 639-1, or "und" when too short or unsure (language.py)
    # in a language the bundle does not declare: tier raised to at least amber, for a person
    language_unsupported: bool = False
    # flagged self_harm but the tier head or rules said green: raised to amber, for a person
    self_harm_floor: bool = False
    # amber because the tier head's P(tier >= red) fell in its uncertain band, not because it
    # reached the amber cut-off; `reasons` says so in words (UNCERTAIN_REASON) for a person
    tier_uncertain: bool = False
    # the crisis resource the text shares, which kept it from being flagged spam (its score is
    # kept); `reasons` says so in words (priority.crisis_resource_reason)
    spam_withheld_by: str | None = None
