"""GET /v1/queue (ranked, filtered, cursor-paged) and GET /v1/stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from triage.domain.labels import LABELS, TIERS
from triage.domain.review import ReviewState
from triage.problems import Detail
from triage.queue import store as queue
from triage.queue.cursor import BadCursor
from triage.queue.search import MAX_SEARCH_CHARS, Search, SearchField
from triage.queue.stats import queue_stats
from triage.service.api.queue_schemas import QueuePageOut, StatsOut
from triage.service.api.rendering import queue_item_out
from triage.service.api.schemas import CleanStr
from triage.service.deps import DatabaseDep, ModeratorDep, SettingsDep
from triage.service.errors import TriageError

router = APIRouter(prefix="/v1", tags=["queue"])

TIER_FILTERS = (*TIERS, queue.UNSCORED)
SEARCH_FIELDS = tuple(field.value for field in SearchField)


def _check_choice(field: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise TriageError(
            422,
            "invalid_request",
            f"unknown {field}",
            [Detail(field, f"one of {', '.join(choices)}", f"{value!r}")],
        )


def build_filter(
    community: str | None,
    tier: str | None,
    label: str | None,
    status: list[str] | None,
    exclude_label: list[str] | None,
    reported: bool | None = None,
    report_reason: str | None = None,
    report_reasons: tuple[str, ...] = (),
    assigned: bool | None = None,
    assignee: str | None = None,
    search: str | None = None,
    search_in: list[str] | None = None,
) -> queue.QueueFilter:
    """`report_reasons`: the reasons `report_reason` may name (configs/reports.yaml). A search
    without a status looks in every state (a resolved item is found too)."""
    _check_choice("tier", tier, TIER_FILTERS)
    _check_choice("report_reason", report_reason, report_reasons)
    _check_choice("label", label, LABELS)
    for value in exclude_label or []:
        _check_choice("exclude_label", value, LABELS)
    for value in status or []:
        _check_choice("status", value, tuple(s.value for s in ReviewState))
    found = _search(search, search_in)
    if status:
        states = tuple(ReviewState(s) for s in status)
    else:
        states = tuple(ReviewState) if found else queue.DEFAULT_STATES
    return queue.QueueFilter(
        states,
        community,
        tier,
        label,
        tuple(exclude_label or ()),
        reported,
        report_reason,
        assigned,
        assignee,
        found,
    )


def _search(search: str | None, search_in: list[str] | None) -> Search | None:
    for value in search_in or []:
        _check_choice("search_in", value, SEARCH_FIELDS)
    if search is None or not search.strip():
        return None
    if len(search) > MAX_SEARCH_CHARS:
        raise TriageError(
            422,
            "invalid_request",
            "the search is too long",
            [Detail("search", f"at most {MAX_SEARCH_CHARS} characters", f"{len(search)}")],
        )
    fields = frozenset(SearchField(value) for value in search_in or SEARCH_FIELDS)
    return Search(search.strip(), fields)


@router.get("/queue", response_model=QueuePageOut, summary="Waiting items, most urgent first")
def get_queue(
    _caller: ModeratorDep,
    db: DatabaseDep,
    settings: SettingsDep,
    community: Annotated[
        CleanStr | None, Query(description="NUL and lone surrogates become U+FFFD, as in bodies")
    ] = None,
    tier: Annotated[str | None, Query(description=f"one of {', '.join(TIER_FILTERS)}")] = None,
    label: Annotated[str | None, Query(description="only items flagged with this label")] = None,
    status: Annotated[
        list[str] | None, Query(description="repeatable; default: open and escalated")
    ] = None,
    exclude_label: Annotated[
        list[str] | None, Query(description="repeatable: hide items flagged with these labels")
    ] = None,
    reported: Annotated[
        bool | None,
        Query(description="true: only items members reported (POST /v1/reports); false: none"),
    ] = None,
    report_reason: Annotated[
        str | None, Query(description="only items reported for this reason (configs/reports.yaml)")
    ] = None,
    assigned: Annotated[
        bool | None,
        Query(description="true: only items assigned to a moderator; false: only unassigned"),
    ] = None,
    assignee: Annotated[
        CleanStr | None,
        Query(description="only items assigned to this moderator (a key's name, as in events)"),
    ] = None,
    search: Annotated[
        CleanStr | None,
        Query(
            description="items whose id (triage's or the platform's), author id (exact) or "
            "text (case-insensitive, anywhere) matches; every state unless `status` is given"
        ),
    ] = None,
    search_in: Annotated[
        list[str] | None,
        Query(description=f"repeatable: search only these of {', '.join(SEARCH_FIELDS)}"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: str | None = None,
) -> QueuePageOut:
    """Ordered by priority (tier, flags, calibrated score, members' reports and time waited
    against the tier's SLA; see triage/domain/priority.py), then oldest first. Priorities are
    refreshed as items age."""
    where = build_filter(
        community,
        tier,
        label,
        status,
        exclude_label,
        reported,
        report_reason,
        settings.report_rules.reasons,
        assigned,
        assignee,
        search,
        search_in,
    )
    limit = min(limit, settings.queue_page_max)
    try:
        with db.read() as session:
            page = queue.list_queue(session, where, limit, cursor)
    except BadCursor:
        raise TriageError(
            422,
            "invalid_request",
            "the cursor is not one this API gave",
            [Detail("cursor", "the next_cursor of an earlier page", "an unreadable cursor")],
        ) from None
    return QueuePageOut(
        items=[queue_item_out(item, settings.tier_rules) for item in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/stats", response_model=StatsOut, summary="Queue depth, SLA breaches, handling")
def get_stats(_caller: ModeratorDep, db: DatabaseDep, settings: SettingsDep) -> StatsOut:
    window = timedelta(hours=settings.stats_window_hours)
    with db.read() as session:
        stats = queue_stats(session, settings.tier_rules, datetime.now(UTC), window)
    return StatsOut(**stats.__dict__)
