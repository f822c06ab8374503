"""The console's bulk bar: one action (resolve as spam, release, escalate) on the items ticked
in the queue, recorded as one event per item with the signed-in moderator as its actor, each
in its own transaction (service/api/bulk_events.py). The answer is a page listing each item's
result, so an item that refused (claimed by someone else, already resolved) is named with why,
and the others are still done."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from triage.domain.review import ReviewEvent
from triage.domain.text import clean_text
from triage.service.api import bulk_events
from triage.service.api.bulk_schemas import BULK_MAX_ITEMS
from triage.service.console import team_forms
from triage.service.console.auth import CheckedModerator
from triage.service.console.routes.pages import page_context
from triage.service.console.routing import console_router
from triage.service.console.views import render
from triage.service.deps import DatabaseDep

router = console_router()


@router.post("/queue/bulk")
async def post_bulk(request: Request, moderator: CheckedModerator, db: DatabaseDep) -> Response:
    form = await request.form()
    action = team_forms.bulk_action(form)
    item_ids = team_forms.bulk_item_ids(form, BULK_MAX_ITEMS)
    note = clean_text(str(form.get("note") or ""))[0].strip()[:4000] or None
    event = ReviewEvent(
        action.event,
        moderator.name,
        action.outcome,
        note=note,
        actor_key_id=moderator.principal.key_id,
    )
    outcomes = bulk_events.append_to_each(db, item_ids, event)
    applied = sum(outcome.applied for outcome in outcomes)
    message = f"{action.button}: {applied} of {len(outcomes)} items done."
    context = page_context(
        request, moderator, action=action, outcomes=outcomes, applied=applied, message=message
    )
    return render(request, "bulk.html", context)
