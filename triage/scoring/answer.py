"""One scored item as POST /v1/score answers it and `triage score-file` writes it.

Both take this dict: the route validates it into its response model (ScoreResultOut, whose fields
are these keys in this order) and score-file writes it as it is, so the two cannot drift
(tests/scoring/test_answer.py and test_score_file.py check it). `tier_uncertain` is not in it:
the answer says so in words, in `reasons`.
"""

from __future__ import annotations

from typing import Any

from triage.scoring.results import ScoreResult


def result_answer(result: ScoreResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "scores": dict(result.scores),
        "flags": list(result.flags),
        "tier": result.tier.value,
        "priority": result.priority,
        "reasons": list(result.reasons),
        "evidence": [{"label": e.label, "start": e.start, "end": e.end} for e in result.evidence],
        "tier_scores": None if result.tier_scores is None else dict(result.tier_scores),
        "language": result.language,
        "language_unsupported": result.language_unsupported,
        "self_harm_floor": result.self_harm_floor,
    }
