"""Thread-level corumination: the signal functions, the combination (with a fake scorer), and
POST /v1/threads/score (contract, limits, broken links, auth) on the tiny bundle."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import bearer
from tests.service.api.test_service import assert_error_shape
from triage.domain.labels import LABELS
from triage.scoring.thread_signals import (
    affect_trend,
    content_words,
    has_coping_cue,
    negative_affect,
    repetition,
    similarity,
)
from triage.scoring.threads import (
    CONTEXT_FLOOR,
    NO_PAIR_SCORE,
    NO_REPLY,
    Post,
    Turn,
    score_posts,
    score_thread,
)


# --- signals ---------------------------------------------------------------------------------
def test_content_words_leave_out_function_words():
    assert content_words("I feel SO alone, and I can't sleep") == {"feel", "alone", "sleep"}
    assert content_words("it is what it is") == frozenset()


def test_similarity_is_a_cosine_of_word_sets():
    a, b = frozenset({"job", "lost", "today"}), frozenset({"job", "lost", "month"})
    assert similarity(a, a) == pytest.approx(1.0)
    assert similarity(a, b) == pytest.approx(2 / 3)
    assert similarity(a, frozenset({"weather"})) == 0.0
    assert similarity(a, frozenset()) == 0.0


def test_repetition_finds_the_most_similar_earlier_turn():
    texts = [
        "lost my job today and feel awful",
        "lovely weather at the beach",
        "lost my job too, feel awful about it",
        "beach weather lovely",
    ]
    found = repetition(texts)
    assert found[0] == (0.0, None)
    assert found[1] == (0.0, None)
    assert found[2][1] == 0 and found[2][0] > 0.5
    assert found[3][1] == 1 and found[3][0] == pytest.approx(1.0)


def test_repetition_matches_comparing_every_pair():
    import random

    rng = random.Random(7)
    vocabulary = [f"topic{n}" for n in range(40)]
    texts = [" ".join(rng.choices(vocabulary, k=rng.randint(0, 12))) for _ in range(60)]
    words = [content_words(text) for text in texts]
    for i, (value, where) in enumerate(repetition(texts)):
        pairs = [similarity(words[i], words[j]) for j in range(i)]
        best = max(pairs, default=0.0)
        assert value == pytest.approx(best)
        assert where == (pairs.index(best) if best > 0 else None)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Have you tried talking to a therapist?", True),
        ("The 5-4-3-2-1 grounding trick helps me.", True),
        ("Maybe call a helpline tonight.", True),
        ("same, and it only gets worse", False),
        ("I feel so helpless and nobody cares", False),
        ("why would she do that, she never cared", False),
    ],
)
def test_coping_cues(text, expected):
    assert has_coping_cue(text) is expected


def test_negative_affect_is_the_higher_of_distress_and_self_harm():
    assert negative_affect({"distress": 0.2, "self_harm": 0.7}) == 0.7
    assert negative_affect({"distress": 0.4, "self_harm": None}) == 0.4
    assert negative_affect({"distress": float("nan"), "self_harm": None}) is None
    assert negative_affect({}) is None


def test_affect_trend_compares_the_later_half_with_the_earlier():
    assert affect_trend([0.2, 0.8]) == pytest.approx(0.6)
    assert affect_trend([0.9, 0.7, 0.3, 0.1]) == pytest.approx(-0.6)
    assert affect_trend([0.5]) == 0.0


# --- the combination -------------------------------------------------------------------------
def turn(n: int, text: str, pair: float | None = None, distress: float = 0.5, **extra) -> Turn:
    scores = {"distress": distress, "self_harm": 0.0, "corumination": pair, **extra}
    return Turn(f"t{n}", text, scores, is_reply=n > 0, parent_id=None if n == 0 else f"t{n - 1}")


OPENING = "lost my job today and I feel awful"


def test_a_thread_of_one_post_has_no_score():
    result = score_thread([turn(0, OPENING)])
    assert result.score is None and result.reason == NO_REPLY
    assert result.replies == [] and result.drivers == []


def test_without_pair_scores_the_thread_score_is_null_with_a_reason():
    result = score_thread([turn(0, OPENING), turn(1, "so sorry", pair=None)])
    assert result.score is None and result.reason == NO_PAIR_SCORE
    assert [r.id for r in result.replies] == ["t1"] and result.replies[0].pair_score is None


def test_score_follows_the_documented_formula():
    turns = [
        turn(0, OPENING, distress=0.4),
        turn(1, "lost my job too, it is awful", pair=0.8, distress=0.6),
        turn(2, "have you tried the job centre?", pair=0.2, distress=0.2),
    ]
    result = score_thread(turns)
    repeats = repetition([t.text for t in turns])
    rep = (repeats[1][0] + repeats[2][0]) / 2
    level = (0.4 + 0.6 + 0.2) / 3
    trend = (0.6 + 0.2) / 2 - 0.4
    coping_absence = 1 - 1 / 2  # replies from the top one (turn 1) on: one of two has a cue
    context = (rep + min(max(level + trend, 0), 1) + coping_absence) / 3
    expected = 0.8 * (CONTEXT_FLOOR + (1 - CONTEXT_FLOOR) * context)
    assert result.score == pytest.approx(expected, abs=1e-4)
    assert result.signals.pair_level == 0.8
    assert result.signals.coping_absence == 0.5


def test_signals_only_discount_the_top_pair_score():
    for pairs in ([0.9, 0.1], [0.3, 0.3], [0.05, 0.6, 0.2]):
        turns = [turn(0, OPENING)] + [
            turn(n + 1, f"reply {n} words", pair=p) for n, p in enumerate(pairs)
        ]
        score = score_thread(turns).score
        assert CONTEXT_FLOOR * max(pairs) - 1e-4 <= score <= max(pairs) + 1e-4


def test_dwelling_outranks_the_same_replies_met_by_coping():
    dwelling = [
        turn(0, OPENING, distress=0.5),
        turn(1, "same, lost my job and it is awful", pair=0.7, distress=0.7),
        turn(2, "awful, the job market is rigged, lost everything", pair=0.6, distress=0.9),
    ]
    redirected = dwelling[:2] + [
        turn(2, "the job centre helped me, have you tried them?", pair=0.6, distress=0.9)
    ]
    easing = dwelling[:2] + [
        turn(2, "awful, the job market is rigged, lost everything", pair=0.6, distress=0.1)
    ]
    top = score_thread(dwelling).score
    assert top > score_thread(redirected).score
    assert top > score_thread(easing).score


def test_a_coping_cue_before_the_top_reply_does_not_count():
    before = [
        turn(0, OPENING),
        turn(1, "have you tried a walk?", pair=0.1),
        turn(2, "same, lost my job, awful", pair=0.8),
    ]
    assert score_thread(before).signals.coping_absence == 1.0


def test_drivers_name_the_replies_and_why():
    turns = [
        turn(0, OPENING),
        turn(1, "lovely weather today", pair=0.05, distress=0.1),
        turn(2, "lost my job too, awful awful", pair=0.9, distress=0.8),
        turn(3, "it never gets better after losing a job", pair=0.6, distress=0.7),
    ]
    result = score_thread(turns)
    assert [d.id for d in result.drivers] == ["t2", "t3", "t1"]
    why = result.drivers[0].why
    assert "pair score 0.90" in why and "repeats turn 1" in why and "negative affect 0.80" in why
    assert result.turns_label() == "turns 2, 3, 4"
    assert [r.index for r in result.replies] == [1, 2, 3]


class FakeScorer:
    """Calibrated probabilities from words: 'same' coruminates, 'awful' is distress."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def probabilities(self, texts, parents):
        rows = []
        for text, parent in zip(texts, parents, strict=True):
            self.calls.append((text, parent))
            scores = dict.fromkeys(LABELS, 0.1)
            scores["corumination"] = 0.9 if "same" in text and parent else 0.1
            scores["distress"] = 0.8 if "awful" in text else 0.2
            rows.append([scores[label] for label in LABELS])
        return np.asarray(rows)


def test_score_posts_scores_each_reply_with_the_post_it_answers():
    scorer = FakeScorer()
    posts = [
        Post("a", "awful day"),
        Post("b", "same here", "a"),
        Post("c", "why though", "b"),
        Post("d", "no parent named"),
    ]
    turns = score_posts(scorer, posts)
    assert scorer.calls == [
        ("awful day", None),
        ("same here", "awful day"),
        ("why though", "same here"),
        ("no parent named", "awful day"),
    ]
    assert [t.is_reply for t in turns] == [False, True, True, True]
    assert [t.parent_id for t in turns] == [None, "a", "b", "a"]
    assert turns[1].scores["corumination"] == 0.9 and turns[0].scores["distress"] == 0.8


# --- the endpoint ----------------------------------------------------------------------------
def bundle_with_corumination_head(tiny_bundle: Path, folder: Path) -> Path:
    """The tiny bundle with its (untrained) corumination output declared trained, so the
    pair and thread path runs end to end. Its scores are arbitrary: plumbing, not quality."""
    out = folder / "tiny-with-corumination"
    shutil.copytree(tiny_bundle, out)
    info = json.loads((out / "bundle.json").read_text())
    info["trained_labels"] = [*info.get("trained_labels", LABELS), "corumination"]
    info["thresholds"]["corumination"] = 0.5
    (out / "bundle.json").write_text(json.dumps(info))
    return out


@pytest.fixture(scope="module")
def corumination_bundle(tiny_bundle, tmp_path_factory) -> Path:
    return bundle_with_corumination_head(tiny_bundle, tmp_path_factory.mktemp("coru"))


@pytest.fixture()
def thread_client(settings, keys, corumination_bundle):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    wanted = settings.model_copy(
        update={"bundle_dir": corumination_bundle, "max_thread_posts": 160}
    )
    with TestClient(create_app(wanted), headers=bearer(keys["platform"])) as test_client:
        yield test_client


def posts(n: int, **links) -> list[dict]:
    """n posts, each answering the one before; `links` overrides parent ids by position."""
    made = [
        {"id": f"p{i}", "text": f"post {i}: I feel low again", "parent_id": f"p{i - 1}"}
        for i in range(n)
    ]
    made[0]["parent_id"] = None
    for position, parent in links.items():
        made[int(position[1:])]["parent_id"] = parent
    return made


THREAD = [
    {"id": "op", "text": "Lost my job today. I feel awful and I can't stop crying."},
    {"id": "r1", "text": "Same happened to me, so brutal, never gets better.", "parent_id": "op"},
    {"id": "r2", "text": "Yeah nobody is hiring, we are both stuck.", "parent_id": "r1"},
    {"id": "r3", "text": "Have you tried the job centre? They helped me.", "parent_id": "op"},
]


def test_thread_contract(thread_client):
    response = thread_client.post(
        "/v1/threads/score", json={"thread_id": "t1", "community": "c1", "posts": THREAD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["version"] == "0.0.1-test"
    assert (body["thread_id"], body["community"], body["posts"]) == ("t1", "c1", 4)
    assert [r["id"] for r in body["replies"]] == ["r1", "r2", "r3"]
    assert [r["index"] for r in body["replies"]] == [1, 2, 3]
    assert [r["parent_id"] for r in body["replies"]] == ["op", "r1", "op"]
    for reply in body["replies"]:
        assert 0 <= reply["corumination"] <= 1 and 0 <= reply["negative_affect"] <= 1
        assert 0 <= reply["repetition"] <= 1
    assert [r["coping_cue"] for r in body["replies"]] == [False, False, True]
    pairs = [r["corumination"] for r in body["replies"]]
    signals = body["signals"]
    assert signals["pair_level"] == max(pairs)
    assert 0.5 * max(pairs) - 1e-3 <= body["score"] <= max(pairs)
    assert body["reason"] is None and body["threshold"] == 0.5
    assert body["flagged"] is (body["score"] >= 0.5)
    assert 1 <= len(body["drivers"]) <= 3
    assert {d["id"] for d in body["drivers"]} <= {"r1", "r2", "r3"}
    assert all("pair score" in d["why"] for d in body["drivers"])
    contributions = [d["contribution"] for d in body["drivers"]]
    assert contributions == sorted(contributions, reverse=True)


def test_a_thread_of_one_post_has_no_replies_and_a_null_score(thread_client):
    response = thread_client.post("/v1/threads/score", json={"posts": THREAD[:1]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["replies"] == [] and body["drivers"] == [] and body["signals"] is None
    assert body["score"] is None and body["flagged"] is False
    assert "one post" in body["reason"]


def test_a_model_without_a_corumination_head_says_so(client):
    # the plain tiny bundle was trained with no corumination labels
    response = client.post("/v1/threads/score", json={"posts": THREAD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["score"] is None and "no corumination head" in body["reason"]
    assert body["threshold"] is None and body["flagged"] is False
    assert [r["corumination"] for r in body["replies"]] == [None, None, None]
    assert all(r["negative_affect"] is not None for r in body["replies"])


def test_a_long_thread_within_the_limit_is_scored(thread_client):
    response = thread_client.post("/v1/threads/score", json={"posts": posts(150)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["posts"] == 150 and len(body["replies"]) == 149
    assert body["score"] is not None and len(body["drivers"]) == 3
    # every post has the same words, so each repeats the one before in full
    assert all(r["repetition"] == pytest.approx(1.0) for r in body["replies"])


def test_too_many_posts_is_refused(thread_client):
    error = assert_error_shape(
        thread_client.post("/v1/threads/score", json={"posts": posts(161)}), 422, "posts"
    )
    assert "160" in error["details"][0]["expected"] and error["details"][0]["found"] == "161 posts"


@pytest.mark.parametrize(
    "links, field, found",
    [
        ({"p3": "nope"}, "posts[3].parent_id", "no post of this thread"),
        ({"p2": "p4"}, "posts[2].parent_id", "later post, posts[4]"),
        ({"p3": "p3"}, "posts[3].parent_id", "own id"),
        ({"p0": "p1"}, "posts[0].parent_id", "a parent id"),
    ],
)
def test_broken_and_forward_links_name_the_field(thread_client, links, field, found):
    response = thread_client.post("/v1/threads/score", json={"posts": posts(5, **links)})
    error = assert_error_shape(response, 422, field)
    assert error["code"] == "invalid_thread"
    detail = next(d for d in error["details"] if d["field"] == field)
    assert found in detail["found"]
    assert field in error["message"]


def test_duplicate_ids_are_refused(thread_client):
    thread = posts(4)
    thread[2]["id"] = "p0"
    error = assert_error_shape(
        thread_client.post("/v1/threads/score", json={"posts": thread}), 422, "posts[2].id"
    )
    assert "posts[0]" in error["details"][0]["found"]


def test_text_limits(thread_client):
    thread = posts(3)
    thread[1]["text"] = "   "
    thread[2]["text"] = "x" * 501  # the test settings allow 500 characters
    error = assert_error_shape(
        thread_client.post("/v1/threads/score", json={"posts": thread}), 422, "posts[1].text"
    )
    assert "posts[2].text" in [d["field"] for d in error["details"]]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"posts": []}, "posts"),
        ({}, "posts"),
        ({"posts": [{"id": "a"}]}, "posts[0].text"),
        ({"posts": [{"id": "a", "text": "hi", "colour": "red"}]}, "posts[0].colour"),
        ({"posts": [{"id": 7, "text": "hi"}]}, "posts[0].id"),
    ],
)
def test_malformed_bodies_get_the_one_error_shape(thread_client, body, field):
    assert_error_shape(thread_client.post("/v1/threads/score", json=body), 422, field)


def test_auth(thread_client, keys):
    body = {"posts": THREAD}
    no_key = thread_client.post("/v1/threads/score", json=body, headers={"Authorization": ""})
    assert_error_shape(no_key, 401, "Authorization")
    moderator = thread_client.post("/v1/threads/score", json=body, headers=bearer(keys["alice"]))
    assert_error_shape(moderator, 403, "role")
    admin = thread_client.post("/v1/threads/score", json=body, headers=bearer(keys["admin"]))
    assert admin.status_code == 200


def test_scores_do_not_depend_on_the_request_around_them(thread_client):
    alone = thread_client.post("/v1/threads/score", json={"posts": THREAD[:2]}).json()
    longer = thread_client.post("/v1/threads/score", json={"posts": THREAD}).json()
    assert alone["replies"][0]["corumination"] == longer["replies"][0]["corumination"]
    assert not math.isnan(alone["score"])
