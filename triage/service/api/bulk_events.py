"""One moderator event for each of many items (the API's bulk route and the console's bulk
bar): one transaction per item, so an item that refuses the event (claimed by someone else,
already resolved, gone) is reported on its own and the others are still recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from triage.domain.review import ReviewEvent, TransitionError
from triage.problems import Detail
from triage.queue import store as queue
from triage.queue.assignment import UnknownAssignee
from triage.service.errors import TriageError
from triage.storage.database import Database
from triage.storage.tables import Event, Item


@dataclass(frozen=True)
class ItemOutcome:
    item_id: int
    item: Item | None = None  # after the event, when it was appended
    event: Event | None = None
    error: TriageError | None = None  # why not, otherwise

    @property
    def applied(self) -> bool:
        return self.error is None


def not_found(item_id: int) -> TriageError:
    return TriageError(
        404,
        "item_not_found",
        f"no item {item_id}",
        [Detail("item_id", "the item_id of a stored item (POST /v1/items)", str(item_id))],
    )


def conflict(error: TransitionError) -> TriageError:
    return TriageError(409, "conflict", str(error), [Detail("state", error.expected, error.found)])


def unknown_assignee(error: UnknownAssignee) -> TriageError:
    return TriageError(
        422,
        "invalid_event",
        str(error),
        [Detail("assignee", "the name of an active moderator or admin key", "an unknown name")],
    )


def append_to_each(db: Database, item_ids: Sequence[int], event: ReviewEvent) -> list[ItemOutcome]:
    """Append `event` to each item in its own write transaction, in the order given."""
    outcomes = []
    for item_id in item_ids:
        try:
            item, row = _append(db, item_id, event)
        except queue.ItemNotFound:
            outcomes.append(ItemOutcome(item_id, error=not_found(item_id)))
        except TransitionError as error:
            outcomes.append(ItemOutcome(item_id, error=conflict(error)))
        except UnknownAssignee as error:
            outcomes.append(ItemOutcome(item_id, error=unknown_assignee(error)))
        else:
            outcomes.append(ItemOutcome(item_id, item, row))
    return outcomes


def _append(db: Database, item_id: int, event: ReviewEvent) -> tuple[Item, Event]:
    """One item's event in its own write transaction (retried as write_retrying says)."""
    return db.write_retrying(
        lambda session: queue.append_event(session, item_id, event, datetime.now(UTC))
    )
