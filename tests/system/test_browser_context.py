"""The item page's context for a decision in a real browser: the repeat-risk note, the link to
the platform, the thread with its risky text blurred until revealed, the author's other items,
and the audit trail in plain words. Saves item-context.png (docs/screenshots with
TRIAGE_UPDATE_SCREENSHOTS=1, else build/screenshots).

Runs with `pytest -m browser tests/system/test_browser_context.py` (the server and browser fixtures
are test_browser's: a real server on the shipped model, headless Chromium)."""

from __future__ import annotations

import pytest

from tests.system import test_browser
from tests.system.test_browser import _is_blurred, _request, _screenshot, _sign_in

pytestmark = pytest.mark.browser
server, page = test_browser.server, test_browser.page  # the fixtures, reused

COMMUNITY = "peer-support"
POST_URL = "https://forum.example.org/t/rough-night/90#post-3"
# Hand-written posts (not from any dataset): one author's earlier posts, then a thread where
# the same author replies and someone answers them.
EARLIER = [
    {
        "id": "c1",
        "author_id": "rowan",
        "text": "Some days I think everyone would be better off without me around.",
    },
    {"id": "c2", "author_id": "rowan", "text": "Managed a short walk today. Small win, I guess."},
]
THREAD = [
    {"id": "p90", "thread_id": "t90", "author_id": "ash", "text": "Rough night. Anyone awake?"},
    {
        "id": "r91",
        "thread_id": "t90",
        "parent_id": "p90",
        "author_id": "rowan",
        "url": POST_URL,
        "parent_text": "Rough night. Anyone awake?",
        "text": "Awake again. I have been giving my things away this week and I have the pills "
        "in the drawer. I don't think I'll be here much longer.",
    },
    {
        "id": "r92",
        "thread_id": "t90",
        "parent_id": "r91",
        "author_id": "sky",
        "text": "Rowan, I'm here. Please call the crisis line tonight, you matter to us.",
    },
]


def _stored(base: str, keys: dict) -> dict[str, int]:
    """The posts ingested, c1 resolved by bob as escalated to the crisis team, two members'
    reports of r91 and alice's claim of it; the item ids by platform id."""
    ids = {}
    for batch in (EARLIER, THREAD):
        body = {"items": [{**post, "community": COMMUNITY} for post in batch]}
        for result in _request(f"{base}/v1/items", keys["platform"], body)["results"]:
            ids[result["id"]] = result["item_id"]
    outcome = {"type": "resolve", "outcome": "escalated_to_crisis_team"}
    _request(f"{base}/v1/items/{ids['c1']}/events", keys["bob"], outcome)
    for member in ("m1", "m2"):
        report = {
            "community": COMMUNITY,
            "item_id": "r91",
            "reporter_id": member,
            "reason": "self_harm_concern",
        }
        _request(f"{base}/v1/reports", keys["platform"], report)
    _request(f"{base}/v1/items/{ids['r91']}/events", keys["alice"], {"type": "claim"})
    return ids


def test_item_page_gives_context_for_the_decision(server, page):
    from playwright.sync_api import expect

    base, keys, _ = server
    ids = _stored(base, keys)
    _sign_in(page, base, keys["alice"])
    page.goto(f"{base}/items/{ids['r91']}")

    note = page.get_by_test_id("repeat-risk")
    expect(note).to_contain_text("escalated to the crisis team) in the last 30 days")
    link = page.get_by_test_id("post-link")
    expect(link).to_have_attribute("href", POST_URL)
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(link).to_contain_text("Open the post on forum.example.org")

    thread = page.get_by_test_id("thread")
    expect(thread.locator(f'[data-thread-item="{ids["p90"]}"] .relation')).to_have_text(
        "replied to"
    )
    expect(thread.locator(f'[data-thread-item="{ids["r92"]}"] .relation')).to_have_text("reply")
    expect(thread.locator(".this-item")).to_contain_text("this item")

    authors = page.get_by_test_id("author-items")
    rows = authors.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(f"#{ids['c2']}")  # most recent first
    expect(rows.nth(1)).to_contain_text("resolved: escalated to the crisis team")
    expect(authors).not_to_contain_text("Rough night")  # other authors' posts are not listed

    trail = page.get_by_test_id("audit-trail").locator("li")
    expect(trail.filter(has_text="Reported by 2 members: self harm concern")).to_have_count(1)
    expect(trail.filter(has_text="Claimed by alice at")).to_have_count(1)
    expect(trail.first).to_contain_text("Received at")

    # The item's own text is blurred (it discloses means); so is any thread text the model put
    # at crisis or red, until the moderator reveals it.
    assert _is_blurred(page.locator("#item-text"))
    reveal = page.locator('[aria-controls="item-text"]')
    expect(reveal).to_have_attribute("aria-expanded", "false")

    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": test_browser.VIEWPORT["width"], "height": min(height, 2400)})
    _screenshot(page, "item-context")
