"""POST /v1/threads/score: corumination of a thread, per reply and as a whole (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

from triage.domain.labels import CORUMINATION
from triage.scoring.scorer import OnnxScorer
from triage.scoring.threads import Post, ReplySignals, ThreadScore, score_posts, score_thread
from triage.service.api.schemas import ModelInfo
from triage.service.api.thread_schemas import (
    DriverOut,
    ReplyScoreOut,
    ThreadScoreRequest,
    ThreadScoreResponse,
    ThreadSignalsOut,
)
from triage.service.api.thread_validation import check_thread
from triage.service.deps import PlatformDep, ScorerDep, SettingsDep

router = APIRouter(prefix="/v1/threads", tags=["scoring"])
DECIMALS = 4  # as /v1/score rounds its scores (triage/scoring/decision.py)


@router.post(
    "/score",
    response_model=ThreadScoreResponse,
    summary="Score a thread for corumination, per reply and as a whole",
)
def score_a_thread(
    _caller: PlatformDep, body: ThreadScoreRequest, scorer: ScorerDep, settings: SettingsDep
) -> ThreadScoreResponse:
    """Each reply gets a pair score (the model's corumination probability for the reply with
    the post it answers); the thread gets the highest pair score discounted by three signals
    (repetition across posts, negative affect that persists or grows, no coping cue), and the
    replies that drive it. Nothing is stored. A thread of one post has no reply to score: its
    score is null with a reason."""
    check_thread(body.posts, settings)
    posts = [Post(p.id, p.text, p.parent_id) for p in body.posts]
    result = score_thread(score_posts(scorer, posts))
    threshold = _threshold(scorer)
    reason = result.reason
    if result.score is None and len(posts) > 1 and threshold is None:
        reason = f"the model {scorer.bundle.name} {scorer.bundle.version} has no corumination head"
    return ThreadScoreResponse(
        model=ModelInfo(name=scorer.bundle.name, version=scorer.bundle.version),
        thread_id=body.thread_id,
        community=body.community,
        posts=len(posts),
        score=result.score,
        flagged=result.score is not None and threshold is not None and result.score >= threshold,
        threshold=_rounded(threshold),
        reason=reason,
        signals=_signals(result),
        drivers=[
            DriverOut(index=d.index, id=d.id, contribution=d.contribution, why=d.why)
            for d in result.drivers
        ],
        replies=[_reply(r) for r in result.replies],
    )


def _threshold(scorer: OnnxScorer) -> float | None:
    if CORUMINATION not in scorer.bundle.trained_labels:
        return None
    return scorer.bundle.thresholds.get(CORUMINATION)


def _signals(result: ThreadScore) -> ThreadSignalsOut | None:
    if result.signals is None:
        return None
    signals = {name: _rounded(value) for name, value in vars(result.signals).items()}
    return ThreadSignalsOut(**signals)


def _reply(reply: ReplySignals) -> ReplyScoreOut:
    return ReplyScoreOut(
        index=reply.index,
        id=reply.id,
        parent_id=reply.parent_id,
        corumination=_rounded(reply.pair_score),
        negative_affect=reply.negative_affect,
        repetition=reply.repetition,
        repeats_index=reply.repeats_index,
        coping_cue=reply.coping_cue,
        contribution=reply.contribution,
    )


def _rounded(value: float | None) -> float | None:
    """Every probability and signal of the answer to DECIMALS places (the thread code rounds
    most, not the model's pair scores nor the values derived from them)."""
    return None if value is None else round(value, DECIMALS)
