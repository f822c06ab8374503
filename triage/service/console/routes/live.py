"""GET /console/live: what changed in the queue since a console page last asked.

console.js polls it every few seconds (not while the tab is hidden) with the cursor the page
was rendered with (`data-live-cursor`), updates the queue's rows, and announces a new crisis or
red item. Signed-in moderators only (the console's session cookie, as every console page).

The answer holds ids, tiers, states, names and priorities: never an item's text, so nothing a
page keeps blurred can arrive here in the clear. The queue page's own parameters (filters, view,
search; the moderator's opt-outs unless "Show them anyway") decide `in_view`, through the same
console.queue_filter as the page: a filter added to the page is added here too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from triage.queue import live, moderators
from triage.service.api.rendering import queue_item_out
from triage.service.api.schemas import CleanStr
from triage.service.console.auth import ModeratorSession
from triage.service.console.routes.pages import page_filters, queue_filter
from triage.service.console.routing import console_router
from triage.service.deps import DatabaseDep, SettingsDep
from triage.storage.tables import MAX_ID

router = console_router()


class LiveItemOut(BaseModel):
    item_id: int
    id: str = Field(description="the platform's id")
    community: str
    tier: str | None = Field(description="null while unscored")
    flags: list[str]
    priority: int
    state: str
    claimed_by: str | None
    claimed_by_you: bool
    outcome: str | None
    reports: int
    sla_due_at: datetime | None
    in_view: bool = Field(description="the page's filters let it through: a reload would list it")
    alert: int | None = Field(
        description="the id of an event after `since` that scored it crisis or red"
    )


class LiveOut(BaseModel):
    cursor: int = Field(description="send back as `since`")
    more: bool = Field(description="more changes are waiting: ask again now")
    changes: list[LiveItemOut]


@router.get("/console/live", response_model=LiveOut)
def live_changes(
    moderator: ModeratorSession,
    db: DatabaseDep,
    settings: SettingsDep,
    since: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    community: CleanStr | None = None,
    tier: str | None = None,
    label: str | None = None,
    status: str | None = None,
    reported: str | None = None,
    view: str | None = None,
    q: CleanStr | None = None,
    search_in: str | None = None,
    show_all: bool = False,
) -> JSONResponse:
    filters = page_filters(community, tier, label, status, reported, view, q, search_in)
    rules = settings.tier_rules
    with db.read() as session:
        opted_out = [] if show_all else list(moderators.opt_outs(session, moderator.name))
        where = queue_filter(filters, opted_out, moderator.name)
        found = live.changes_since(session, since, where, datetime.now(UTC))
        changes = [_change_out(change, rules, moderator.name) for change in found.changes]
    body = LiveOut(cursor=found.cursor, more=found.more, changes=changes)
    # the page polls: no cache may keep (or serve another moderator) an answer
    return JSONResponse(body.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


def _change_out(change: live.Change, rules, me: str) -> LiveItemOut:
    shown = queue_item_out(change.item, rules)  # the queue's own wording of tier and SLA
    return LiveItemOut(
        item_id=shown.item_id,
        id=shown.id,
        community=shown.community,
        tier=shown.tier,
        flags=shown.flags,
        priority=shown.priority,
        state=shown.state,
        claimed_by=shown.claimed_by,
        claimed_by_you=shown.claimed_by == me,
        outcome=shown.outcome,
        reports=shown.reports.count,
        sla_due_at=shown.sla_due_at,
        in_view=change.in_view,
        alert=change.alert,
    )
