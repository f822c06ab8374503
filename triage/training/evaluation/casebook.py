"""The evaluation casebook (casebook/evaluation.jsonl, issue 13): score it as the serving scorer
does (a reply with its parent, a post alone); data/casebook_file.py reads the file.

Reporting only. The casebook is never trained on, and nothing here chooses a threshold or a
model: tiers and flags are what the serving scorer gives with the bundle's own thresholds and
tier head. casebook_metrics.py measures the predictions, casebook_report.py writes them as
Markdown and JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from triage.domain.labels import Tier
from triage.paths import PROJECT_ROOT
from triage.scoring.results import ScoreInput, ScoreResult
from triage.training.data.casebook_file import Case

SCORE_CHUNK = 32


class Scorer(Protocol):
    def score(self, items: Sequence[ScoreInput]) -> Sequence[ScoreResult]: ...


@dataclass(frozen=True)
class Prediction:
    id: str
    tier: str
    flags: tuple[str, ...]
    scores: dict[str, float | None]
    uncertain: bool = False  # the tier head's uncertain band routed it to amber
    language_raised: bool = False  # not read as a language of the bundle: raised to amber


def predict(scorer: Scorer, cases: Sequence[Case]) -> list[Prediction]:
    """Each case as the serving scorer sees it: a reply (parent_text set) is scored with its
    parent, a post alone."""
    predictions: list[Prediction] = []
    for start in range(0, len(cases), SCORE_CHUNK):
        part = cases[start : start + SCORE_CHUNK]
        results = scorer.score([ScoreInput(c.id, c.text, c.parent_text) for c in part])
        predictions.extend(_prediction(result) for result in results)
    return predictions


def _prediction(result: ScoreResult) -> Prediction:
    return Prediction(
        result.id,
        Tier(result.tier).value,
        tuple(result.flags),
        dict(result.scores),
        any(reason.startswith("uncertain") for reason in result.reasons),
        result.language_unsupported,
    )


def shown_path(path: Path) -> str:
    """The casebook's path as the report shows it: inside the project, relative to its root."""
    resolved = Path(path).resolve()
    return str(
        resolved.relative_to(PROJECT_ROOT) if resolved.is_relative_to(PROJECT_ROOT) else path
    )
