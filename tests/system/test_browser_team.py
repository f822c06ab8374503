"""Team work in a real browser (issue 14, point 5): assign an item, the Mine and Unassigned
views, tick two items and resolve them as spam in one go (one event each), and search.

Marked `browser` like tests/system/test_browser.py, whose server and page fixtures it reuses (a real
server on a temporary SQLite database with the shipped model). Saves team-work.png to
build/screenshots, or to docs/screenshots with TRIAGE_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import pytest

from tests.system.test_browser import _item_state, _request, _screenshot, _sign_in, page, server

pytestmark = pytest.mark.browser

__all__ = ["page", "server"]  # the fixtures, imported for pytest to find

# Hand-written posts (not from any dataset): a spam wave by one account
SPAM = [
    {"id": "s1", "author_id": "deals-4u", "text": "Cheap pills online!!! Click http://x1.biz"},
    {
        "id": "s2",
        "author_id": "deals-4u",
        "text": "FREE prize waiting, call 0906 now http://x2.biz",
    },
]


def _row(page, item_id: int):
    return page.locator(f'[data-row][data-item-id="{item_id}"]')


def test_assign_bulk_resolve_and_search(server, page):
    from playwright.sync_api import expect

    base, keys, ingested = server
    posts = [{**post, "community": "peer-support"} for post in SPAM]
    results = _request(f"{base}/v1/items", keys["platform"], {"items": posts})["results"]
    spam = {result["id"]: result["item_id"] for result in results}
    hopeless, breathing = ingested["p2"]["item_id"], ingested["p4"]["item_id"]

    _sign_in(page, base, keys["alice"])
    expect(page).to_have_url(f"{base}/")

    # assign one item to bob and one to me, from their item pages
    page.goto(f"{base}/items/{hopeless}")
    expect(page.get_by_test_id("assigned-to")).to_have_text("Not assigned to anyone.")
    page.get_by_label("Assign to").select_option("bob")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_test_id("assigned-to")).to_contain_text("Assigned to bob")
    page.goto(f"{base}/items/{breathing}")
    page.get_by_role("button", name="Assign", exact=True).click()  # me, chosen by default
    expect(page.get_by_test_id("assigned-to")).to_contain_text("Assigned to you")
    events = _item_state(base, keys["alice"], hopeless)["events"]
    assert [(e["type"], e["actor"], e["assignee"]) for e in events if e["type"] == "assign"] == [
        ("assign", "alice", "bob")
    ]

    # the views: Mine is what is assigned to me, Unassigned leaves both out
    page.goto(f"{base}/")
    page.get_by_test_id("queue-views").get_by_role("link", name="Mine").click()
    expect(page.locator("[data-row]")).to_have_count(1)
    expect(_row(page, breathing)).to_be_visible()
    page.get_by_test_id("queue-views").get_by_role("link", name="Unassigned").click()
    expect(_row(page, breathing)).to_have_count(0)
    expect(_row(page, hopeless)).to_have_count(0)
    expect(_row(page, spam["s1"])).to_be_visible()

    # tick the two spam posts in the whole queue and resolve them as spam at once
    page.get_by_test_id("queue-views").get_by_role("link", name="All").click()
    expect(_row(page, hopeless).get_by_test_id("assignee")).to_have_text("for bob")
    page.get_by_label("Flag").select_option("spam")
    page.get_by_role("button", name="Apply").click()
    for external_id in ("s1", "s2"):
        page.get_by_label(f"Select item #{spam[external_id]}").check()
    page.get_by_label("Note on each (optional)").fill("one spam wave")
    page.evaluate("window.scrollTo(0, 0)")
    _screenshot(page, "team-work")
    page.get_by_role("button", name="Resolve as spam").click()
    expect(page.get_by_test_id("bulk-results")).to_be_visible()
    expect(page.locator("h1")).to_have_text("Resolve as spam: 2 of 2 items")
    for item_id in spam.values():
        item = _item_state(base, keys["alice"], item_id)
        assert (item["state"], item["outcome"]) == ("resolved", "confirmed_spam")
        person = [(e["type"], e["actor"]) for e in item["events"] if e["actor_kind"] == "person"]
        assert person == [("resolve", "alice")]  # one event per item, mine

    # search: by words in the text, then by author (resolved items are found too)
    page.get_by_role("link", name="Back to the queue").last.click()
    expect(_row(page, spam["s1"])).to_have_count(0)
    expect(_row(page, hopeless)).to_be_visible()
    page.get_by_label("Search", exact=True).fill("BREATHING exercise")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("[data-row]")).to_have_count(1)
    expect(_row(page, breathing)).to_be_visible()
    page.get_by_label("Search", exact=True).fill("deals-4u")
    page.get_by_label("Search in").select_option("author")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("[data-row]")).to_have_count(2)
    expect(page.get_by_test_id("search-notice")).to_contain_text("in every state")
