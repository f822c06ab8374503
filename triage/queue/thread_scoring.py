"""Corumination in the queue: when a reply in a thread is scored, score its thread as it stood
then, from the stored items (their texts and stored scores; no further model call), with the
same code as POST /v1/threads/score (triage/scoring/threads.py).

The result is stored on the reply (`items.thread_corumination`) and, when the thread score
reaches the model's corumination threshold, adds a reason such as "thread corumination 0.81
(turns 3, 5)" to its priority reasons (turns counted from 1, the thread's oldest stored item, as
the console lists the thread). It explains and does not re-rank: the thread score is a fixed,
unfitted formula checked on only 4 positive annotated test threads, so it should not move a
reply ahead of others before it has been validated on more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from triage.domain.labels import CORUMINATION
from triage.domain.tier_rules import TierRules
from triage.queue import ranking
from triage.queue import store as queue
from triage.scoring.scorer import OnnxScorer
from triage.scoring.threads import ThreadScore, Turn, score_thread
from triage.storage.tables import Item

THREAD_WINDOW = 200  # the latest stored posts of a thread that are read (the API's default limit)


def corumination_threshold(scorer: OnnxScorer) -> float | None:
    """The bundle's corumination flag threshold, or None when it has no corumination head."""
    if CORUMINATION not in scorer.bundle.trained_labels:
        return None
    return scorer.bundle.thresholds.get(CORUMINATION)


def is_thread_reply(item: Item) -> bool:
    return bool(item.thread_id) and (
        item.parent_external_id is not None or item.parent_text is not None
    )


def record_thread_scores(
    session: Session,
    item_ids: Sequence[int],
    threshold: float | None,
    rules: TierRules,
    now: datetime,
) -> None:
    """Score the thread of each just-scored reply (in the caller's transaction) and re-rank it."""
    for item_id in item_ids:
        item = queue.get_item(session, item_id)
        if not is_thread_reply(item) or item.scoring_state != "scored":
            continue
        window, left_out = queue.thread_so_far(session, item, THREAD_WINDOW)
        result = score_thread([_turn(other) for other in window])
        item.thread_corumination = stored_value(
            result, threshold, posts=len(window), first_turn=left_out + 1
        )
        ranking.rank(item, rules, now)


def _turn(item: Item) -> Turn:
    return Turn(
        id=item.external_id,
        text=item.text or "",
        scores=item.scores or {},
        is_reply=item.parent_external_id is not None or item.parent_text is not None,
        parent_id=item.parent_external_id,
    )


def stored_value(
    result: ThreadScore, threshold: float | None, posts: int, first_turn: int = 1
) -> dict:
    """What the item keeps: the score, whether it reaches the threshold, the driving turns."""
    flagged = result.score is not None and threshold is not None and result.score >= threshold
    summary = None
    if result.score is not None:
        summary = f"thread corumination {result.score:.2f} ({result.turns_label(first_turn)})"
    return {
        "score": result.score,
        "flagged": flagged,
        "threshold": threshold,
        "turns": result.driver_turns(first_turn),
        "ids": [d.id for d in sorted(result.drivers, key=lambda d: d.index)],
        "posts": posts,
        "reason": result.reason,
        "summary": summary,
    }
