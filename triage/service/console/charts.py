"""Small SVG charts drawn on the server, for console pages: grouped bars and a step line.

Pure Python, no script and no style attribute (the console's CSP allows neither inline): colours
are SVG presentation attributes. Each chart is an `<svg role="img">` named by its `<title>` and
summarised by its `<desc>`; every bar and every line point carries its own `<title>` (a tooltip
that says the value); pages put data_table() of the same figures next to it, for screen readers
and for reading exact values. All text is XML-escaped, so the output is well-formed XML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

Formatter = Callable[[float], str]
INK, MUTED, GRID = "#1b1b1f", "#4d4d57", "#d0d0d7"
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP = 52, 16, 18
X_LABELS = 22  # height of the category or time labels under the plot
LEGEND_ROW = 18
CHART_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per category or time; None: no data
    colour: str = MUTED
    dash: str | None = None  # stroke-dasharray of a line, so lines differ without colour


@dataclass(frozen=True)
class DataTable:
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def plain_number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def data_table(
    caption: str,
    category_name: str,
    categories: Sequence[str],
    series: Sequence[Series],
    fmt: Formatter = plain_number,
) -> DataTable:
    """One row per category (or time), one column per series; no data is shown as "–"."""
    rows = tuple(
        (category, *(_shown(s.values[index], fmt) for s in series))
        for index, category in enumerate(categories)
    )
    return DataTable(caption, (category_name, *(s.name for s in series)), rows)


def bar_chart(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    description: str = "",
    fmt: Formatter = plain_number,
    integer: bool = True,
    top: float | None = None,
) -> str:
    """Bars per category, one per series side by side, each labelled with its value. `top`
    fixes the scale (1 for shares); otherwise it fits the largest value."""
    _check(chart_id, categories, series)
    places = _legend_places(series) if len(series) > 1 else []
    height = HEIGHT + LEGEND_ROW * _extra_rows(places)
    plot = _Plot(_scale_top(series, integer, top))
    parts = _open(chart_id, title, description, height)
    parts += plot.grid(fmt)
    group = plot.width / max(len(categories), 1)
    bar = group * 0.78 / max(len(series), 1)
    for index, category in enumerate(categories):
        x0 = LEFT + index * group + group * 0.11
        for number, one in enumerate(series):
            value = one.values[index]
            x = x0 + number * bar
            tip = f"{one.name}, {category}: {_shown(value, fmt)}"
            if value is None:
                parts.append(_text(x + bar / 2, plot.bottom - 4, "–", MUTED, "middle", tip))
                continue
            y = plot.y(value)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" '
                f'height="{plot.bottom - y:.1f}" fill={quoteattr(one.colour)}>'
                f"<title>{escape(tip)}</title></rect>"
            )
            parts.append(_text(x + (bar - 2) / 2, y - 3, fmt(value), INK, "middle"))
        parts.append(_text(LEFT + (index + 0.5) * group, plot.bottom + 15, category, INK, "middle"))
    if len(series) > 1:
        parts += _legend(series, places, plot.bottom + X_LABELS + 8, lines=False)
    parts.append("</svg>")
    return "".join(parts)


def step_chart(
    chart_id: str,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    description: str = "",
    label_every: int = 3,
    fmt: Formatter = plain_number,
) -> str:
    """A step line per series over evenly spaced points (e.g. hours): a value holds until the
    next point. Every `label_every`-th point is labelled on the x axis, and the last one."""
    _check(chart_id, x_labels, series)
    places = _legend_places(series)
    height = HEIGHT + LEGEND_ROW * _extra_rows(places)
    plot = _Plot(_scale_top(series, True, None))
    parts = _open(chart_id, title, description, height)
    parts += plot.grid(fmt)
    count = len(x_labels)
    step = plot.width / max(count - 1, 1)
    xs = [LEFT + index * step for index in range(count)]
    for index, label in enumerate(x_labels):
        if index % max(label_every, 1) == 0 or index == count - 1:
            parts.append(
                f'<line x1="{xs[index]:.1f}" y1="{plot.bottom}" x2="{xs[index]:.1f}" '
                f'y2="{plot.bottom + 4}" stroke="{MUTED}"/>'
            )
            # the end labels stay inside the plot's width
            anchor = "start" if index == 0 else "end" if index == count - 1 else "middle"
            parts.append(_text(xs[index], plot.bottom + 15, label, INK, anchor))
    for one in series:
        parts.append(f"<g><title>{escape(one.name)}</title>")
        path = _step_path(xs, [plot.y(v) if v is not None else None for v in one.values])
        if path:
            dash = f' stroke-dasharray="{escape(one.dash)}"' if one.dash else ""
            parts.append(
                f'<path d="{path}" fill="none" stroke={quoteattr(one.colour)} '
                f'stroke-width="2"{dash}/>'
            )
        for index, value in enumerate(one.values):
            if value is not None:
                tip = f"{one.name}, {x_labels[index]}: {fmt(value)}"
                parts.append(
                    f'<circle cx="{xs[index]:.1f}" cy="{plot.y(value):.1f}" r="2.5" '
                    f"fill={quoteattr(one.colour)}><title>{escape(tip)}</title></circle>"
                )
        parts.append("</g>")
    parts += _legend(series, places, plot.bottom + X_LABELS + 8, lines=True)
    parts.append("</svg>")
    return "".join(parts)


class _Plot:
    """The plot area (above the x labels and the legend), with a y scale from 0 to a top."""

    def __init__(self, scale: tuple[float, float]) -> None:
        self.top_value, self.tick = scale
        self.bottom = HEIGHT - X_LABELS - 20
        self.width = WIDTH - LEFT - RIGHT

    def y(self, value: float) -> float:
        share = min(max(value / self.top_value, 0.0), 1.0)
        return self.bottom - share * (self.bottom - TOP)

    def grid(self, fmt: Formatter) -> list[str]:
        parts = []
        ticks = round(self.top_value / self.tick)
        for number in range(ticks + 1):
            value = number * self.tick
            y = self.y(value)
            colour = MUTED if number == 0 else GRID
            parts.append(
                f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                f'stroke="{colour}"/>'
            )
            parts.append(_text(LEFT - 6, y + 4, fmt(value), MUTED, "end"))
        return parts


def _scale_top(series: Sequence[Series], integer: bool, top: float | None) -> tuple[float, float]:
    """A round top for the y axis and the step between its ticks (4 or 5 ticks)."""
    if top is not None:
        return top, top / 4
    largest = max((v for s in series for v in s.values if v is not None), default=0.0)
    if largest <= 0:
        return 1.0, 1.0
    rough = largest / 4
    magnitude = 10 ** math.floor(math.log10(rough))
    steps = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    tick = next(m * magnitude for m in steps if m * magnitude >= rough)
    if integer:
        tick = max(tick, 1)
    return tick * math.ceil(largest / tick), tick


def _step_path(xs: Sequence[float], ys: Sequence[float | None]) -> str:
    """A step-after path through the points; a None value breaks the line."""
    commands, drawing = [], False
    for index, y in enumerate(ys):
        if y is None:
            drawing = False
            continue
        if not drawing:
            commands.append(f"M{xs[index]:.1f} {y:.1f}")
            drawing = True
        else:
            commands.append(f"H{xs[index]:.1f} V{y:.1f}")
    return " ".join(commands)


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    labelled = f"{chart_id}-title {chart_id}-desc" if description else f"{chart_id}-title"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-labelledby="{labelled}" font-family="system-ui, sans-serif" font-size="11">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    if description:
        parts.append(f'<desc id="{chart_id}-desc">{escape(description)}</desc>')
    return parts


def _legend_places(series: Sequence[Series]) -> list[tuple[float, int]]:
    """(x, row) of each legend entry: left to right, wrapping at the chart's width. Text width
    is estimated (about 6.2 px a character at 11 px), as nothing measures it on the server."""
    places, x, row = [], float(LEFT), 0
    for one in series:
        width = 28 + len(one.name) * 6.2 + 18
        if x > LEFT and x + width > WIDTH - RIGHT:
            x, row = float(LEFT), row + 1
        places.append((x, row))
        x += width
    return places


def _extra_rows(places: Sequence[tuple[float, int]]) -> int:
    """Legend rows past the first, which fits in the chart's own height."""
    return places[-1][1] if places else 0


def _legend(
    series: Sequence[Series], places: Sequence[tuple[float, int]], y: float, lines: bool
) -> list[str]:
    parts = []
    for one, (x, row) in zip(series, places, strict=True):
        row_y = y + row * LEGEND_ROW
        if lines:
            dash = f' stroke-dasharray="{escape(one.dash)}"' if one.dash else ""
            parts.append(
                f'<line x1="{x:.1f}" y1="{row_y - 4:.1f}" x2="{x + 22:.1f}" '
                f'y2="{row_y - 4:.1f}" stroke={quoteattr(one.colour)} '
                f'stroke-width="2"{dash}/>'
            )
        else:
            parts.append(
                f'<rect x="{x:.1f}" y="{row_y - 10:.1f}" width="14" height="10" '
                f"fill={quoteattr(one.colour)}/>"
            )
        parts.append(_text(x + 28, row_y, one.name, INK, "start"))
    return parts


def _text(x: float, y: float, words: str, colour: str, anchor: str, tip: str = "") -> str:
    title = f"<title>{escape(tip)}</title>" if tip else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" fill="{colour}" text-anchor="{anchor}">'
        f"{title}{escape(words)}</text>"
    )


def _shown(value: float | None, fmt: Formatter) -> str:
    return "–" if value is None else fmt(value)


def _check(chart_id: str, categories: Sequence[str], series: Sequence[Series]) -> None:
    if not CHART_ID.fullmatch(chart_id):
        raise ValueError(f"a chart id must be a plain XML id, not {chart_id!r}")
    for one in series:
        if len(one.values) != len(categories):
            raise ValueError(
                f"series {one.name!r} has {len(one.values)} values for {len(categories)} categories"
            )
