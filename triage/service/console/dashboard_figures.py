"""The console dashboard's figures (queue/dashboard_stats.py) as SVG charts with their data
tables, and as CSV rows. Counts, durations and shares only: no post text, note or member id."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from triage.domain.labels import LABELS
from triage.queue.dashboard_stats import TIER_KEYS, Dashboard
from triage.service.console.charts import DataTable, Series, bar_chart, data_table, step_chart
from triage.service.console.views import tier_name

# The console's tier colours (console.css), amber darkened to stay visible as a thin line; the
# dashes tell the lines apart without colour.
TIER_COLOURS = {
    "crisis": "#6e0b14",
    "red": "#b3261e",
    "amber": "#a87600",
    "green": "#1e6b3a",
    "unscored": "#4a4a55",
}
TIER_DASHES = {"crisis": None, "red": "7 3", "amber": "2 3", "green": "10 3 2 3", "unscored": "1 4"}
FIGURES = ("queue_depth", "sla_breaches", "first_action", "override_rate", "reports_vs_flags")
CSV_HEADER = ("figure", "series", "measure", "value")
REPORT_GROUPS = ("reported_only", "flagged_only", "both", "neither")
REPORT_NAMES = {
    "reported_only": "reported by members only",
    "flagged_only": "flagged by the model only",
    "both": "reported and flagged",
    "neither": "neither",
}


@dataclass(frozen=True)
class Figure:
    key: str  # one of FIGURES: the CSV's `figure` column and the ?figure= of its own CSV
    heading: str
    explanation: str
    svg: str
    table: DataTable


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def minutes(value: float) -> str:
    """A duration given in minutes, in words: seconds under a minute, hours from 2 h."""
    if value == 0:
        return "0 min"
    if value < 1:
        return f"{round(value * 60)} s"
    if value < 120:
        return f"{value:.1f} min" if value < 10 and value != int(value) else f"{value:.0f} min"
    return f"{value / 60:.1f} h".replace(".0 h", " h")


def hours(value: float) -> str:
    return "0 h" if value == 0 else minutes(value * 60)


def count(value: float) -> str:
    return str(int(value))


def figures(dash: Dashboard) -> list[Figure]:
    return [
        _depth(dash),
        _breaches(dash),
        _first_action(dash),
        _overrides(dash),
        _reports(dash),
    ]


def _window(dash: Dashboard) -> str:
    return f"the last {dash.hours} hours" if dash.hours != 1 else "the last hour"


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _depth(dash: Dashboard) -> Figure:
    times = [_clock(moment) for moment in dash.depth.times]
    series = [
        Series(tier_name(key), dash.depth.depth[key], TIER_COLOURS[key], TIER_DASHES[key])
        for key in TIER_KEYS
    ]
    now = {key: values[-1] for key, values in dash.depth.depth.items()}
    summary = ", ".join(f"{tier_name(key)} {now[key]}" for key in TIER_KEYS)
    title = f"Queue depth per tier, hourly over {_window(dash)} (UTC)"
    svg = step_chart(
        "chart-queue-depth",
        title,
        times,
        series,
        description=f"Items waiting (not resolved) at each hour. Now: {summary}.",
        label_every=max(1, round(dash.hours / 8)),
    )
    stamps = [moment.strftime("%Y-%m-%d %H:%M") for moment in dash.depth.times]
    table = data_table("Items waiting at each hour (UTC)", "time (UTC)", stamps, series, count)
    return Figure(
        "queue_depth",
        "Queue depth per tier",
        "Items not yet resolved (open, claimed or escalated) at each hour, in the tier they had "
        "then, rebuilt from the event log.",
        svg,
        table,
    )


def _breaches(dash: Dashboard) -> Figure:
    keys = list(dash.breaches.waiting_past_sla)
    names = [tier_name(key) for key in keys]
    series = [
        Series(
            "waiting past SLA now", [dash.breaches.waiting_past_sla[k] for k in keys], "#b3261e"
        ),
        Series(
            f"SLA ran out in {_window(dash)} before resolution",
            [dash.breaches.ran_out_in_window[k] for k in keys],
            "#4a4a55",
        ),
    ]
    svg = bar_chart(
        "chart-sla-breaches",
        "SLA breaches per tier",
        names,
        series,
        description="; ".join(
            f"{name}: {now} waiting past SLA, {window} ran out in the window"
            for name, now, window in zip(names, series[0].values, series[1].values, strict=True)
        ),
        fmt=count,
    )
    return Figure(
        "sla_breaches",
        "SLA breaches",
        "Items still waiting after their tier's SLA, and items whose SLA ran out within the "
        "window before a moderator resolved them (tiers without an SLA are left out).",
        svg,
        data_table("SLA breaches per tier", "tier", names, series, count),
    )


def _first_action(dash: Dashboard) -> Figure:
    medians = [dash.first_action.median_minutes[key] for key in TIER_KEYS]
    names = [tier_name(key) for key in TIER_KEYS]
    # drawn in hours once any median passes 2 h, so the axis reads 0 h, 2 h, 4 h, ...
    in_hours = max((m for m in medians if m is not None), default=0) >= 120
    drawn = [m / 60 if m is not None and in_hours else m for m in medians]
    series = [Series("median time to first action", drawn, "#0b4fc1")]
    svg = bar_chart(
        "chart-first-action",
        f"Median time to first action per tier, {_window(dash)}",
        names,
        series,
        description="; ".join(
            f"{name}: {minutes(value) if value is not None else 'no items'}"
            for name, value in zip(names, medians, strict=True)
        ),
        fmt=hours if in_hours else minutes,
        integer=not in_hours,
    )
    rows = tuple(
        (
            tier_name(key),
            str(dash.first_action.handled[key]),
            _or_dash(dash.first_action.median_minutes[key], minutes),
        )
        for key in TIER_KEYS
    )
    table = DataTable(
        "Time from receipt to the first moderator action",
        ("tier", "items first acted on", "median"),
        rows,
    )
    return Figure(
        "first_action",
        "Time to first action",
        "From an item's arrival to the first moderator action on it (claim, comment, resolve, "
        "...), for items first acted on within the window.",
        svg,
        table,
    )


def _overrides(dash: Dashboard) -> Figure:
    overrides = dash.overrides
    names = [label.replace("_", " ") for label in LABELS] + ["any label"]
    rates = [overrides.rate(label) for label in LABELS] + [overrides.any_rate]
    svg = bar_chart(
        "chart-override-rate",
        f"Override rate per label, items resolved in {_window(dash)}",
        names,
        [Series("override rate", rates, "#6b4fbb")],
        description="; ".join(
            f"{name}: {_or_dash(rate, percent)}" for name, rate in zip(names, rates, strict=True)
        ),
        fmt=percent,
        integer=False,
        top=1.0,
    )
    rows = tuple(
        (
            label.replace("_", " "),
            str(overrides.judged[label]),
            str(overrides.overruled[label]),
            _or_dash(overrides.rate(label), percent),
        )
        for label in LABELS
    ) + (
        (
            "any label",
            str(overrides.resolved),
            str(overrides.any_overruled),
            _or_dash(overrides.any_rate, percent),
        ),
    )
    table = DataTable(
        "How often moderators overruled the model, per label",
        ("label", "resolutions judging it", "overruled", "override rate"),
        rows,
    )
    return Figure(
        "override_rate",
        "Override rate per label",
        "Of the resolutions that judged a label (the model flagged it, or the moderator "
        "relabelled or confirmed it), the share where the moderator disagreed with the model: a "
        "false positive, a confirmation of a label the model missed, or a contradicting relabel. "
        "\u201cAny label\u201d is /v1/stats's override rate.",
        svg,
        table,
    )


def _reports(dash: Dashboard) -> Figure:
    values = {group: getattr(dash.reports, group) for group in REPORT_GROUPS}
    shown = REPORT_GROUPS[:3]  # "neither" (most posts) would flatten the others: table only
    svg = bar_chart(
        "chart-reports-flags",
        f"Member reports and model flags, items received in {_window(dash)}",
        [REPORT_NAMES[group] for group in shown],
        [Series("items", [values[group] for group in shown], "#0b4fc1")],
        description="; ".join(f"{REPORT_NAMES[g]}: {values[g]}" for g in REPORT_GROUPS),
        fmt=count,
    )
    table = DataTable(
        "Items received in the window, by member reports and model flags",
        ("items", "count"),
        tuple((REPORT_NAMES[group], str(values[group])) for group in REPORT_GROUPS),
    )
    return Figure(
        "reports_vs_flags",
        "Member reports and model flags",
        "Items received within the window that members reported, that the model flagged "
        "(any label), or both.",
        svg,
        table,
    )


def _or_dash(value: float | None, fmt) -> str:
    return "–" if value is None else fmt(value)


# --- CSV --------------------------------------------------------------------------------------
def csv_rows(dash: Dashboard, figure: str | None = None) -> list[tuple[str, str, str, str]]:
    """Long format, one number a row: (figure, series, measure, value); an empty value is no
    data. The window's bounds come first. `figure` keeps one figure's rows."""
    rows = [
        ("window", "all", "start", _iso(dash.start)),
        ("window", "all", "end", _iso(dash.end)),
    ]
    for time_index, moment in enumerate(dash.depth.times):
        for key in TIER_KEYS:
            rows.append(("queue_depth", key, _iso(moment), str(dash.depth.depth[key][time_index])))
    for key, number in dash.breaches.waiting_past_sla.items():
        rows.append(("sla_breaches", key, "waiting_past_sla_now", str(number)))
        rows.append(
            ("sla_breaches", key, "ran_out_in_window", str(dash.breaches.ran_out_in_window[key]))
        )
    for key in TIER_KEYS:
        rows.append(("first_action", key, "handled", str(dash.first_action.handled[key])))
        median = dash.first_action.median_minutes[key]
        rows.append(("first_action", key, "median_minutes", _number(median)))
    overrides = dash.overrides
    for label in LABELS:
        rows.append(("override_rate", label, "judged", str(overrides.judged[label])))
        rows.append(("override_rate", label, "overruled", str(overrides.overruled[label])))
        rows.append(("override_rate", label, "rate", _number(overrides.rate(label))))
    rows.append(("override_rate", "any", "judged", str(overrides.resolved)))
    rows.append(("override_rate", "any", "overruled", str(overrides.any_overruled)))
    rows.append(("override_rate", "any", "rate", _number(overrides.any_rate)))
    for group in REPORT_GROUPS:
        rows.append(("reports_vs_flags", "items", group, str(getattr(dash.reports, group))))
    if figure is None:
        return rows
    return [row for row in rows if row[0] in (figure, "window")]


def to_csv(rows: Iterable[tuple[str, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return buffer.getvalue()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
