"""Request and response bodies of POST /v1/threads/score (issue 7; triage/scoring/threads.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from triage.service.api.schemas import ModelInfo, TextRequest


class ThreadPostIn(TextRequest):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(min_length=1, max_length=200, description="the platform's id for this post")
    text: str = Field(description="the post's text (not empty)")
    parent_id: str | None = Field(
        None,
        max_length=200,
        description="the id of an earlier post of this thread that this one answers; null for "
        "the opening post (a later post without one answers the opening post)",
    )


class ThreadScoreRequest(TextRequest):
    model_config = ConfigDict(extra="forbid", strict=True)

    thread_id: str | None = Field(None, max_length=200)
    community: str | None = Field(None, max_length=200)
    posts: list[ThreadPostIn] = Field(
        min_length=1, description="the thread in order: the opening post first"
    )


class ReplyScoreOut(BaseModel):
    index: int = Field(description="position in `posts` (0 is the opening post)")
    id: str
    parent_id: str | None = Field(description="the post it answers")
    corumination: float | None = Field(
        description="pair score: the model's calibrated corumination probability for (reply, "
        "parent); null when the model has no corumination head"
    )
    negative_affect: float | None = Field(description="max(distress, self_harm) for this reply")
    repetition: float = Field(description="highest word-overlap cosine with an earlier post")
    repeats_index: int | None = Field(description="the earlier post it overlaps most")
    coping_cue: bool = Field(
        description="has a coping, problem-solving or signposting cue (a small lexicon)"
    )
    contribution: float | None = Field(
        description="pair score discounted by this reply's own signals (ranks the drivers)"
    )


class ThreadSignalsOut(BaseModel):
    pair_level: float = Field(description="highest pair score of any reply")
    repetition: float = Field(description="mean over replies of their repetition")
    affect_level: float | None = Field(description="mean negative affect over all posts")
    affect_trend: float | None = Field(description="later half minus earlier half")
    negative_affect: float | None = Field(description="level + trend, clipped to 0..1")
    coping_absence: float = Field(
        description="1 - share of replies from the top reply onwards with a coping cue"
    )
    context: float = Field(description="mean of repetition, negative_affect, coping_absence")


class DriverOut(BaseModel):
    index: int
    id: str
    contribution: float
    why: str = Field(description="pair score, repetition, negative affect, coping cue")


class ThreadScoreResponse(BaseModel):
    model: ModelInfo
    thread_id: str | None
    community: str | None
    posts: int
    score: float | None = Field(
        description="pair_level * (0.5 + 0.5 * context); null with a reason for a thread of one "
        "post or a model without a corumination head"
    )
    flagged: bool = Field(description="score at or over the model's corumination threshold")
    threshold: float | None = Field(description="the model's corumination flag threshold")
    reason: str | None = Field(description="why score is null")
    signals: ThreadSignalsOut | None
    drivers: list[DriverOut] = Field(description="the replies that drive the score, most first")
    replies: list[ReplyScoreOut]
