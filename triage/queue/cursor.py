"""The queue's page cursors: where the last page ended, as an opaque URL-safe string.

A cursor is the position (priority, received_at, id) of the last item of a page, in the
queue's order (priority highest first, then oldest first, then by id: tables.QUEUE_ORDER).
The next page is the items after that position (after_cursor), which keyset paging reads
from the index at any depth, unlike an offset. A cursor comes back from a client, so
decode_cursor checks everything before the database sees it.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, or_

from triage.storage.tables import MAX_ID, Item

MAX_CURSOR_CHARS = 200  # encode_cursor writes about 70


class BadCursor(ValueError):
    pass


def encode_cursor(item: Item) -> str:
    raw = json.dumps([item.priority, item.received_at.isoformat(), item.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, datetime, int]:
    """(priority, received_at, item_id) of a cursor encode_cursor wrote; BadCursor for anything
    else, before the database sees a number or a date it cannot compare (1e400, 10**30, a date
    without a time zone)."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise BadCursor(f"longer than {MAX_CURSOR_CHARS} characters")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        priority, received_at, item_id = json.loads(base64.urlsafe_b64decode(padded))
        received = datetime.fromisoformat(received_at)
        if received.tzinfo is None:
            raise BadCursor("a date without a time zone")
        received = received.astimezone(UTC)
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error) as error:
        raise BadCursor(str(error)) from None
    if not _whole_number_in(priority, -MAX_ID - 1, MAX_ID) or not _whole_number_in(
        item_id, 1, MAX_ID
    ):
        raise BadCursor("a priority or item id out of range")
    return priority, received, item_id


def after_cursor(cursor: str) -> ColumnElement[bool]:
    """The items after the cursor's position in the queue's order; BadCursor for a bad one."""
    priority, received_at, item_id = decode_cursor(cursor)
    return or_(
        Item.priority < priority,
        and_(Item.priority == priority, Item.received_at > received_at),
        and_(
            Item.priority == priority,
            Item.received_at == received_at,
            Item.id > item_id,
        ),
    )


def _whole_number_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
