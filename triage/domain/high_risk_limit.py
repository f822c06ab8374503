"""The per-moderator limit on high-risk items an hour (Settings.high_risk_limit_per_hour).

Reading crisis posts one after another wears people down. When a moderator has taken on their
limit of crisis and red items in the last hour and a colleague who acted recently has room, the
console steers their next high-risk item to the colleague (it stays in the shared queue) and
opens the next item that is not high-risk for them instead, with a note and a way to take it
anyway. Safety first: with nobody else active and with room, or no other item to offer, nothing
changes; an item is never hidden and nobody is ever blocked. One pure function, decide().
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from triage.domain.labels import URGENT_TIERS

LIMIT_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Colleague:
    name: str
    high_risk_taken: int  # distinct crisis or red items taken on in the last hour


@dataclass(frozen=True)
class Steer:
    """Offer `to_item` instead: the moderator is at their limit and others have room."""

    to_item: int
    taken: int
    limit: int
    free_colleagues: tuple[str, ...]


def is_high_risk(tier: str | None) -> bool:
    return tier in URGENT_TIERS


def decide(
    *,
    item_tier: str | None,
    taken: int,
    limit: int,
    colleagues: Sequence[Colleague],
    alternative: int | None,
) -> Steer | None:
    """Whether to steer a moderator away from an item of `item_tier`; None: let them have it.

    `taken` is their high-risk items of the last hour, `limit` the setting (0: off),
    `colleagues` the others active recently, `alternative` the next waiting item that is known
    not to be high-risk (None when there is none).
    """
    if limit <= 0 or not is_high_risk(item_tier) or taken < limit or alternative is None:
        return None
    free = tuple(sorted(c.name for c in colleagues if c.high_risk_taken < limit))
    if not free:
        return None  # nobody else can take it: the item must not wait on the limit
    return Steer(alternative, taken, limit, free)
