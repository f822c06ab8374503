"""POST /v1/reports: a member's report of a post, sent by the platform (issue 14, point 1).

A report is a `report` event on the item and counts toward its priority (priority.py
report_points); it never changes the tier or the flags and never removes or hides anything.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from sqlalchemy.orm import Session

from triage.domain.tier_rules import TierRules
from triage.problems import Detail
from triage.queue import store as queue
from triage.service.api.error_docs import error_responses
from triage.service.api.queue_schemas import (
    DEFAULT_COMMUNITY,
    ReportIn,
    ReportPostIn,
    ReportResultOut,
)
from triage.service.api.rendering import reports_out
from triage.service.api.validation import Problem, refusal, text_problems
from triage.service.deps import DatabaseDep, IngestDep, PlatformDep, SettingsDep
from triage.service.errors import TriageError
from triage.settings import Settings
from triage.storage.tables import Item

router = APIRouter(prefix="/v1", tags=["queue"])


@router.post(
    "/reports",
    response_model=ReportResultOut,
    responses=error_responses(404),
    summary="Record a member's report of a post",
)
def post_report(
    caller: PlatformDep,
    body: ReportIn,
    db: DatabaseDep,
    settings: SettingsDep,
    scoring: IngestDep,
) -> ReportResultOut:
    """The post is found by community + item_id; with `post`, a post triage does not have yet is
    stored first and then scored, as POST /v1/items does (an unknown item without `post` is a
    404). A second report by the same member of the same item changes nothing (`created:
    false`). Reasons come from configs/reports.yaml; any other is a 422 listing them."""
    _check_report(body, settings)
    community, now = body.community or DEFAULT_COMMUNITY, datetime.now(UTC)
    report = queue.NewReport(
        body.reporter_id, body.reason, body.text or None, caller.name, caller.key_id
    )

    def record(session: Session) -> tuple[Item, bool, bool]:
        item, item_created = _stored_item(session, body, community, now, settings.tier_rules)
        item, created = queue.add_report(session, item.id, report, settings.tier_rules, now)
        return item, item_created, created

    try:
        item, item_created, created = db.write_retrying(record)
    except queue.ItemNotFound:
        raise _not_found(community, body.item_id) from None
    if body.post is not None and item.scoring_state != "scored":
        scoring.score_stored([item])
    with db.read() as session:
        item = queue.get_item(session, item.id)
    return _result(item, item_created, created, _repairs(body))


def _check_report(body: ReportIn, settings: Settings) -> None:
    """One 422 for an unknown reason, a text over the limit, a blank or long post text."""
    rules, problems = settings.report_rules, []
    if body.reason not in rules.reasons:
        allowed = ", ".join(rules.reasons)
        detail = Detail("reason", f"one of {allowed} (configs/reports.yaml)", repr(body.reason))
        problems.append((detail, f"reason {body.reason!r} is not one of {allowed}"))
    if body.text is not None and len(body.text) > rules.text_max_chars:
        limit = rules.text_max_chars
        detail = Detail("text", f"at most {limit} characters", f"{len(body.text)} characters")
        problems.append((detail, f"text is longer than {limit} characters"))
    if body.post is not None:
        problems.extend(_post_problems(body.post, settings))
    if problems:
        raise refusal(422, "invalid_request", problems)


def _post_problems(post: ReportPostIn, settings: Settings) -> list[Problem]:
    problems = text_problems("post.text", post.text, settings)
    if post.parent_text is not None and len(post.parent_text) > settings.max_text_chars:
        limit = settings.max_text_chars
        detail = Detail(
            "post.parent_text",
            f"at most {limit} characters (TRIAGE_MAX_TEXT_CHARS)",
            f"{len(post.parent_text)} characters",
        )
        problems.append((detail, f"post.parent_text is longer than {limit} characters"))
    return problems


def _stored_item(
    session: Session, body: ReportIn, community: str, now: datetime, rules: TierRules
) -> tuple[Item, bool]:
    """The reported item, stored first when the report carries the post and triage lacks it."""
    if body.post is None:
        return queue.find_item(session, community, body.item_id), False
    post = body.post
    new = queue.NewItem(
        community=community,
        external_id=body.item_id,
        text=post.text,
        parent_external_id=post.parent_id,
        parent_text=post.parent_text,
        thread_id=post.thread_id,
        author_id=post.author_id,
        text_repairs=post.text_repairs or None,
        url=post.url,
    )
    ((item, created),) = queue.ingest(session, [new], now, rules)
    return item, created


def _repairs(body: ReportIn) -> list[str]:
    post = [f"post.{repair}" for repair in body.post.text_repairs] if body.post else []
    return [*body.text_repairs, *post]


def _result(item: Item, item_created: bool, created: bool, repairs: list[str]) -> ReportResultOut:
    scored = item.scoring_state == "scored"
    return ReportResultOut(
        item_id=item.id,
        id=item.external_id,
        community=item.community,
        created=created,
        item_created=item_created,
        scoring="scored" if scored else "unscored",
        tier=item.tier if scored else None,
        priority=item.priority,
        reports=reports_out(item),
        text_repairs=repairs,
    )


def _not_found(community: str, external_id: str) -> TriageError:
    return TriageError(
        404,
        "item_not_found",
        f"no item {external_id!r} in community {community!r}",
        [
            Detail(
                "item_id",
                "the id of a post ingested in this community (POST /v1/items), or the post "
                "itself in `post`",
                external_id,
            )
        ],
    )
