"""GET /next: open the top item of the moderator's queue (their opt-outs left out), or, when
the high-risk limit steers them (triage/domain/high_risk_limit.py), the next item that is not
high-risk,
with a note on its page. It only opens a page: nothing is claimed, and the item it passes over
stays at the top of the shared queue."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse

from triage.queue import moderators, team_load
from triage.service.console.auth import ModeratorSession
from triage.service.console.care import steer_for
from triage.service.console.routing import console_router
from triage.service.deps import DatabaseDep

router = console_router()


@router.get("/next")
def next_item(request: Request, moderator: ModeratorSession, db: DatabaseDep) -> RedirectResponse:
    with db.read() as session:
        opted_out = moderators.opt_outs(session, moderator.name)
        top = team_load.next_waiting_item(session, opted_out)
        top_id, top_tier = (top.id, top.tier) if top else (None, None)
    if top_id is None:
        return RedirectResponse("/?done=empty", status_code=303)
    steer = steer_for(request, moderator, top_tier)
    if steer is not None:
        return RedirectResponse(f"/items/{steer.to_item}?steered_from={top_id}", status_code=303)
    return RedirectResponse(f"/items/{top_id}", status_code=303)
