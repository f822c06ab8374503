"""Member reports and alerts in a real browser (Chromium, Playwright) against a real server on
the shipped model, with two alert endpoints: a receiver on 127.0.0.1 that answers 200, and a
closed port on localhost, disabled after repeated failures. Members' reports go through POST
/v1/reports; the queue shows them and filters on them, the item page keeps them apart from the
model's flags; /console/alerts shows each endpoint's status and the deliveries, never post text
nor a webhook URL's path. Saves the screenshots `reports` and `alerts` (docs/screenshots/ with
TRIAGE_UPDATE_SCREENSHOTS=1, else build/screenshots/).

Runs with `pytest -m browser tests/system/test_browser_reports_alerts.py`."""

from __future__ import annotations

import re
import time

import pytest

from tests.queue.test_webhooks import SECRET, Receiver
from tests.system.browser_support import console_server, free_port
from tests.system.test_browser import (  # noqa: F401 (page is a fixture)
    POSTS,
    _is_blurred,
    _request,
    _screenshot,
    _sign_in,
    page,
)

pytestmark = pytest.mark.browser

COMMUNITY = "peer-support"
# Hand-written posts (not from any dataset), high-risk for the shipped model, so that each
# sends an alert: with POSTS' p1 and p2, four to each endpoint.
MORE_HIGH_RISK = [
    {"id": "h1", "text": "I cut myself again last night and I want to die. Nobody would miss me."},
    {"id": "h2", "text": "I keep thinking about ending my life. I have the rope ready tonight."},
]
DISABLE_AFTER = 3
REPORTS = (("m1", "bullying"), ("m2", "bullying"), ("m3", "harassment"))


@pytest.fixture(scope="module")
def endpoints():
    """(the receiver that answers 200, the URL of a closed port on localhost)."""
    working = Receiver(statuses=[200]).start()
    closed = f"http://localhost:{free_port()}/pager/relay-t0ken"  # nothing listens there
    yield working, closed
    working.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory, endpoints):
    """(base url, keys, ingest results by id) of a real server sending alerts on crisis and red
    items to both endpoints; named as test_browser's fixture, so that its `page` uses it."""
    working, closed = endpoints
    env = {
        "TRIAGE_WEBHOOK_URLS": f"{working.url},{closed}",
        "TRIAGE_WEBHOOK_SECRET": SECRET,
        "TRIAGE_WEBHOOK_ON": "crisis,red",
        "TRIAGE_WEBHOOK_MAX_ATTEMPTS": "1",
        "TRIAGE_WEBHOOK_DISABLE_AFTER": str(DISABLE_AFTER),
        "TRIAGE_WEBHOOK_POLL_INTERVAL_S": "0.3",
    }
    with console_server(tmp_path_factory.mktemp("reports-alerts"), env) as running:
        posts = [{**post, "community": COMMUNITY} for post in [*POSTS, *MORE_HIGH_RISK]]
        ingest = _request(f"{running.base}/v1/items", running.keys["platform"], {"items": posts})
        yield running.base, running.keys, {result["id"]: result for result in ingest["results"]}


def _wait_for_alerts(base: str, admin_key: str, seconds: float = 60) -> list[dict]:
    """GET /v1/webhooks until nothing is pending and one endpoint is disabled."""
    deadline = time.monotonic() + seconds
    while True:
        listed = _request(f"{base}/v1/webhooks", admin_key)["endpoints"]
        settled = len(listed) == 2 and not any(e["deliveries"]["pending"] for e in listed)
        if settled and any(not e["enabled"] for e in listed):
            return listed
        if time.monotonic() > deadline:
            pytest.fail(f"alerts did not settle in {seconds} s: {listed}")
        time.sleep(0.3)


def test_member_reports_in_the_queue_and_on_the_item(server, page):  # noqa: F811
    from playwright.sync_api import expect

    base, keys, ingested = server
    r1, p1 = ingested["r1"], ingested["p1"]  # r1: a hostile reply to p1, a crisis post
    for reporter, reason in REPORTS:
        report = {
            "community": COMMUNITY,
            "item_id": "r1",
            "reporter_id": reporter,
            "reason": reason,
            "text": "They keep picking on people who are struggling.",
        }
        assert _request(f"{base}/v1/reports", keys["platform"], report)["created"] is True
    worried = {
        "community": COMMUNITY,
        "item_id": "p2",
        "reporter_id": "m4",
        "reason": "self_harm_concern",
    }
    _request(f"{base}/v1/reports", keys["platform"], worried)

    _sign_in(page, base, keys["alice"])
    expect(page).to_have_url(f"{base}/")
    row = page.locator(f'[data-row][data-item-id="{r1["item_id"]}"]')
    expect(row.get_by_test_id("reported")).to_have_text("reported (3)")
    expect(row.locator(".reasons")).to_contain_text(
        "reported by 3 members: bullying (2), harassment"
    )
    expect(page.get_by_test_id("reported")).to_have_count(2)

    # the Member reports filter: only reported items
    page.get_by_label("Member reports").select_option("true")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"[?&]reported=true(&|$)"))
    rows = page.locator("[data-row]")
    expect(rows).to_have_count(2)
    reported_ids = {rows.nth(n).get_attribute("data-item-id") for n in range(2)}
    assert reported_ids == {str(r1["item_id"]), str(ingested["p2"]["item_id"])}
    _screenshot(page, "reports")

    # the item: the members' reports beside, and apart from, the model's flags
    row.get_by_role("link").first.click()
    expect(page).to_have_url(f"{base}/items/{r1['item_id']}")
    reports = page.get_by_test_id("item-reports")
    expect(reports).to_contain_text("Reported by 3 members: bullying (2), harassment")
    expect(reports).to_contain_text("members' word, not the model's")
    flags = page.locator(".summary div", has=page.locator("dt", has_text="Flags")).locator("dd")
    for reason in ("bullying", "harassment"):
        expect(flags).not_to_contain_text(reason)
    trail = page.get_by_test_id("audit-trail")
    expect(trail).to_contain_text("Reported by 3 members")

    # a thread excerpt revealed before a claim stays revealed after it
    excerpt = page.locator(f"#thread-{p1['item_id']}")
    assert _is_blurred(excerpt)
    page.locator(f'[data-reveal][aria-controls="thread-{p1["item_id"]}"]').click()
    assert not _is_blurred(excerpt)
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_test_id("item-state")).to_have_text("claimed by alice")
    assert f"thread-{p1['item_id']}" in page.url
    assert not _is_blurred(page.locator(f"#thread-{p1['item_id']}"))


def test_alerts_page_shows_endpoint_statuses_and_deliveries(server, page, endpoints):  # noqa: F811
    from playwright.sync_api import expect

    base, keys, ingested = server
    working, closed = endpoints
    high_risk = [post for post in ingested.values() if post["tier"] in ("crisis", "red")]
    assert len(high_risk) > DISABLE_AFTER, [(p["id"], p["tier"]) for p in ingested.values()]
    listed = _wait_for_alerts(base, keys["admin"])
    assert len(working.requests) == len(high_risk)

    _sign_in(page, base, keys["bob"])
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Alerts").click()
    expect(page).to_have_url(f"{base}/console/alerts")
    expect(page.get_by_role("heading", name="Alerts", level=1)).to_be_visible()

    ids = {("localhost" in e["target"]): e["id"] for e in listed}
    down = page.locator(f'[data-endpoint="{ids[True]}"]')
    expect(down).to_contain_text("localhost")
    expect(down.get_by_test_id("endpoint-status")).to_contain_text("disabled since")
    expect(down).to_contain_text("connection_refused")
    expect(down).to_contain_text(f"0 delivered, {len(high_risk)} failed, 0 pending")
    up = page.locator(f'[data-endpoint="{ids[False]}"]')
    expect(up.get_by_test_id("endpoint-status")).to_have_text("active")
    expect(up).to_contain_text(f"{len(high_risk)} delivered, 0 failed, 0 pending")

    deliveries = page.get_by_test_id("deliveries").locator("tbody tr")
    expect(deliveries).to_have_count(2 * len(high_risk))
    table = page.get_by_test_id("deliveries")
    expect(table).to_contain_text("endpoint_disabled")
    expect(table).to_contain_text("HTTP 200")
    for post in high_risk:
        expect(table.get_by_role("link", name=f"#{post['item_id']}", exact=True)).to_have_count(2)

    html = page.content()
    assert "t0ken" not in html and "relay" not in html  # a webhook URL's path is its secret
    for post in [*POSTS, *MORE_HIGH_RISK]:
        assert post["text"] not in html
    _screenshot(page, "alerts")
