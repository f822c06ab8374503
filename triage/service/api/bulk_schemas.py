"""Bodies of POST /v1/items/bulk-events: one moderator event for each of many items."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from triage.service.api.error_docs import ErrorBodyOut
from triage.service.api.queue_schemas import EventIn, EventOut, QueueItemOut

BULK_MAX_ITEMS = 200  # the largest queue page (Settings.queue_page_max's default)

BulkItemId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class BulkEventIn(EventIn):
    item_ids: list[BulkItemId] = Field(
        min_length=1,
        max_length=BULK_MAX_ITEMS,
        description=f"triage's ids of the items (at most {BULK_MAX_ITEMS}, each once); the "
        "event is appended to each in its own transaction, in this order",
    )

    @field_validator("item_ids")
    @classmethod
    def _each_once(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("each item id at most once")
        return value


class BulkItemResultOut(BaseModel):
    item_id: int
    status: int = Field(
        description="201: the event was appended; 404: no such item; 409: the event does not "
        "apply to the item's state; 422: the event cannot be taken (e.g. an unknown assignee)"
    )
    event: EventOut | None = Field(None, description="the event appended (status 201)")
    item: QueueItemOut | None = Field(None, description="the item after it (status 201)")
    error: ErrorBodyOut | None = Field(None, description="why not, in the one error shape")


class BulkEventResultOut(BaseModel):
    applied: int = Field(description="items the event was appended to")
    refused: int = Field(description="items it was not: see each result's error")
    results: list[BulkItemResultOut] = Field(description="one per item id, in the order sent")
