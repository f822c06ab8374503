"""answer.py: the dict score-file writes is the API's ScoreResultOut, key for key and in order."""

from __future__ import annotations

import json

import pytest

from triage.domain.labels import Tier
from triage.scoring.answer import result_answer
from triage.scoring.results import Evidence, ScoreResult
from triage.service.api.schemas import ScoreResultOut

RESULTS = [
    ScoreResult("a", {"self_harm": 0.0123, "corumination": None}, [], Tier.GREEN, 5),
    ScoreResult(
        "b",
        {"self_harm": 0.91, "hostile": 0.5},
        ["self_harm", "hostile"],
        Tier.RED,
        77,
        ("self_harm flagged", "shares a crisis resource (x): not flagged as spam"),
        [Evidence("self_harm", 0, 12), Evidence("red", 13, 40)],
        {"amber": 0.99, "red": 0.7, "crisis": 0.1},
        "en",
        self_harm_floor=True,
    ),
    ScoreResult(
        "c",
        {"self_harm": 0.2},
        [],
        Tier.AMBER,
        44,
        ("uncertain",),
        language="fr",
        language_unsupported=True,
        tier_uncertain=True,
    ),
]


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: r.id)
def test_the_answer_is_what_the_api_model_dumps(result):
    answer = result_answer(result)
    dumped = ScoreResultOut.model_validate(answer).model_dump(mode="json")
    assert json.dumps(answer) == json.dumps(dumped)  # same keys, order and values: same bytes


def test_tier_uncertain_stays_out_of_the_answer():
    """The API answers with the reason in words; the field is for the queue."""
    assert "tier_uncertain" not in result_answer(RESULTS[2])
    assert set(result_answer(RESULTS[2])) == set(ScoreResultOut.model_fields)
