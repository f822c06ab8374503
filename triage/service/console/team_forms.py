"""The console's team-work forms (issue 14, point 5), read into what the queue and the event
log take: the All / Mine / Unassigned views, the search box, the relabel and assign forms of an
item, and the bulk bar's actions. Pure: the routes (routes/pages.py, routes/team.py) do the
reads and writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import FormData

from triage.domain.labels import LABEL_DEFINITIONS, LABELS
from triage.domain.review import EventType, Outcome
from triage.problems import Detail
from triage.queue.search import MAX_SEARCH_CHARS, SearchField
from triage.service.errors import TriageError

# (value, text) of the views above the queue; "" is everyone's items
QUEUE_VIEWS = (("", "All"), ("mine", "Mine"), ("unassigned", "Unassigned"))
SEARCH_IN = (
    ("", "id, author or text"),
    (SearchField.ID.value, "id"),
    (SearchField.AUTHOR.value, "author"),
    (SearchField.TEXT.value, "text"),
)


@dataclass(frozen=True)
class BulkAction:
    event: EventType
    outcome: Outcome | None
    button: str  # the bulk bar's button
    done: str  # what the result page says of an item it was applied to


BULK_ACTIONS: Mapping[str, BulkAction] = {
    "resolve_spam": BulkAction(
        EventType.RESOLVE, Outcome.CONFIRMED_SPAM, "Resolve as spam", "resolved as spam"
    ),
    "release": BulkAction(EventType.RELEASE, None, "Release", "released"),
    "escalate": BulkAction(EventType.ESCALATE, None, "Escalate", "escalated"),
}


def view_filter(view: str | None, moderator: str) -> tuple[bool | None, str | None]:
    """(assigned, assignee) of the queue for a view: Mine is what is assigned to `moderator`."""
    match view or "":
        case "":
            return None, None
        case "mine":
            return None, moderator
        case "unassigned":
            return False, None
    raise TriageError(
        422,
        "invalid_request",
        "unknown view",
        [Detail("view", "mine, unassigned or nothing (all)", repr(str(view)[:40]))],
    )


def search_fields(search_in: str | None) -> list[str] | None:
    """The API's `search_in` for the search box's choice ("" searches every field)."""
    return [search_in] if search_in else None


def check_search(search: str | None) -> None:
    if search is not None and len(search) > MAX_SEARCH_CHARS:
        raise TriageError(
            422,
            "invalid_request",
            "the search is too long",
            [Detail("q", f"at most {MAX_SEARCH_CHARS} characters", f"{len(search)} characters")],
        )


def relabel_labels(has_parent: bool) -> tuple[str, ...]:
    """The labels a moderator can set on an item: reply-only ones (corumination) need a reply."""
    return tuple(d.name for d in LABEL_DEFINITIONS if has_parent or not d.reply_only)


def relabel_checked(flags: list[str], relabels: Mapping[str, int] | None) -> set[str]:
    """The boxes ticked when the form opens: the last relabel, or else the model's flags."""
    if relabels:
        return {label for label, value in relabels.items() if value}
    return set(flags)


def labels_from_form(form: FormData) -> dict[str, int]:
    """The relabel event's {label: 0/1}: each label the form offered (its hidden `offered`
    fields), 1 where its box was ticked, 0 where not."""
    offered = [str(value) for value in form.getlist("offered")]
    ticked = [str(value) for value in form.getlist("label")]
    unknown = [value for value in [*offered, *ticked] if value not in LABELS]
    if unknown or not offered:
        raise TriageError(
            422,
            "invalid_event",
            "unknown label" if unknown else "no labels offered",
            [Detail("label", f"some of {', '.join(LABELS)}", repr((unknown or [""])[0][:40]))],
        )
    return {label: int(label in ticked) for label in dict.fromkeys(offered + ticked)}


def assignee_from_form(form: FormData) -> str:
    assignee = str(form.get("assignee") or "").strip()
    if not assignee:
        raise TriageError(
            422,
            "invalid_event",
            "choose a moderator to assign the item to",
            [Detail("assignee", "a moderator's name", "nothing")],
        )
    return assignee[:200]


def bulk_action(form: FormData) -> BulkAction:
    name = str(form.get("action") or "")
    if name not in BULK_ACTIONS:
        raise TriageError(
            422,
            "invalid_event",
            "unknown bulk action",
            [Detail("action", f"one of {', '.join(BULK_ACTIONS)}", repr(name[:40]))],
        )
    return BULK_ACTIONS[name]


def bulk_item_ids(form: FormData, limit: int) -> list[int]:
    """The ticked items, each once, in the queue's order; a 422 for none or a bad id."""
    ids: list[int] = []
    for value in form.getlist("item_id"):
        text = str(value)
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 2**31 - 1):
            raise TriageError(
                422,
                "invalid_request",
                "not an item id",
                [Detail("item_id", "triage's id of a stored item", repr(text[:40]))],
            )
        if int(text) not in ids:
            ids.append(int(text))
    if not ids or len(ids) > limit:
        raise TriageError(
            422,
            "invalid_request",
            "tick the items to act on" if not ids else "too many items at once",
            [Detail("item_id", f"1 to {limit} ticked items", f"{len(ids)}")],
        )
    return ids
