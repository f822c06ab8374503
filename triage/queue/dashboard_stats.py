"""The figures of the console's dashboard (/console/dashboard), over a window ending now.

Counts and durations only: nothing here reads post text, notes or member ids. Tiers are keyed
as in /v1/stats (queue/stats.py): a tier of triage.domain.labels.TIERS, or `unscored`.

- queue depth per tier at hourly points, rebuilt from the event log: every event records the
  item's review state and tier after it, so an item's latest event at a moment says whether it
  was waiting then, and in which tier (resolutions and reopenings included);
- SLA breaches: waiting items past their tier's SLA now (stats.sla_breaches), and items whose
  SLA ran out within the window before their first resolution;
- median minutes to first action per tier, for items first acted on within the window;
- override rate per label, for items resolved within the window;
- member reports against model flags, for items received within the window.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from triage.domain.labels import LABELS, TIERS
from triage.domain.review import (
    EventType,
    Outcome,
    ReviewState,
    confirmed_label,
    disagrees_with_model,
)
from triage.domain.tier_rules import TierRules
from triage.queue.stats import MAX_ROWS_FOR_MEDIANS, sla_breaches
from triage.queue.store import UNSCORED
from triage.storage.tables import Event, Item, ItemFlag

TIER_KEYS: tuple[str, ...] = (*TIERS, UNSCORED)
MAX_WINDOW_HOURS = 24 * 7
RESOLVED = ReviewState.RESOLVED.value


@dataclass(frozen=True)
class DepthOverTime:
    times: list[datetime]  # hourly, oldest first; the last is the window's end
    depth: dict[str, list[int]]  # tier key -> waiting (not resolved) items at each time


@dataclass(frozen=True)
class SlaBreaches:
    """Only tiers with an SLA (green has none by default)."""

    waiting_past_sla: dict[str, int]  # waiting now, past the SLA
    ran_out_in_window: dict[str, int]  # SLA ran out within the window, before a resolution


@dataclass(frozen=True)
class FirstAction:
    handled: dict[str, int]  # tier key -> items first acted on within the window
    median_minutes: dict[str, float | None]


@dataclass(frozen=True)
class LabelOverrides:
    """Per label, among items resolved within the window: how many resolutions judged the label
    (the model flagged it, or the moderator relabelled or confirmed it) and how many of those
    overruled the model on it. `any_*` is /v1/stats's override rate over the same items."""

    judged: dict[str, int]
    overruled: dict[str, int]
    resolved: int
    any_overruled: int

    def rate(self, label: str) -> float | None:
        judged = self.judged[label]
        return round(self.overruled[label] / judged, 4) if judged else None

    @property
    def any_rate(self) -> float | None:
        return round(self.any_overruled / self.resolved, 4) if self.resolved else None


@dataclass(frozen=True)
class ReportsVsFlags:
    """Items received within the window, by whether members reported them and whether the
    model flagged them (any label)."""

    reported_only: int
    flagged_only: int
    both: int
    neither: int


@dataclass(frozen=True)
class Dashboard:
    start: datetime
    end: datetime
    depth: DepthOverTime
    breaches: SlaBreaches
    first_action: FirstAction
    overrides: LabelOverrides
    reports: ReportsVsFlags

    @property
    def hours(self) -> int:
        return round((self.end - self.start).total_seconds() / 3600)


def dashboard(session: Session, rules: TierRules, now: datetime, hours: int = 24) -> Dashboard:
    if not 1 <= hours <= MAX_WINDOW_HOURS:
        raise ValueError(f"hours must be 1 to {MAX_WINDOW_HOURS}, not {hours}")
    start = now - timedelta(hours=hours)
    return Dashboard(
        start=start,
        end=now,
        depth=depth_over_time(session, start, now),
        breaches=breaches(session, rules, start, now),
        first_action=first_action(session, start, now),
        overrides=label_overrides(session, start, now),
        reports=reports_vs_flags(session, start, now),
    )


def tier_key(tier: str | None) -> str:
    return tier if tier in TIERS else UNSCORED


def hourly(start: datetime, end: datetime) -> list[datetime]:
    hours = round((end - start).total_seconds() / 3600)
    return [start + timedelta(hours=k) for k in range(hours)] + [end]


# --- queue depth -------------------------------------------------------------------------------
def depth_over_time(session: Session, start: datetime, end: datetime) -> DepthOverTime:
    """Items waiting at each hour, per tier. Only items received by the end and not resolved
    for good before the start can count; their events are read in one pass, item by item."""
    times = hourly(start, end)
    depth = {key: [0] * len(times) for key in TIER_KEYS}
    candidates = select(Item.id).where(
        Item.received_at <= end, or_(Item.resolved_at.is_(None), Item.resolved_at > start)
    )
    rows = session.execute(
        select(Event.item_id, Event.created_at, Event.state_after, Event.tier)
        .where(Event.item_id.in_(candidates), Event.created_at <= end)
        .order_by(Event.item_id, Event.id)
        .execution_options(yield_per=5000)
    )
    item_events: list[tuple[datetime, str, str | None]] = []
    current = None
    for item_id, created_at, state_after, tier in rows:
        if item_id != current and item_events:
            _count_waiting(item_events, times, depth)
            item_events = []
        current = item_id
        item_events.append((created_at, state_after, tier))
    if item_events:
        _count_waiting(item_events, times, depth)
    return DepthOverTime(times, depth)


def _count_waiting(
    events: list[tuple[datetime, str, str | None]],
    times: list[datetime],
    depth: dict[str, list[int]],
) -> None:
    """Add one item to `depth` at each time its latest event by then left it unresolved."""
    latest = -1
    for index, moment in enumerate(times):
        while latest + 1 < len(events) and events[latest + 1][0] <= moment:
            latest += 1
        if latest < 0:
            continue
        _, state_after, tier = events[latest]
        if state_after != RESOLVED:
            depth[tier_key(tier)][index] += 1


# --- SLA breaches ------------------------------------------------------------------------------
def breaches(session: Session, rules: TierRules, start: datetime, end: datetime) -> SlaBreaches:
    """Items past their SLA (by their current tier). An item's SLA runs out at received_at +
    the tier's SLA; it breached within the window when that moment is in (start, end] and the
    item was not resolved by then (its first resolve event, so a later reopening does not
    turn a met SLA into a breach)."""
    sla_minutes = {key: minutes for key in TIER_KEYS if (minutes := _sla(rules, key)) is not None}
    now_open = sla_breaches(session, rules, end)
    first_resolve = (
        select(Event.item_id, func.min(Event.created_at).label("at"))
        .where(Event.type == EventType.RESOLVE.value)
        .group_by(Event.item_id)
        .subquery()
    )
    ran_out = {}
    for key, minutes in sla_minutes.items():
        sla = timedelta(minutes=minutes)
        rows = session.execute(
            select(Item.received_at, first_resolve.c.at)
            .outerjoin(first_resolve, first_resolve.c.item_id == Item.id)
            .where(
                _in_tier(key),
                Item.received_at > start - sla,
                Item.received_at <= end - sla,
            )
            .limit(MAX_ROWS_FOR_MEDIANS)
        )
        ran_out[key] = sum(
            resolved_at is None or resolved_at > received_at + sla
            for received_at, resolved_at in rows
        )
    return SlaBreaches({key: now_open[key] for key in sla_minutes}, ran_out)


def _sla(rules: TierRules, key: str) -> float | None:
    return rules.sla_for(None if key == UNSCORED else key)


def _in_tier(key: str):
    if key == UNSCORED:
        return Item.scoring_state != "scored"
    return and_(Item.tier == key, Item.scoring_state == "scored")


# --- time to first action -----------------------------------------------------------------------
def first_action(session: Session, start: datetime, end: datetime) -> FirstAction:
    rows = session.execute(
        select(Item.received_at, Item.first_action_at, Item.tier, Item.scoring_state)
        .where(Item.first_action_at > start, Item.first_action_at <= end)
        .limit(MAX_ROWS_FOR_MEDIANS)
    )
    waits: dict[str, list[float]] = {key: [] for key in TIER_KEYS}
    for received_at, acted_at, tier, scoring_state in rows:
        assert acted_at is not None  # the WHERE above compares it, so it is not NULL
        key = tier_key(tier if scoring_state == "scored" else None)
        waits[key].append((acted_at - received_at).total_seconds() / 60)
    return FirstAction(
        handled={key: len(values) for key, values in waits.items()},
        median_minutes={
            key: round(statistics.median(values), 2) if values else None
            for key, values in waits.items()
        },
    )


# --- override rate per label ----------------------------------------------------------------------
def judged_labels(
    flags: Iterable[str], outcome: Outcome | None, relabels: dict[str, int] | None
) -> set[str]:
    """The labels a resolution says something about: flagged, relabelled or confirmed."""
    judged = set(flags) | set(relabels or {})
    confirmed = confirmed_label(outcome)
    if confirmed is not None:
        judged.add(confirmed)
    return judged & set(LABELS)


def overruled_labels(
    flags: Iterable[str], outcome: Outcome | None, relabels: dict[str, int] | None
) -> set[str]:
    """The labels on which the moderator overruled the model (review.disagrees_with_model, per
    label): a false positive overrules every flag, a confirmation the model did not flag
    overrules that label, a relabel overrules the labels it contradicts. A relabel that keeps a
    flag outweighs a blanket false positive for that label."""
    flagged = set(flags)
    relabels = relabels or {}
    overruled = set(flagged) if outcome is Outcome.FALSE_POSITIVE else set()
    confirmed = confirmed_label(outcome)
    if confirmed is not None and confirmed not in flagged:
        overruled.add(confirmed)
    for label, value in relabels.items():
        if bool(value) != (label in flagged):
            overruled.add(label)
        else:
            overruled.discard(label)
    return overruled & set(LABELS)


def label_overrides(session: Session, start: datetime, end: datetime) -> LabelOverrides:
    rows = session.execute(
        select(Item.flags, Item.outcome, Item.relabels)
        .where(Item.resolved_at > start, Item.resolved_at <= end)
        .limit(MAX_ROWS_FOR_MEDIANS)
    ).all()
    judged, overruled = dict.fromkeys(LABELS, 0), dict.fromkeys(LABELS, 0)
    any_overruled = 0
    for flags, outcome_value, relabels in rows:
        outcome = Outcome(outcome_value) if outcome_value else None
        for label in judged_labels(flags or [], outcome, relabels):
            judged[label] += 1
        for label in overruled_labels(flags or [], outcome, relabels):
            overruled[label] += 1
        any_overruled += disagrees_with_model(flags or [], outcome, relabels)
    return LabelOverrides(judged, overruled, resolved=len(rows), any_overruled=any_overruled)


# --- member reports against model flags -----------------------------------------------------------
def reports_vs_flags(session: Session, start: datetime, end: datetime) -> ReportsVsFlags:
    per_item = (
        select(
            (Item.report_count > 0).label("reported"),
            exists().where(ItemFlag.item_id == Item.id).label("flagged"),
        )
        .where(Item.received_at > start, Item.received_at <= end)
        .subquery()
    )
    counts = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    rows = session.execute(
        select(per_item.c.reported, per_item.c.flagged, func.count()).group_by(
            per_item.c.reported, per_item.c.flagged
        )
    )
    for is_reported, is_flagged, count in rows:
        counts[(bool(is_reported), bool(is_flagged))] += count
    return ReportsVsFlags(
        reported_only=counts[(True, False)],
        flagged_only=counts[(False, True)],
        both=counts[(True, True)],
        neither=counts[(False, False)],
    )
