"""Request and response bodies of the queue API (DESIGN.md, "Queue")."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from triage.domain.review import SYSTEM_EVENTS, ModeratorEventType, Outcome
from triage.service.api.post_links import PostUrl
from triage.service.api.schemas import EvidenceOut, ScoreItemIn, TextRequest

DEFAULT_COMMUNITY = "default"


URL_DESCRIPTION = (
    "the post's page on the platform (http or https only, at most 2000 characters): the "
    "console links to it"
)


class IngestItemIn(ScoreItemIn):
    parent_id: str | None = Field(
        None, max_length=200, description="for a reply: the platform's id of the post it answers"
    )
    url: PostUrl | None = Field(None, description=URL_DESCRIPTION)


class IngestRequest(TextRequest):
    model_config = ConfigDict(extra="forbid", strict=True)

    items: list[IngestItemIn] = Field(min_length=1)


class IngestResultOut(BaseModel):
    item_id: int = Field(description="triage's id for the item (GET /v1/items/{item_id})")
    id: str = Field(description="the platform's id, as sent")
    community: str
    created: bool = Field(description="false when this community + id was already stored")
    text_repairs: list[str] = Field(
        default_factory=list,
        description="what the boundary rule repaired in the text fields as sent, e.g. "
        "['text: 1 NUL replaced', 'parent_text: 1 lone surrogate replaced'] (each such "
        "character became U+FFFD); empty when the text arrived intact",
    )
    scoring: str = Field(description="scored, or unscored (queued for a person; retried later)")
    tier: str | None
    priority: int
    flags: list[str]
    scores: dict[str, float | None] | None
    language: str | None = Field(
        None, description="ISO 639-1 code of the post's language, und when unclear; null unscored"
    )
    language_unsupported: bool = Field(
        False, description="a language the model does not read: tier at least amber"
    )


class IngestResponse(BaseModel):
    results: list[IngestResultOut]


class ThreadCoruminationOut(BaseModel):
    score: float | None = Field(description="the thread's corumination score when this reply came")
    flagged: bool = Field(description="score at or over the model's corumination threshold")
    threshold: float | None
    turns: list[int] = Field(description="the driving turns (1 = the thread's oldest stored post)")
    ids: list[str] = Field(description="the platform's ids of those posts")
    posts: int = Field(description="stored posts of the thread that were read")
    reason: str | None = Field(description="why score is null")
    summary: str | None = Field(description="the reason line the queue shows when flagged")


class ReportsOut(BaseModel):
    count: int = Field(0, description="members who reported the item (each counted once)")
    reasons: dict[str, int] = Field(
        default_factory=dict, description="reports per reason (configs/reports.yaml)"
    )
    weight: float = Field(
        0.0,
        description="the reports' summed weight: each reporter's record when they reported, "
        "(upheld + 1) / (upheld + rejected + 2); it buys up to 15 priority points",
    )


class QueueItemOut(BaseModel):
    item_id: int
    id: str
    community: str
    text: str | None = Field(description="null once purged by the retention policy")
    parent_text: str | None
    text_repairs: list[str] = Field(
        default_factory=list,
        description="what the boundary rule repaired in the text fields as sent, e.g. "
        "['text: 1 NUL replaced', 'parent_text: 1 lone surrogate replaced'] (each such "
        "character became U+FFFD); empty when the text arrived intact",
    )
    thread_id: str | None
    parent_id: str | None
    author_id: str | None
    url: str | None = Field(None, description="the post's page on the platform, as sent")
    received_at: datetime
    scoring: str
    tier: str | None
    tier_scores: dict[str, float] | None = Field(
        None, description="P(tier >= amber / red / crisis) when the model has a tier head"
    )
    scores: dict[str, float | None] | None
    flags: list[str]
    evidence: list[EvidenceOut]
    thread_corumination: ThreadCoruminationOut | None = Field(
        None, description="for a reply in a thread: its thread's corumination (POST /v1/items)"
    )
    language: str | None = Field(
        None, description="ISO 639-1 code of the post's language, und when unclear; null unscored"
    )
    language_unsupported: bool = Field(
        False, description="a language the model does not read: tier at least amber, see reasons"
    )
    priority: int
    reasons: list[str]
    reports: ReportsOut = Field(
        default_factory=ReportsOut,
        description="members' reports (POST /v1/reports), apart from the model's flags",
    )
    state: str
    claimed_by: str | None
    assigned_to: str | None = Field(
        None, description="the moderator the item is assigned to (an assign event), if any"
    )
    outcome: str | None
    sla_minutes: float | None
    sla_due_at: datetime | None


class QueuePageOut(BaseModel):
    items: list[QueueItemOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class EventIn(TextRequest):
    model_config = ConfigDict(extra="forbid")

    type: ModeratorEventType = Field(
        description="claim, release, resolve, escalate, comment, relabel, reopen, assign or "
        "unassign"
    )
    outcome: Outcome | None = Field(None, description="required for resolve")
    labels: dict[str, int] | None = Field(None, description="relabel: {label: 0 or 1}")
    note: str | None = Field(None, max_length=4000)
    assignee: str | None = Field(
        None,
        max_length=200,
        description="required for assign: the name of an active moderator (or admin) key",
    )

    @field_validator("type", mode="before")
    @classmethod
    def _not_a_system_event(cls, value: object) -> object:
        """ingested, scored, scoring_failed, text_purged and rescored are triage's own record."""
        if isinstance(value, str) and value in SYSTEM_EVENTS:
            allowed = ", ".join(kind.value for kind in ModeratorEventType)
            raise PydanticCustomError(
                "system_event",
                "a moderator event: one of {allowed} ({found} is a system event, recorded by "
                "triage itself)",
                {"allowed": allowed, "found": value},
            )
        return value


class EventOut(BaseModel):
    id: int
    type: str
    actor: str = Field(description="the API key's name, or triage for system events")
    actor_key_id: int | None = Field(
        None, description="the id of the API key that acted; null for system events"
    )
    actor_kind: str
    created_at: datetime
    outcome: str | None
    labels: dict[str, int] | None
    note: str | None
    model_version: str | None
    scores: dict[str, float | None] | None
    tier: str | None
    priority: int | None
    state_after: str
    reporter_id: str | None = Field(
        None, description="a report event: the member who reported (the platform's id)"
    )
    report_reason: str | None = Field(None, description="a report event: its reason")
    assignee: str | None = Field(None, description="an assign event: who the item is for")


class ThreadItemOut(BaseModel):
    item_id: int
    id: str
    text: str | None
    tier: str | None
    flags: list[str]
    received_at: datetime
    is_this_item: bool


class ItemOut(QueueItemOut):
    model_version: str | None
    scoring_error: str | None
    events: list[EventOut]
    thread: list[ThreadItemOut]


class ReportPostIn(TextRequest):
    """The reported post itself, stored (and scored) as POST /v1/items would if triage does not
    have it yet; its id and community are the report's item_id and community."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(description="the post or reply text (not empty)")
    parent_text: str | None = Field(None, description="for a reply: the post it answers")
    parent_id: str | None = Field(
        None, max_length=200, description="for a reply: the platform's id of the post it answers"
    )
    thread_id: str | None = Field(None, max_length=200)
    author_id: str | None = Field(None, max_length=200)
    url: PostUrl | None = Field(None, description=URL_DESCRIPTION)


class ReportIn(TextRequest):
    model_config = ConfigDict(extra="forbid", strict=True)

    community: str | None = Field(None, max_length=200)
    item_id: str = Field(
        min_length=1, max_length=200, description="the platform's id of the reported post"
    )
    reporter_id: str = Field(
        min_length=1, max_length=200, description="the platform's id of the member who reported"
    )
    reason: str = Field(
        min_length=1, max_length=40, description="one of the reasons in configs/reports.yaml"
    )
    text: str | None = Field(
        None, description="the member's own words (at most text_max_chars of configs/reports.yaml)"
    )
    post: ReportPostIn | None = Field(
        None, description="the post itself, for a post triage may not have yet"
    )


class ReportResultOut(BaseModel):
    item_id: int = Field(description="triage's id for the item (GET /v1/items/{item_id})")
    id: str = Field(description="the platform's id, as sent")
    community: str
    created: bool = Field(
        description="false when this member had already reported this item: not counted twice"
    )
    item_created: bool = Field(description="true when the post came with the report and is new")
    scoring: str = Field(description="scored, or unscored (queued for a person; retried later)")
    tier: str | None
    priority: int
    reports: ReportsOut
    text_repairs: list[str] = Field(
        default_factory=list,
        description="what the boundary rule repaired in the report's and the post's text fields",
    )


class EventResultOut(BaseModel):
    event: EventOut
    item: QueueItemOut


class StatsOut(BaseModel):
    depth: dict[str, int] = Field(description="waiting (not resolved) items per tier")
    sla_breaches_open: dict[str, int] = Field(description="waiting items past their tier's SLA")
    window_hours: float
    handled: int
    median_minutes_to_first_action: float | None
    first_action_within_sla: float | None
    resolved: int
    override_rate: float | None = Field(
        description="share of resolved items where the moderator overruled the model's flags"
    )
