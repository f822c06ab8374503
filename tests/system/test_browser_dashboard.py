"""The console dashboard in a real browser (Chromium, Playwright) against a real server whose
database holds a made-up day of queue history (seeded through triage.storage with past times, so
the charts have a day to show): the charts are drawn, a data table opens, the CSV downloads, and
no post text is on the page. Saves the screenshot `dashboard` (docs/screenshots/ with
TRIAGE_UPDATE_SCREENSHOTS=1, else build/screenshots/)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import TIER_RULES
from tests.system.browser_support import console_server
from tests.system.test_browser import (  # noqa: F401 (page is a fixture)
    _screenshot,
    _sign_in,
    page,
)
from triage.domain.review import EventType, Outcome, ReviewEvent
from triage.queue import store as queue
from triage.settings import Settings
from triage.storage.database import Database

pytestmark = pytest.mark.browser

SEEDED_TEXT = "seeded post number"  # every seeded item's text starts so; none may be shown
TIERS = ("crisis", "red", "amber", "green", "unscored")
TIER_WEIGHTS = (0.05, 0.17, 0.3, 0.43, 0.05)
FIRST_ACTION_MINUTES = {  # how long moderators take, roughly, per tier
    "crisis": (3, 25),
    "red": (15, 100),
    "amber": (60, 600),
    "green": (60, 1200),
    "unscored": (20, 120),
}


def seed_a_day(database_url: str, now: datetime, seed: int = 7) -> None:
    """About 26 hours of arrivals, first actions, resolutions (some overruling the model),
    a reopening and member reports, each event at its own past time."""
    rng = random.Random(seed)
    rules = Settings().tier_rules
    db = Database(database_url)
    number = 0
    for hours_ago in range(26, 0, -1):
        for _ in range(rng.choice((1, 2, 2, 3))):
            number += 1
            received = now - timedelta(hours=hours_ago, minutes=rng.uniform(0, 59))
            _seed_item(db, rules, rng, number, received, now)
    db.dispose()


def _seed_item(db, rules, rng, number, received, now) -> None:
    tier = rng.choices(TIERS, TIER_WEIGHTS)[0]
    flags = {"crisis": ["self_harm"], "red": ["self_harm"], "amber": ["distress"]}.get(tier, [])
    if tier == "green":
        flags = rng.choices([[], ["spam"], ["hostile"]], (0.7, 0.2, 0.1))[0]
    new = queue.NewItem("peer-support", f"s{number}", f"{SEEDED_TEXT} {number}")
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [new], received, TIER_RULES)
        if tier == "unscored":
            queue.record_failure(session, item.id, "timeout", rules, received)
        else:
            view = queue.ModelView("seed:1", {"self_harm": 0.5}, flags, tier)
            queue.record_scores(session, item.id, view, rules, received)
        if rng.random() < (0.35 if flags and flags[0] in ("spam", "hostile") else 0.08):
            when = received + timedelta(minutes=rng.uniform(2, 40))
            if when < now:
                report = queue.NewReport(f"m{number}", "other")
                queue.add_report(session, item.id, report, rules, when)
    low, high = FIRST_ACTION_MINUTES[tier]
    claimed = received + timedelta(minutes=rng.uniform(low, high))
    resolved = claimed + timedelta(minutes=rng.uniform(3, 30))
    if claimed >= now:
        return  # still waiting
    _event(db, item.id, claimed, ReviewEvent(EventType.CLAIM, "alice"))
    if resolved >= now:
        return  # still being worked on
    if rng.random() < 0.12 and flags:
        _event(
            db, item.id, resolved, ReviewEvent(EventType.RESOLVE, "alice", Outcome.FALSE_POSITIVE)
        )
        return
    outcome = {"spam": Outcome.CONFIRMED_SPAM, "hostile": Outcome.CONFIRMED_HOSTILE}
    chosen = outcome.get(flags[0], Outcome.SUPPORTED) if flags else Outcome.NO_ACTION
    _event(db, item.id, resolved, ReviewEvent(EventType.RESOLVE, "alice", chosen))
    reopened = resolved + timedelta(minutes=rng.uniform(30, 90))
    if tier == "amber" and rng.random() < 0.1 and reopened < now:
        _event(db, item.id, reopened, ReviewEvent(EventType.REOPEN, "bob"))


def _event(db, item_id, at, event) -> None:
    with db.write() as session:
        queue.append_event(session, item_id, event, at)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base url, keys) of a real server on a database seeded with a day of history; named as
    test_browser's fixture, so that its `page` runs against this one."""
    folder = tmp_path_factory.mktemp("dashboard")

    def seed(database_url: str) -> None:
        seed_a_day(database_url, datetime.now(UTC))

    with console_server(folder, before_start=seed) as running:
        yield running.base, running.keys


def test_dashboard_draws_the_figures(server, page):  # noqa: F811
    from playwright.sync_api import expect

    base, keys = server
    _sign_in(page, base, keys["alice"])
    expect(page).to_have_url(f"{base}/")
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(f"{base}/console/dashboard")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    charts = page.locator("svg.chart")
    expect(charts).to_have_count(5)
    for name in (
        "Queue depth per tier",
        "SLA breaches per tier",
        "Median time to first action per tier",
        "Override rate per label",
        "Member reports and model flags",
    ):
        expect(page.get_by_role("img", name=name)).to_be_visible()
    box = charts.first.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150  # drawn, not collapsed
    assert charts.first.locator("circle").count() == 25 * 5  # a point per hour and tier

    # the data table behind a chart, for screen readers and exact values
    figure = page.locator('[data-figure="reports_vs_flags"]')
    figure.get_by_text("Data table").click()
    table = figure.get_by_role("table")
    expect(table).to_be_visible()
    expect(table.get_by_role("row")).to_have_count(5)  # the header and four groups
    figure.get_by_text("Data table").click()

    assert SEEDED_TEXT not in page.content()

    csv = page.request.get(f"{base}/console/dashboard.csv")
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text().startswith("figure,series,measure,value")
    assert "attachment" in csv.headers["content-disposition"]
    assert SEEDED_TEXT not in csv.text()

    page.set_viewport_size({"width": 1280, "height": 1500})  # all five figures
    _screenshot(page, "dashboard")
