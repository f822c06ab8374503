"""The console dashboard (issue 14, point 6): its figures on SQLite and PostgreSQL from hand-made
items and events with known answers, the SVG charts, the page and its CSV export."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import TIER_RULES
from tests.service.api.test_service import assert_error_shape
from tests.service.console.test_console import HTML, console, put, sign_in  # noqa: F401 (console: a fixture)
from triage.domain.review import EventType, Outcome, ReviewEvent, disagrees_with_model
from triage.queue import store as queue
from triage.queue.dashboard_stats import dashboard, judged_labels, overruled_labels
from triage.queue.stats import queue_stats
from triage.service.console.charts import Series, bar_chart, data_table, step_chart
from triage.service.console.dashboard_figures import (
    CSV_HEADER,
    FIGURES,
    csv_rows,
    figures,
    minutes,
    to_csv,
)
from triage.settings import Settings
from triage.storage.database import Database

RULES = Settings().tier_rules  # SLAs: crisis 15 min, red 60, amber 480, green none, unscored 60
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"
SECRET_TEXT = "zebra-quartz post words that must never leave the item page"


def ago(hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(hours=hours, minutes=minutes)


class Builder:
    """Items and their events at chosen times, straight through triage.queue.store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def item(self, name, at, tier=None, flags=(), failed=False) -> int:
        with self.db.write() as session:
            ((item, _),) = queue.ingest(
                session, [queue.NewItem("c", name, SECRET_TEXT)], at, TIER_RULES
            )
            if failed:
                queue.record_failure(session, item.id, "timeout", RULES, at)
            else:
                view = queue.ModelView("m:1", {"self_harm": 0.5}, list(flags), tier)
                queue.record_scores(session, item.id, view, RULES, at)
            return item.id

    def event(self, item_id, at, kind, actor="alice", **fields) -> None:
        with self.db.write() as session:
            queue.append_event(session, item_id, ReviewEvent(EventType(kind), actor, **fields), at)

    def report(self, item_id, at, reporter="m1") -> None:
        with self.db.write() as session:
            report = queue.NewReport(reporter, "spam", text="member's words")
            queue.add_report(session, item_id, report, RULES, at)


@pytest.fixture()
def known(database_url):
    """A day of hand-made queue history; the test below works out every figure from it."""
    db = Database(database_url)
    make = Builder(db)
    a = make.item("A", ago(30), "crisis", ["self_harm"])  # before the window, resolved in it
    make.event(a, ago(20), "resolve", outcome=Outcome.SUPPORTED)
    b = make.item("B", ago(5), "red", ["self_harm"])  # waiting, never acted on
    c = make.item("C", ago(10), "amber", ["distress"])
    make.event(c, ago(9), "claim")
    make.event(c, ago(3), "resolve", outcome=Outcome.FALSE_POSITIVE)
    d = make.item("D", ago(3), "green", ["spam"])
    make.report(d, ago(2.5))
    make.event(d, ago(1), "resolve", outcome=Outcome.CONFIRMED_SPAM)
    e = make.item("E", ago(2), failed=True)  # unscored, reported twice
    make.report(e, ago(1.5), "m1")
    make.report(e, ago(1.4), "m2")
    f = make.item("F", ago(6), "red", ["self_harm"])
    make.event(f, ago(5, 50), "claim")
    make.event(f, ago(5, 40), "relabel", labels={"self_harm": 0})
    make.event(f, ago(5, 30), "resolve", outcome=Outcome.NO_ACTION)
    g = make.item("G", ago(8), "amber")  # resolved, then reopened: waiting again
    make.event(g, ago(7, 30), "resolve", outcome=Outcome.SUPPORTED)
    make.event(g, ago(6), "reopen")
    h = make.item("H", ago(50), "red", ["self_harm"])  # all before the window
    make.event(h, ago(40), "resolve", outcome=Outcome.SUPPORTED)
    del b
    yield db
    db.dispose()


def ones(first: int, last: int, points: int = 25) -> list[int]:
    """1 at hourly points first..last (0 is 24 hours ago, 24 is now), 0 elsewhere."""
    return [1 if first <= k <= last else 0 for k in range(points)]


def test_figures_from_a_known_day(known):
    with known.read() as session:
        dash = dashboard(session, RULES, NOW, 24)
    assert dash.hours == 24 and dash.start == ago(24) and dash.end == NOW
    assert dash.depth.times[0] == ago(24) and dash.depth.times[-1] == NOW
    assert len(dash.depth.times) == 25

    # depth at hour k (k hours after the window's start): an item counts from its arrival to
    # its resolution, in the tier of its latest event then
    depth = dash.depth.depth
    assert depth["crisis"] == ones(0, 3)  # A: resolved 20 h ago (point 4)
    assert depth["red"] == ones(18, 24)  # F from 6 h ago to 5h30 ago, B from 5 h ago on
    # C from 10 h ago until 3 h ago; G from 8 h ago, resolved 7h30 ago, reopened 6 h ago
    assert depth["amber"] == [0] * 14 + [1, 1, 2, 1, 2, 2, 2, 1, 1, 1, 1]
    assert depth["green"] == ones(21, 22)  # D: 3 h ago until 1 h ago
    assert depth["unscored"] == ones(22, 24)  # E: 2 h ago on

    # SLA breaches: B (red, 5 h) and E (unscored, 2 h) wait past their SLA; G (amber, exactly
    # 8 h) does not yet. Ran out in the window: B and E again; not C nor F (resolved in time),
    # nor G (its SLA ran out just now, but it was first resolved in time: the reopening does
    # not count), nor A (ran out before the window)
    assert dash.breaches.waiting_past_sla == {"crisis": 0, "red": 1, "amber": 0, "unscored": 1}
    assert dash.breaches.ran_out_in_window == {"crisis": 0, "red": 1, "amber": 0, "unscored": 1}

    # first actions within the window: A after 10 h, F after 10 min, C after 1 h, G after
    # 30 min, D after 2 h; B and E were never acted on
    assert dash.first_action.handled == {
        "crisis": 1,
        "red": 1,
        "amber": 2,
        "green": 1,
        "unscored": 0,
    }
    assert dash.first_action.median_minutes == {
        "crisis": 600.0,
        "red": 10.0,
        "amber": 45.0,
        "green": 120.0,
        "unscored": None,
    }

    # resolved in the window: A (supported, agrees), C (false positive: distress overruled),
    # D (confirmed the flagged spam: agrees), F (relabel took self_harm back: overruled)
    overrides = dash.overrides
    assert overrides.judged == {
        "self_harm": 2,
        "distress": 1,
        "hostile": 0,
        "spam": 1,
        "corumination": 0,
    }
    assert overrides.overruled == {
        "self_harm": 1,
        "distress": 1,
        "hostile": 0,
        "spam": 0,
        "corumination": 0,
    }
    assert overrides.rate("self_harm") == 0.5 and overrides.rate("distress") == 1.0
    assert overrides.rate("spam") == 0.0 and overrides.rate("hostile") is None
    assert (overrides.resolved, overrides.any_overruled, overrides.any_rate) == (4, 2, 0.5)

    # received in the window: B, C, F flagged only; D reported and flagged; E reported only
    # (twice: one item); G neither
    reports = dash.reports
    assert (reports.reported_only, reports.flagged_only, reports.both, reports.neither) == (
        1,
        3,
        1,
        1,
    )


def test_a_shorter_window_leaves_earlier_history_out(known):
    with known.read() as session:
        dash = dashboard(session, RULES, NOW, 3)
    assert len(dash.depth.times) == 4
    assert dash.depth.depth["red"] == [1, 1, 1, 1]
    assert dash.depth.depth["green"] == [1, 1, 0, 0]  # D, from the first point on
    assert dash.depth.depth["amber"] == [1, 1, 1, 1]  # G; C was resolved at the first point
    assert dash.first_action.handled["green"] == 1 and dash.first_action.handled["amber"] == 0
    assert dash.overrides.resolved == 1  # D only: C was resolved as the window opened
    # the window is (start, end]: D arrived at its start, so only E counts
    assert (dash.reports.reported_only, dash.reports.flagged_only, dash.reports.both) == (1, 0, 0)


def test_an_escalation_of_an_unflagged_post_overrules_the_model_on_self_harm(database_url):
    """review.OUTCOME_LABELS: escalating to the crisis team confirms self_harm (as the feedback
    rows read it), so both the dashboard and /v1/stats count a post the model flagged only
    distress, then escalated, as overruled on self_harm; a flagged one agrees with the model."""
    db = Database(database_url)
    make = Builder(db)
    missed = make.item("M", ago(3), "amber", ["distress"])
    make.event(missed, ago(2), "resolve", outcome=Outcome.ESCALATED_TO_CRISIS_TEAM)
    caught = make.item("K", ago(3), "red", ["self_harm"])
    make.event(caught, ago(2), "resolve", outcome=Outcome.ESCALATED_TO_CRISIS_TEAM)
    with db.read() as session:
        overrides = dashboard(session, RULES, NOW).overrides
        stats = queue_stats(session, RULES, NOW)
    db.dispose()
    assert (overrides.judged["self_harm"], overrides.overruled["self_harm"]) == (2, 1)
    assert (overrides.judged["distress"], overrides.overruled["distress"]) == (1, 0)
    assert (overrides.resolved, overrides.any_overruled) == (2, 1)
    assert (stats.resolved, stats.override_rate) == (2, 0.5)


def test_an_empty_database_gives_zeros_and_no_medians(database_url):
    db = Database(database_url)
    with db.read() as session:
        dash = dashboard(session, RULES, NOW)
    db.dispose()
    assert all(values == [0] * 25 for values in dash.depth.depth.values())
    assert set(dash.first_action.median_minutes.values()) == {None}
    assert dash.overrides.any_rate is None and dash.reports.neither == 0
    rows = csv_rows(dash)
    assert ("override_rate", "any", "rate", "") in rows  # no data: an empty value


def test_the_window_is_bounded():
    with pytest.raises(ValueError):
        dashboard(None, RULES, NOW, 0)
    with pytest.raises(ValueError):
        dashboard(None, RULES, NOW, 24 * 7 + 1)


@pytest.mark.parametrize(
    ("flags", "outcome", "relabels", "judged", "overruled"),
    [
        (["self_harm"], Outcome.SUPPORTED, None, {"self_harm"}, set()),
        (["self_harm", "distress"], Outcome.FALSE_POSITIVE, None, {"self_harm", "distress"},
         {"self_harm", "distress"}),
        ([], Outcome.CONFIRMED_HOSTILE, None, {"hostile"}, {"hostile"}),
        (["spam"], Outcome.CONFIRMED_SPAM, None, {"spam"}, set()),
        (["distress"], Outcome.NO_ACTION, {"distress": 0, "self_harm": 1},
         {"distress", "self_harm"}, {"distress", "self_harm"}),
        (["self_harm", "spam"], Outcome.FALSE_POSITIVE, {"self_harm": 1},
         {"self_harm", "spam"}, {"spam"}),
        # an escalation confirms self_harm (review.OUTCOME_LABELS, as the feedback rows do)
        (["distress"], Outcome.ESCALATED_TO_CRISIS_TEAM, None, {"distress", "self_harm"},
         {"self_harm"}),
        (["self_harm"], Outcome.ESCALATED_TO_CRISIS_TEAM, None, {"self_harm"}, set()),
    ],
)  # fmt: skip
def test_overruled_labels_are_disagreement_per_label(flags, outcome, relabels, judged, overruled):
    assert judged_labels(flags, outcome, relabels) == judged
    assert overruled_labels(flags, outcome, relabels) == overruled
    assert overruled <= judged
    if overruled:  # a per-label overrule is an overrule of /v1/stats too
        assert disagrees_with_model(flags, outcome, relabels)


# --- the SVG helper ------------------------------------------------------------------------------
def parsed(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    return root


def test_bar_chart_is_well_formed_labelled_and_escapes_text():
    svg = bar_chart(
        "chart-x",
        'Breaches <per> "tier" & more',
        ["Crisis", "Red & co"],
        [Series("now <open>", [3, None], "#b3261e"), Series("window", [0, 12])],
        description="crisis 3, red none",
    )
    root = parsed(svg)
    title = root.find(f"{SVG}title")
    assert title.text == 'Breaches <per> "tier" & more' and title.get("id") == "chart-x-title"
    assert root.get("aria-labelledby") == "chart-x-title chart-x-desc"
    assert root.find(f"{SVG}desc").text == "crisis 3, red none"
    bars = root.findall(f"{SVG}rect[{SVG}title]")
    assert [bar.find(f"{SVG}title").text for bar in bars] == [
        "now <open>, Crisis: 3",
        "window, Crisis: 0",
        "window, Red & co: 12",
    ]
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[1] == 0 and heights[2] > heights[0] > 0
    assert "style=" not in svg and "<script" not in svg  # the console's CSP allows neither


def test_step_chart_is_well_formed_with_a_point_title_each():
    hours = [f"{h:02d}:00" for h in range(5)]
    svg = step_chart(
        "chart-depth",
        "Depth",
        hours,
        [Series("Red", [0, 1, 2, 2, 0], "#b3261e", "7 3"), Series("Green", [0] * 5)],
    )
    root = parsed(svg)
    points = root.findall(f".//{SVG}circle/{SVG}title")
    assert len(points) == 10 and points[2].text == "Red, 02:00: 2"
    paths = root.findall(f".//{SVG}path")
    assert len(paths) == 2 and paths[0].get("stroke-dasharray") == "7 3"
    assert paths[0].get("d").startswith("M") and "H" in paths[0].get("d")


def test_chart_input_is_checked():
    with pytest.raises(ValueError):
        bar_chart("bad id", "t", ["a"], [Series("s", [1])])
    with pytest.raises(ValueError):
        step_chart("ok", "t", ["a", "b"], [Series("s", [1])])


def test_a_long_legend_wraps_and_the_chart_grows_to_hold_it():
    short = parsed(bar_chart("a", "t", ["x"], [Series("one", [1]), Series("two", [2])]))
    names = [f"a rather long series name number {n}" for n in range(4)]
    long = parsed(bar_chart("b", "t", ["x"], [Series(name, [1]) for name in names]))
    assert float(long.get("height")) > float(short.get("height"))
    legend = [t for t in long.findall(f"{SVG}text") if t.text in names]
    assert len({t.get("y") for t in legend}) > 1  # more than one row
    assert all(float(t.get("x")) < 640 for t in legend)


def test_durations_read_in_the_unit_that_fits():
    assert [minutes(v) for v in (0, 0.25, 4.5, 45, 119, 150, 600)] == [
        "0 min",
        "15 s",
        "4.5 min",
        "45 min",
        "119 min",
        "2.5 h",
        "10 h",
    ]


def test_data_table_rows_follow_the_categories():
    table = data_table("c", "tier", ["Crisis", "Red"], [Series("n", [1, None])])
    assert table.header == ("tier", "n")
    assert table.rows == (("Crisis", "1"), ("Red", "–"))


def test_every_figure_has_a_well_formed_chart_and_a_table(known):
    with known.read() as session:
        dash = dashboard(session, RULES, NOW)
    shown = figures(dash)
    assert [figure.key for figure in shown] == list(FIGURES)
    for figure in shown:
        parsed(figure.svg)
        assert figure.table.rows and all(
            len(row) == len(figure.table.header) for row in figure.table.rows
        )


# --- the page and the CSV ------------------------------------------------------------------------
def test_dashboard_page_needs_a_signed_in_moderator(console):  # noqa: F811
    client, keys, _ = console
    reply = client.get("/console/dashboard", headers=HTML, follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/sign-in?next=%2Fconsole%2Fdashboard"
    assert_error_shape(client.get("/console/dashboard"), 401, "session")
    assert_error_shape(client.get("/console/dashboard.csv"), 401, "session")
    # an API key alone is not a console session
    assert_error_shape(
        client.get("/console/dashboard.csv", headers={"authorization": f"Bearer {keys['admin']}"}),
        401,
        "session",
    )


def test_dashboard_page_shows_every_figure_and_no_post_text(console):  # noqa: F811
    client, keys, db = console
    red = put(db, "r1", "red", ["self_harm"], text=SECRET_TEXT)
    put(db, "g1", "green", text=SECRET_TEXT)
    token = sign_in(client, keys["alice"])
    client.post(  # a first action, so time to first action has a value
        f"/items/{red}/events", data={"type": "claim", "csrf_token": token}, headers=HTML
    )
    page = client.get("/console/dashboard", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    for key in FIGURES:
        assert f'data-figure="{key}"' in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == len(FIGURES)
    assert html.count("<summary>Data table</summary>") == len(FIGURES)
    assert "Red, " in html and "Items waiting at each hour (UTC)" in html
    assert SECRET_TEXT not in html and "zebra" not in html
    assert 'href="/console/dashboard.csv?hours=24"' in html
    assert 'href="/static/dashboard.css"' in html
    assert '<a href="/console/dashboard">Dashboard</a>' in client.get("/", headers=HTML).text

    week = client.get("/console/dashboard?hours=168", headers=HTML)
    assert week.status_code == 200 and "the last 168 hours" in week.text
    refused = client.get("/console/dashboard?hours=999", headers=HTML)
    assert refused.status_code == 422 and "hours" in refused.text


def test_dashboard_csv_has_the_header_and_rows(console):  # noqa: F811
    client, keys, db = console
    put(db, "r1", "red", ["self_harm"], text=SECRET_TEXT)
    put(db, "a1", "amber", ["distress"], text=SECRET_TEXT)
    sign_in(client, keys["bob"])
    reply = client.get("/console/dashboard.csv")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = reply.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="triage-dashboard-')
    assert disposition.endswith('.csv"')
    assert reply.headers["cache-control"] == "no-store"
    assert SECRET_TEXT not in reply.text
    rows = list(csv.reader(io.StringIO(reply.text)))
    assert tuple(rows[0]) == CSV_HEADER
    body = rows[1:]
    assert {row[0] for row in body} == {"window", *FIGURES}
    assert all(len(row) == 4 for row in body)
    depth_now = [row for row in body if row[0] == "queue_depth"][-5:]
    assert {row[1]: row[3] for row in depth_now} == {
        "crisis": "0",
        "red": "1",
        "amber": "1",
        "green": "0",
        "unscored": "0",
    }
    assert ["reports_vs_flags", "items", "flagged_only", "2"] in body
    assert ["sla_breaches", "red", "waiting_past_sla_now", "0"] in body

    one = client.get("/console/dashboard.csv?figure=sla_breaches&hours=72")
    assert one.status_code == 200 and "sla-breaches" in one.headers["content-disposition"]
    kept = list(csv.reader(io.StringIO(one.text)))[1:]
    assert {row[0] for row in kept} == {"window", "sla_breaches"}
    assert_error_shape(client.get("/console/dashboard.csv?figure=text"), 422, "figure")


def test_csv_of_known_figures(known):
    with known.read() as session:
        dash = dashboard(session, RULES, NOW)
    rows = csv_rows(dash)
    assert rows[:2] == [
        ("window", "all", "start", "2026-01-09T12:00:00Z"),
        ("window", "all", "end", "2026-01-10T12:00:00Z"),
    ]
    assert ("queue_depth", "amber", "2026-01-10T04:00:00Z", "2") in rows
    assert ("first_action", "amber", "median_minutes", "45") in rows
    assert ("override_rate", "self_harm", "rate", "0.5") in rows
    assert ("reports_vs_flags", "items", "both", "1") in rows
    text = to_csv(rows)
    assert text.startswith("figure,series,measure,value\r\n")
    assert len(text.splitlines()) == len(rows) + 1
