"""Request and response bodies of the scoring API (DESIGN.md, "Scoring API")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    model_validator,
)

from triage.domain.labels import TIERS
from triage.domain.text import clean_text


def _repaired(value: object) -> object:
    return clean_text(value)[0] if isinstance(value, str) else value


# a query parameter or form value under the boundary rule of TextRequest
CleanStr = Annotated[str, BeforeValidator(_repaired)]


class TextRequest(BaseModel):
    """A request body under the one boundary rule for text (triage.domain.text.clean_text): in every
    string field, and in field names, NUL and lone surrogates become U+FFFD before validation,
    so such a post is stored and scored, never refused and never a 500. `text_repairs` says
    what was repaired, field by field (["text: 1 NUL replaced"])."""

    _text_repairs: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _repair_text(cls, data: Any, handler: ModelWrapValidatorHandler) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        repaired: dict[object, Any] = {}  # keys as posted, not necessarily strings
        repairs: list[str] = []
        for name, value in data.items():
            name = _repaired(name)
            if isinstance(value, str):
                value, found = clean_text(value)
                repairs.extend(f"{name}: {repair}" for repair in found)
            repaired[name] = value
        model = handler(repaired)
        model._text_repairs = repairs
        return model

    @property
    def text_repairs(self) -> list[str]:
        return list(self._text_repairs)


class ScoreItemIn(TextRequest):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(min_length=1, max_length=200, description="the platform's id for this post")
    text: str = Field(description="the post or reply text (not empty)")
    parent_text: str | None = Field(None, description="for a reply: the post it answers")
    thread_id: str | None = Field(None, max_length=200)
    author_id: str | None = Field(None, max_length=200)
    community: str | None = Field(None, max_length=200)


class ScoreRequest(TextRequest):
    model_config = ConfigDict(extra="forbid", strict=True)

    items: list[ScoreItemIn] = Field(min_length=1)


class ModelInfo(BaseModel):
    name: str
    version: str


class EvidenceOut(BaseModel):
    label: str = Field(description="a flagged label, or the tier (crisis, red) it supports")
    start: int = Field(description="character offset into text, inclusive")
    end: int = Field(description="character offset into text, exclusive")


class ScoreResultOut(BaseModel):
    id: str
    scores: dict[str, float | None] = Field(
        description="calibrated probability per label; null where this model has no trained head"
    )
    flags: list[str] = Field(description="labels at or over their threshold")
    tier: str = Field(description=f"self-harm risk tier: one of {', '.join(TIERS)}")
    priority: int = Field(ge=0, le=100)
    reasons: list[str] = Field(description="why this priority, for the moderator")
    evidence: list[EvidenceOut]
    tier_scores: dict[str, float] | None = Field(
        None,
        description="calibrated P(tier >= amber / red / crisis) from the ordinal tier head; "
        "null for a bundle without one (tiers then come from configs/tiers.yaml rules)",
    )
    language: str = Field(
        "und",
        description="ISO 639-1 code of the post's language; und when too short or unclear to "
        "tell (such posts count as readable)",
    )
    language_unsupported: bool = Field(
        False,
        description="the post is in a language the model does not read: its scores are "
        "unreliable, so its tier is at least amber and a reason says why",
    )
    self_harm_floor: bool = Field(
        False,
        description="self_harm is flagged but the tier model (or rules) said green: the tier "
        "was raised to amber, as a flagged post is never shown green",
    )


class ScoreResponse(BaseModel):
    model: ModelInfo
    results: list[ScoreResultOut]


class ScoringFaultsOut(BaseModel):
    message: str = Field(description="e.g. '3 scoring failures in the last 5 minutes (...)'")
    failures: int = Field(ge=1, description="scoring attempts that failed within the window")
    items: int = Field(ge=0, description="items those attempts queued unscored for a person")
    window_minutes: float
    last_error: str = Field(
        description="kind of the last fault: TimeoutError, ModelNotLoaded or the scorer's "
        "exception type (never its message)"
    )
    last_failure_at: datetime
    last_success_at: datetime | None


class Health(BaseModel):
    status: str
    model: ModelInfo | None = Field(None, description="the loaded model; null while none is loaded")


class Readiness(Health):
    status: str = Field(description="ready, or degraded when scoring failed recently")
    faults: ScoringFaultsOut | None = Field(
        None, description="recent scoring faults (null when none): their items wait unscored"
    )
