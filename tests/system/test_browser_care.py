"""Care for the moderator in a real browser (issue 14, point 7): a phone's 390 x 844 viewport
shows the queue as cards and the item page with nothing wider than the screen and its buttons
in reach; text revealed before a claim stays revealed on the page after it, and the same link
opens blurred for another moderator. Marked `browser`, on the server of
tests/system/test_browser.py;
saves docs/screenshots/phone-queue.png when asked (TRIAGE_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from tests.system.test_browser import (  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    _is_blurred,
    _screenshot,
    _sign_in,
    page,
    server,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WIDER_THAN_THE_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [document.documentElement.scrollWidth, document.body.scrollWidth];
  const out = Array.from(document.querySelectorAll("body *"))
    .filter((el) => !el.closest(".visually-hidden, .skip, thead, .scores, .history"))
    .filter((el) => { const box = el.getBoundingClientRect();
      return box.width > 0 && (box.right > width + 1 || box.left < -1); })
    .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
  return {width, wide, out: out.slice(0, 10)};
}"""


@contextmanager
def browser_page(viewport: dict):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=viewport, locale="en-GB", has_touch=True)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def _assert_fits(view) -> None:
    found = view.evaluate(WIDER_THAN_THE_SCREEN)
    assert found["width"] == PHONE["width"]
    assert max(found["wide"]) <= found["width"], found
    assert not found["out"], f"wider than the screen: {found['out']}"


def _in_reach(locator) -> None:
    box = locator.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert box["height"] >= 32, box  # big enough to tap


def test_a_phone_shows_the_queue_and_an_item_without_sideways_scrolling(server):  # noqa: F811
    from playwright.sync_api import expect

    base, keys, ingested = server
    with browser_page(PHONE) as phone:
        _sign_in(phone, base, keys["alice"])
        expect(phone.get_by_test_id("queue")).to_be_visible()
        rows = phone.locator("[data-row]")
        expect(rows.first).to_be_visible()
        assert rows.first.evaluate("row => getComputedStyle(row).display") == "flex"  # a card
        _assert_fits(phone)
        _in_reach(phone.get_by_role("button", name="Apply"))
        _in_reach(rows.first.locator("[data-reveal]"))
        top = phone.locator("[data-testid=queue]").evaluate("t => t.getBoundingClientRect().top")
        phone.evaluate(f"window.scrollTo(0, {top - 8})")  # the cards, for the README
        _screenshot(phone, "phone-queue")

        p1 = ingested["p1"]
        phone.goto(f"{base}/items/{p1['item_id']}")
        expect(phone.get_by_test_id("crisis-panel")).to_contain_text("116 123")
        _assert_fits(phone)
        for action in ("claim", "resolve", "escalate", "comment"):
            button = phone.locator(f'form[data-action="{action}"] button[type="submit"]')
            button.scroll_into_view_if_needed()
            _in_reach(button)
        for table in (".scores", ".history"):  # wide tables scroll inside themselves
            if phone.locator(table).count():
                box = phone.locator(table).first.bounding_box()
                assert box["x"] + box["width"] <= PHONE["width"] + 1, (table, box)


def test_revealed_text_stays_revealed_after_a_claim_for_that_moderator_only(server, page):  # noqa: F811
    from playwright.sync_api import expect

    base, keys, ingested = server
    r1 = ingested["r1"]  # a reply to the crisis post: its parent is blurred too
    _sign_in(page, base, keys["bob"])
    page.goto(f"{base}/items/{r1['item_id']}")
    parent = page.locator("#parent-text")
    assert _is_blurred(parent)
    page.locator('[data-reveal][aria-controls="parent-text"]').click()
    assert not _is_blurred(parent)

    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_test_id("item-state")).to_have_text("claimed by bob")
    parent = page.locator("#parent-text")
    assert not _is_blurred(parent) and parent.get_attribute("aria-hidden") is None
    reveal = page.locator('[data-reveal][aria-controls="parent-text"]')
    expect(reveal).to_have_attribute("aria-expanded", "true")
    expect(reveal).to_have_text("Hide text")
    claimed_url = page.url
    assert "revealed=parent-text" in claimed_url

    elsewhere = page.context.browser.new_context(locale="en-GB")  # alice, the same link
    try:
        other = elsewhere.new_page()
        _sign_in(other, base, keys["alice"])
        other.goto(claimed_url)
        expect(other.get_by_test_id("item-state")).to_have_text("claimed by bob")
        text = other.locator("#parent-text")
        assert _is_blurred(text) and text.get_attribute("aria-hidden") == "true"
    finally:
        elsewhere.close()

    reveal.click()  # bob can still hide it again
    assert _is_blurred(page.locator("#parent-text"))
    page.get_by_role("button", name="Release").click()  # nothing revealed now: blurred after
    expect(page.get_by_test_id("item-state")).to_have_text("open")
    assert _is_blurred(page.locator("#parent-text"))
