"""The moderator console at `/`: the ranked queue, an item with its thread and history, the
moderator's actions, and their category opt-outs. Server-rendered; console.js adds keyboard
shortcuts, SLA countdowns and the reveal of blurred text.

Every read and write goes through triage/storage (the same functions as the JSON API), and
nothing here removes or hides a post from the community: the console shows, ranks and records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from triage.domain.labels import LABELS
from triage.domain.resources import ResourcesError, load_resources
from triage.domain.review import EventType, Outcome, ReviewEvent, TransitionError
from triage.domain.text import clean_text
from triage.problems import Detail
from triage.queue import item_context, live, moderators
from triage.queue import store as queue
from triage.queue.assignment import UnknownAssignee, assignable_moderators
from triage.queue.cursor import BadCursor
from triage.service.api import bulk_events
from triage.service.api.rendering import item_out, queue_item_out
from triage.service.api.routes.queue import TIER_FILTERS, build_filter
from triage.service.api.schemas import CleanStr
from triage.service.console import decision_context, team_forms
from triage.service.console.auth import (
    CheckedModerator,
    Moderator,
    ModeratorSession,
    console_secret,
)
from triage.service.console.care import care_note, guidance_for, steered_claim
from triage.service.console.reveal import REVEAL_FIELD, box_ids, reveal_params, revealed_boxes
from triage.service.console.routes import assets as console_assets
from triage.service.console.routes import next_item as console_next
from triage.service.console.routes import signin as console_signin
from triage.service.console.routing import console_router
from triage.service.console.views import STATIC_DIR, render, sensitive_reason
from triage.service.context import context_of
from triage.service.deps import DatabaseDep, SettingsDep
from triage.service.errors import TriageError
from triage.storage import webhooks
from triage.storage.keys import Principal
from triage.storage.tables import MAX_ID

router = console_router()

PAGE_SIZE = 50
STATUSES = (
    ("", "waiting (open and escalated)"),
    ("open", "open"),
    ("escalated", "escalated"),
    ("claimed", "claimed"),
    ("resolved", "resolved"),
)
CONSOLE_EVENTS = (
    "claim",
    "release",
    "resolve",
    "escalate",
    "comment",
    "reopen",
    "relabel",
    "assign",
    "unassign",
)
OUTCOME_TEXT = {
    Outcome.NO_ACTION: "No action needed",
    Outcome.SUPPORTED: "Supported the person",
    Outcome.ESCALATED_TO_CRISIS_TEAM: "Escalated to the crisis team",
    Outcome.CONFIRMED_SPAM: "Confirmed spam",
    Outcome.CONFIRMED_HOSTILE: "Confirmed hostile",
    Outcome.FALSE_POSITIVE: "False positive: the flags were wrong",
}
DONE = {
    "claim": "Claimed: you are working on item {item}.",
    "release": "Released item {item} back to the queue.",
    "resolve": "Resolved item {item}.",
    "escalate": "Escalated item {item}.",
    "comment": "Comment added to item {item}.",
    "reopen": "Reopened item {item}.",
    "relabel": "Your labels for item {item} are recorded.",
    "assign": "Assigned item {item}.",
    "unassign": "Item {item} is no longer assigned.",
    "saved": "Preferences saved.",
    "empty": "Nothing is waiting in your queue.",
}


def _message(done: str | None, item: int | None) -> str | None:
    return DONE[done].format(item=item) if done in DONE else None


def page_context(request: Request, moderator: Moderator, **extra) -> dict:
    """What every console page shows: who is signed in, and their recent high-risk exposure."""
    service = context_of(request)
    settings, now = service.settings, datetime.now(UTC)
    with service.database.read() as session:
        handled = moderators.high_risk_handled(session, moderator.name, now)
        live_position = live.current_position(session, now)  # console.js asks for changes
    return {
        "moderator": moderator,
        "csrf": moderator.csrf,
        "high_risk_handled": handled,
        "nudge_after": settings.break_nudge_after,
        "nudge": handled >= settings.break_nudge_after,
        "live": live_position,
        **extra,
    }


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@router.get("/")
def queue_page(
    request: Request,
    moderator: ModeratorSession,
    db: DatabaseDep,
    settings: SettingsDep,
    community: CleanStr | None = None,
    tier: str | None = None,
    label: str | None = None,
    status: str | None = None,
    reported: str | None = None,
    view: str | None = None,
    q: CleanStr | None = None,
    search_in: str | None = None,
    cursor: str | None = None,
    show_all: bool = False,
    done: str | None = None,
    item: int | None = None,
) -> Response:
    filters = page_filters(community, tier, label, status, reported, view, q, search_in)
    with db.read() as session:
        opted_out = moderators.opt_outs(session, moderator.name)
    page = _queue_page(
        request, filters, [] if show_all else list(opted_out), cursor, moderator.name
    )
    rules = settings.tier_rules
    context = page_context(
        request,
        moderator,
        items=[queue_item_out(row, rules) for row in page.items],
        first_page=not cursor,
        first_url=_queue_url(filters, show_all),
        next_url=_queue_url(filters, show_all, page.next_cursor) if page.next_cursor else None,
        filters={key: value or "" for key, value in filters.items()},
        show_all=show_all,
        opted_out=opted_out,
        tiers=TIER_FILTERS,
        labels=LABELS,
        statuses=STATUSES,
        views=team_forms.QUEUE_VIEWS,
        view_urls={
            value: _queue_url({**filters, "view": value or None}, show_all)
            for value, _ in team_forms.QUEUE_VIEWS
        },
        search_in_choices=team_forms.SEARCH_IN,
        bulk_actions=team_forms.BULK_ACTIONS,
        now=datetime.now(UTC),
        message=_message(done, item),
    )
    return render(request, "queue.html", context)


def _queue_page(
    request: Request,
    filters: dict,
    exclude: list[str],
    cursor: str | None,
    moderator: str | None = None,
) -> queue.QueuePage:
    """queue.list_queue with the API's own filter checks, and a 422 for a stale page link."""
    where = queue_filter(filters, exclude, moderator)
    try:
        with context_of(request).database.read() as session:
            return queue.list_queue(session, where, PAGE_SIZE, _blank_to_none(cursor))
    except BadCursor:
        raise TriageError(
            422,
            "invalid_request",
            "that page link is no longer valid",
            [Detail("cursor", "the next-page link of an earlier page", "an unreadable cursor")],
        ) from None


def page_filters(
    community: str | None,
    tier: str | None,
    label: str | None,
    status: str | None,
    reported: str | None,
    view: str | None,
    q: str | None,
    search_in: str | None,
) -> dict:
    """The queue page's query parameters, blanks as None; its live updates read the same."""
    return {
        "community": _blank_to_none(community),
        "tier": _blank_to_none(tier),
        "label": _blank_to_none(label),
        "status": _blank_to_none(status),
        "reported": "true" if _blank_to_none(reported) == "true" else None,
        "view": _blank_to_none(view),
        "q": _blank_to_none(q),
        "search_in": _blank_to_none(search_in),
    }


def queue_filter(
    filters: dict, exclude: list[str], moderator: str | None = None
) -> queue.QueueFilter:
    """The queue page's filters (and opt-outs) checked as the API checks them; the queue page
    and its live updates (routes/live.py) share it. `moderator`: whose the Mine view is."""
    statuses = [filters["status"]] if filters["status"] else None
    assigned, assignee = team_forms.view_filter(filters.get("view"), moderator or "")
    team_forms.check_search(filters.get("q"))
    return build_filter(
        filters["community"],
        filters["tier"],
        filters["label"],
        statuses,
        exclude,
        reported=True if filters.get("reported") else None,
        assigned=assigned,
        assignee=assignee,
        search=filters.get("q"),
        search_in=team_forms.search_fields(filters.get("search_in")),
    )


def _queue_url(filters: dict, show_all: bool, cursor: str | None = None) -> str:
    params = {key: value for key, value in filters.items() if value}
    if show_all:
        params["show_all"] = "1"
    if cursor:
        params["cursor"] = cursor
    return "/?" + urlencode(params) if params else "/"


def _resources(request: Request, community: str):
    settings = context_of(request).settings
    locale = settings.community_locales.get(community, settings.locale)
    try:
        return load_resources(settings.config_dir, locale), None
    except ResourcesError as error:
        return None, str(error)


def _not_found(item_id: int) -> TriageError:
    return TriageError(
        404,
        "item_not_found",
        f"no item {item_id}",
        [Detail("item_id", "the id of a stored item", str(item_id))],
    )


def _check_item_id(item_id: int) -> None:
    """404 for an id no stored item can have: past items.id's integer range the database
    would fail on it (OverflowError, DataError) rather than find nothing."""
    if not 1 <= item_id <= MAX_ID:
        raise _not_found(item_id)


@router.get("/items/{item_id}")
def item_page(
    request: Request,
    item_id: int,
    moderator: ModeratorSession,
    db: DatabaseDep,
    settings: SettingsDep,
    done: str | None = None,
    revealed: str | None = None,
    reveal_sig: str | None = None,
    steered_from: int | None = None,
    override_limit: bool = False,
) -> Response:
    _check_item_id(item_id)
    rules = settings.tier_rules
    with db.read() as session:
        try:
            row = queue.get_item(session, item_id)
        except queue.ItemNotFound:
            raise _not_found(item_id) from None
        # the thread nearest the item (its parent and replies included), not its oldest posts
        thread = item_context.thread_around(session, row)
        view = item_out(row, queue.history(session, item_id), thread.items, rules)
        decision = decision_context.build(session, row, thread, view.events, datetime.now(UTC))
        alerts = webhooks.item_deliveries(session, item_id)
        assignees = assignable_moderators(session)
    resources, resources_error = _resources(request, view.community)
    secret, session_id = console_secret(request), moderator.session.session_id
    context = page_context(
        request,
        moderator,
        item=view,
        revealed_ids=revealed_boxes(secret, session_id, item_id, revealed, reveal_sig),
        guidance=guidance_for(request, view.tier, view.flags),
        care_note=care_note(request, moderator, steered_from),
        override_limit=override_limit,
        decision=decision,
        alerts=alerts,
        assignees=assignees,
        relabel_labels=team_forms.relabel_labels(view.parent_id is not None),
        relabel_checked=team_forms.relabel_checked(view.flags, row.relabels),
        parent_reason=_parent_reason(view),
        outcomes=OUTCOME_TEXT,
        resources=resources,
        resources_error=resources_error,
        now=datetime.now(UTC),
        message=_message(done, item_id),
    )
    return render(request, "item.html", context)


def _parent_reason(view) -> str | None:
    """The parent's text is shown plainly only when its own stored item is known to be safe."""
    for other in view.thread:
        if view.parent_id is not None and other.id == view.parent_id:
            return sensitive_reason(other.tier, other.flags)
    return "the post this replies to was not scored here: it may hold self-harm content"


def _event_from_form(form, actor: Principal) -> ReviewEvent:
    kind = str(form.get("type") or "")
    if kind not in CONSOLE_EVENTS:
        raise TriageError(
            422,
            "invalid_event",
            "unknown action",
            [Detail("type", f"one of {', '.join(CONSOLE_EVENTS)}", repr(kind[:40]))],
        )
    outcome = str(form.get("outcome") or "") or None
    if outcome is not None and outcome not in {o.value for o in Outcome}:
        raise TriageError(
            422,
            "invalid_event",
            "unknown outcome",
            [
                Detail(
                    "outcome", f"one of {', '.join(o.value for o in Outcome)}", repr(outcome[:40])
                )
            ],
        )
    note = clean_text(str(form.get("note") or ""))[0].strip()[:4000] or None
    labels = team_forms.labels_from_form(form) if kind == EventType.RELABEL else None
    assignee = team_forms.assignee_from_form(form) if kind == EventType.ASSIGN else None
    try:
        return ReviewEvent(
            EventType(kind),
            actor.name,
            Outcome(outcome) if outcome else None,
            labels,
            note,
            actor_key_id=actor.key_id,
            assignee=assignee,
        )
    except ValueError as error:
        raise TriageError(
            422,
            "invalid_event",
            str(error),
            [
                Detail(
                    "outcome" if kind == "resolve" else "type",
                    "an outcome for a resolve",
                    str(error),
                )
            ],
        ) from None


@router.post("/items/{item_id}/events")
async def post_event(
    request: Request, item_id: int, moderator: CheckedModerator, db: DatabaseDep
) -> Response:
    _check_item_id(item_id)
    form = await request.form()
    event = _event_from_form(form, moderator.principal)
    if event.type is EventType.CLAIM:
        lighter = steered_claim(request, moderator, item_id, form)
        if lighter is not None:
            return RedirectResponse(lighter, status_code=303)
    try:
        with db.write() as session:
            queue.append_event(session, item_id, event, datetime.now(UTC))
    except queue.ItemNotFound:
        raise _not_found(item_id) from None
    except TransitionError as error:
        raise TriageError(
            409, "conflict", str(error), [Detail("state", error.expected, error.found)]
        ) from None
    except UnknownAssignee as error:
        raise bulk_events.unknown_assignee(error) from None
    kind = event.type.value
    if event.type in (EventType.RESOLVE, EventType.ESCALATE):
        return RedirectResponse(f"/?done={kind}&item={item_id}", status_code=303)
    kept = reveal_params(
        console_secret(request),
        moderator.session.session_id,
        item_id,
        box_ids(form.get(REVEAL_FIELD)),
    )
    query = urlencode({"done": kind, **kept})
    return RedirectResponse(f"/items/{item_id}?{query}", status_code=303)


@router.get("/preferences")
def preferences_page(
    request: Request, moderator: ModeratorSession, db: DatabaseDep, done: str | None = None
):
    with db.read() as session:
        opted_out = moderators.opt_outs(session, moderator.name)
    context = page_context(
        request, moderator, labels=LABELS, opted_out=opted_out, message=_message(done, None)
    )
    return render(request, "preferences.html", context)


@router.post("/preferences")
async def save_preferences(
    request: Request, moderator: CheckedModerator, db: DatabaseDep
) -> Response:
    chosen = [str(value) for value in (await request.form()).getlist("opt_out")]
    unknown = [value for value in chosen if value not in LABELS]
    if unknown:
        raise TriageError(
            422,
            "invalid_request",
            "unknown category",
            [Detail("opt_out", f"some of {', '.join(LABELS)}", repr(unknown[0][:40]))],
        )
    with db.write() as session:
        moderators.set_opt_outs(session, moderator.name, chosen, datetime.now(UTC))
    return RedirectResponse("/preferences?done=saved", status_code=303)


def install(app: FastAPI) -> None:
    """Mount the console on the app: its pages and static files (routing.py renders their
    errors as pages)."""
    app.include_router(console_signin.router)
    app.include_router(router)
    app.include_router(console_next.router)
    app.include_router(console_assets.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
