"""Thread-level corumination: per-reply pair scores combined with thread signals (issue 7).

A thread is its posts in order; every post after the first is a reply. Each reply's **pair
score** is the model's calibrated corumination probability for (reply, the post it answers).
The **thread score** is a fixed formula, not a fitted one:

    pair_level = max over replies of the pair score
    context    = mean of the thread signals that are known, each in [0, 1]:
                 repetition      mean over replies of the highest word-overlap cosine with an
                                 earlier turn (going over the same ground again)
                 negative_affect clip(level + trend): level = mean over all turns of
                                 max(distress, self_harm); trend = later half minus earlier half
                                 (affect that persists or grows)
                 coping_absence  1 - share of the replies from the top reply onwards that have a
                                 coping / problem-solving / signposting cue (no later redirect)
    score      = pair_level * (CONTEXT_FLOOR + (1 - CONTEXT_FLOOR) * context)

Why this shape, and why it is not fitted:
- The annotated thread labels (docs/annotation/corumination.md, section 3) make a thread
  positive as soon as one reply coruminates, and `strong` when dwelling goes on over several
  replies, negativity persists or grows, and no later reply redirects. So the pair evidence
  enters as a maximum, and the three literature signals separate `strong` from `some`.
- The pair head is the only part learnt from annotations (957 pairs). The signals are unvalidated
  proxies, so they may only discount the pair evidence (at most by half, CONTEXT_FLOOR), never
  create corumination no reply shows: a thread is never scored above its top reply.
- The annotated training threads hold 2 positives out of 109 (dev 4 of 40, test 4 of 50): too
  few to fit even three weights. Fitting on them would only learn noise, so the weights are
  fixed (equal) and the formula is evaluated, not tuned
  (triage/training/evaluation/corumination_eval.py).

Serving code: the standard library plus the scorer it is handed (no training libraries).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from triage.domain.labels import CORUMINATION, LABELS
from triage.scoring.thread_signals import affect_trend, has_coping_cue, negative_affect, repetition

CONTEXT_FLOOR = 0.5  # the thread signals can at most halve the pair evidence
MAX_DRIVERS = 3


@dataclass(frozen=True)
class Turn:
    """One post of a thread with the model's calibrated scores for it (a reply is scored with
    the post it answers)."""

    id: str
    text: str
    scores: Mapping[str, float | None]
    is_reply: bool
    parent_id: str | None = None


@dataclass(frozen=True)
class ReplySignals:
    index: int  # position in the thread, 0 = the opening post
    id: str
    parent_id: str | None
    pair_score: float | None  # the model's corumination probability for (reply, parent)
    repetition: float  # highest similarity to an earlier turn
    repeats_index: int | None  # that earlier turn
    negative_affect: float | None
    coping_cue: bool
    contribution: float | None  # pair score discounted by this reply's own signals


@dataclass(frozen=True)
class ThreadSignals:
    pair_level: float
    repetition: float
    affect_level: float | None
    affect_trend: float | None
    negative_affect: float | None
    coping_absence: float
    context: float


@dataclass(frozen=True)
class Driver:
    """A reply that drives the thread score, and why."""

    index: int
    id: str
    contribution: float
    pair_score: float
    repetition: float
    repeats_index: int | None
    negative_affect: float | None
    coping_cue: bool

    @property
    def why(self) -> str:
        parts = [f"pair score {self.pair_score:.2f}"]
        if self.repeats_index is not None and self.repetition > 0:
            parts.append(f"repeats turn {self.repeats_index + 1} ({self.repetition:.2f})")
        if self.negative_affect is not None:
            parts.append(f"negative affect {self.negative_affect:.2f}")
        parts.append("coping cue" if self.coping_cue else "no coping cue")
        return "; ".join(parts)


@dataclass(frozen=True)
class ThreadScore:
    score: float | None  # None: see `reason`
    reason: str | None
    signals: ThreadSignals | None
    replies: list[ReplySignals] = field(default_factory=list)
    drivers: list[Driver] = field(default_factory=list)

    def driver_turns(self, first_turn: int = 1) -> list[int]:
        """The drivers' turn numbers, counting the first post as `first_turn`."""
        return sorted(first_turn + d.index for d in self.drivers)

    def turns_label(self, first_turn: int = 1) -> str:
        """`turns 3, 5` (the opening post is turn 1) for a moderator's reason line."""
        turns = self.driver_turns(first_turn)
        return ("turn " if len(turns) == 1 else "turns ") + ", ".join(map(str, turns))


NO_REPLY = "a thread of one post has no replies to score"
NO_PAIR_SCORE = "no reply has a corumination score (the model has no corumination head)"


def score_thread(turns: Sequence[Turn]) -> ThreadScore:
    """The thread score, its signals, each reply's signals and the replies that drive it."""
    replies = _reply_signals(turns)
    if not replies:
        return ThreadScore(None, NO_REPLY, None)
    scored = [r for r in replies if r.pair_score is not None]
    if not scored:
        return ThreadScore(None, NO_PAIR_SCORE, None, replies)
    signals = _thread_signals(turns, replies, scored)
    score = signals.pair_level * _discount(signals.context)
    return ThreadScore(round(score, 4), None, signals, replies, _drivers(scored))


def _discount(context: float) -> float:
    return CONTEXT_FLOOR + (1.0 - CONTEXT_FLOOR) * context


def _reply_signals(turns: Sequence[Turn]) -> list[ReplySignals]:
    repeats = repetition([turn.text for turn in turns])
    found = []
    for index, turn in enumerate(turns):
        if not turn.is_reply:
            continue
        pair = _known(turn.scores.get(CORUMINATION))
        affect = negative_affect(turn.scores)
        coping = has_coping_cue(turn.text)
        similarity, where = repeats[index]
        own = [similarity, 1.0 - coping, *([affect] if affect is not None else [])]
        contribution = None if pair is None else round(pair * _discount(_mean(own)), 4)
        found.append(
            ReplySignals(
                index=index,
                id=turn.id,
                parent_id=turn.parent_id,
                pair_score=pair,
                repetition=round(similarity, 4),
                repeats_index=where,
                negative_affect=None if affect is None else round(affect, 4),
                coping_cue=coping,
                contribution=contribution,
            )
        )
    return found


def _thread_signals(
    turns: Sequence[Turn], replies: list[ReplySignals], scored: list[ReplySignals]
) -> ThreadSignals:
    top = max(scored, key=lambda r: (r.pair_score, -r.index))
    assert top.pair_score is not None  # `scored` holds only replies with a pair score
    affects = [a for a in (negative_affect(t.scores) for t in turns) if a is not None]
    level = _mean(affects) if affects else None
    trend = affect_trend(affects) if affects else None
    affect = None if level is None or trend is None else min(max(level + trend, 0.0), 1.0)
    later = [r for r in replies if r.index >= top.index]
    coping_absence = 1.0 - sum(r.coping_cue for r in later) / len(later)
    repeated = _mean([r.repetition for r in replies])
    context = _mean([repeated, coping_absence, *([affect] if affect is not None else [])])
    return ThreadSignals(
        pair_level=top.pair_score,
        repetition=round(repeated, 4),
        affect_level=None if level is None else round(level, 4),
        affect_trend=None if trend is None else round(trend, 4),
        negative_affect=None if affect is None else round(affect, 4),
        coping_absence=round(coping_absence, 4),
        context=round(context, 4),
    )


def _drivers(scored: list[ReplySignals]) -> list[Driver]:
    ranked = sorted(scored, key=lambda r: (-(r.contribution or 0.0), r.index))[:MAX_DRIVERS]
    return [
        Driver(
            index=r.index,
            id=r.id,
            contribution=r.contribution or 0.0,
            pair_score=r.pair_score or 0.0,
            repetition=r.repetition,
            repeats_index=r.repeats_index,
            negative_affect=r.negative_affect,
            coping_cue=r.coping_cue,
        )
        for r in ranked
    ]


def _known(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


# --- scoring a thread with the model ---------------------------------------------------------
class ProbabilityScorer(Protocol):
    """What score_posts needs of OnnxScorer (a fake in tests)."""

    def probabilities(self, texts: Sequence[str], parents: Sequence[str | None]): ...


@dataclass(frozen=True)
class Post:
    id: str
    text: str
    parent_id: str | None = None


def score_posts(scorer: ProbabilityScorer, posts: Sequence[Post]) -> list[Turn]:
    """One model call per post: the opening post alone, each reply with the post it answers
    (its parent_id, or the opening post when it names none). Links must already be valid."""
    by_id = {post.id: post for post in posts}
    parents = [None] + [
        by_id[post.parent_id].text if post.parent_id else posts[0].text for post in posts[1:]
    ]
    probabilities = scorer.probabilities([post.text for post in posts], parents)
    turns = []
    for index, (post, row) in enumerate(zip(posts, probabilities, strict=True)):
        scores = {label: _known(float(p)) for label, p in zip(LABELS, row, strict=True)}
        parent_id = post.parent_id or (posts[0].id if index else None)
        turns.append(Turn(post.id, post.text, scores, is_reply=index > 0, parent_id=parent_id))
    return turns
