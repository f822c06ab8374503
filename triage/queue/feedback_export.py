"""The moderator decisions worth learning from, read from the queue (`triage data export-feedback`).

The query lives here, with the queue's other reads, so that the training code that turns the
decisions into rows (triage/training/data/feedback.py) needs no database: it takes the
ReviewedPost values this module yields.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from triage.domain.review import Outcome, ReviewedPost
from triage.storage.tables import Item


def reviewed_posts(session: Session) -> Iterator[ReviewedPost]:
    """Every item with an outcome or a relabel, in id order. An item whose text was purged
    (retention) is left out: without its text it cannot be a training row."""
    items = session.scalars(
        select(Item)
        .where(Item.text.is_not(None), or_(Item.outcome.is_not(None), Item.relabels.is_not(None)))
        .order_by(Item.id)
    )
    for item in items:
        yield ReviewedPost(
            community=item.community,
            external_id=item.external_id,
            thread_id=item.thread_id,
            text=item.text or "",  # never empty here: the query keeps items with text
            parent_text=item.parent_text,
            flags=tuple(item.flags or ()),
            outcome=Outcome(item.outcome) if item.outcome else None,
            relabels=item.relabels,
        )
