"""The console in a real browser: Debian's Chromium driven by Playwright against the real server.

Marked `browser` (not in the default suite): `make test-browser` runs it, and `.ci/run` too.
It starts the real server (tests/system/browser_support.py: uvicorn on a free port with a
temporary SQLite database and the shipped model), ingests a few hand-written posts through the
API, signs in through the sign-in page, works items from open to resolved with the buttons and
with the keyboard, checks the blur and the crisis panel, and saves screenshots of the queue and
item views to build/screenshots/ (git-ignored); with TRIAGE_UPDATE_SCREENSHOTS=1
(`make screenshots`) to the README's docs/screenshots/ instead, so a plain run (CI's) never
rewrites files of the checkout.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import bearer
from tests.system.browser_support import CHROMIUM, console_server

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
SCRATCH_SCREENSHOTS = ROOT / "build" / "screenshots"  # build/ is in .gitignore
VIEWPORT = {"width": 1280, "height": 820}

# Hand-written posts (not from any dataset). p1 is the self-harm disclosure the test follows.
POSTS = [
    {
        "id": "p1",
        "thread_id": "t1",
        "text": "I wrote a goodbye note tonight and I have the pills saved up. "
        "I don't think I can keep going.",
    },
    {
        "id": "r1",
        "thread_id": "t1",
        "parent_id": "p1",
        "parent_text": "I wrote a goodbye note tonight and I have the pills saved up. "
        "I don't think I can keep going.",
        "text": "Stop being so dramatic. Nobody here cares, loser.",
    },
    {
        "id": "p2",
        "text": "I've felt so hopeless and tired of everything this week. I can't sleep "
        "and I feel like a burden to everyone.",
    },
    {"id": "p3", "text": "WIN a FREE phone today!!! Click http://cheap-deals.example.biz now"},
    {"id": "p4", "text": "Thanks everyone, the breathing exercise really helped today."},
    {"id": "p5", "thread_id": "t2", "text": "Does anyone have tips for sleeping better?"},
    {
        "id": "r2",
        "thread_id": "t2",
        "parent_id": "p5",
        "parent_text": "Does anyone have tips for sleeping better?",
        "text": "What a stupid question. Just shut up and google it, idiot.",
    },
]


def _request(url: str, key: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    headers = {**bearer(key), "content-type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=30) as reply:
        return json.loads(reply.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base url, keys, ingest results by id) of a real server on a temporary database."""
    folder = tmp_path_factory.mktemp("browser")
    with console_server(folder, {"TRIAGE_BREAK_NUDGE_AFTER": "2"}) as running:
        posts = [{**post, "community": "peer-support"} for post in POSTS]
        ingest = _request(f"{running.base}/v1/items", running.keys["platform"], {"items": posts})
        results = ingest["results"]
        yield running.base, running.keys, {result["id"]: result for result in results}


@pytest.fixture()
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def screenshot_dir() -> Path:
    """docs/screenshots only when asked (TRIAGE_UPDATE_SCREENSHOTS=1), else a git-ignored one."""
    update = os.environ.get("TRIAGE_UPDATE_SCREENSHOTS", "") == "1"
    return README_SCREENSHOTS if update else SCRATCH_SCREENSHOTS


def _screenshot(page, name: str) -> None:
    """Save a screenshot to screenshot_dir(), reduced to a 128-colour palette where Pillow is
    installed (it comes with the training extra), which keeps the committed PNGs small."""
    path = screenshot_dir() / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path)
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def _sign_in(page, base: str, key: str) -> None:
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/sign-in"), "the console asks to sign in first"
    page.get_by_label("Your moderator API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def _is_blurred(locator) -> bool:
    return "blur" in locator.evaluate("element => getComputedStyle(element).filter")


def _item_state(base: str, key: str, item_id: int) -> dict:
    return _request(f"{base}/v1/items/{item_id}", key)


def test_console_end_to_end(server, page):
    from playwright.sync_api import expect

    base, keys, ingested = server
    p1 = ingested["p1"]
    assert p1["tier"] in ("crisis", "red") and "self_harm" in p1["flags"], p1

    # a platform key is refused, a moderator key signs in
    _sign_in(page, base, keys["platform"])
    expect(page.get_by_test_id("sign-in-error")).to_contain_text("cannot sign in")
    page.get_by_label("Your moderator API key").fill(keys["alice"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/")

    # the queue: most urgent first, tier shown in words, self-harm text blurred, SLA counting
    rows = page.locator("[data-row]")
    expect(rows).to_have_count(len(POSTS))
    priorities = [int(p) for p in page.locator("[data-row] .priority").all_inner_texts()]
    assert priorities == sorted(priorities, reverse=True)
    row = page.locator(f'[data-row][data-item-id="{p1["item_id"]}"]')
    expect(row.locator(".tier")).to_have_text(p1["tier"].capitalize())
    row_text = row.locator(".sensitive-body")
    assert _is_blurred(row_text) and row_text.get_attribute("aria-hidden") == "true"
    timer = row.locator("[data-due]")
    expect(timer).to_contain_text("left")
    before = timer.inner_text()
    expect(timer).not_to_have_text(before)  # counting down
    _screenshot(page, "queue")

    # the item view: text blurred until revealed, the crisis panel beside it
    row.locator("[data-open]").click()
    expect(page).to_have_url(f"{base}/items/{p1['item_id']}")
    text = page.locator("#item-text")
    assert _is_blurred(text) and text.get_attribute("aria-hidden") == "true"
    panel = page.get_by_test_id("crisis-panel")
    for expected in ("988", "116 123", "13 11 14", "Find A Helpline", "Replying safely"):
        expect(panel).to_contain_text(expected)
    _screenshot(page, "item")
    reveal = page.locator('[data-reveal][aria-controls="item-text"]')
    expect(reveal).to_have_text("Reveal text")
    reveal.focus()
    page.keyboard.press("Enter")  # keyboard accessible
    expect(reveal).to_have_attribute("aria-expanded", "true")
    assert not _is_blurred(text) and text.get_attribute("aria-hidden") is None
    expect(page.get_by_test_id("item-text")).to_contain_text("goodbye note")

    # shortcuts stay quiet while typing in a text field
    page.get_by_label("Comment for the other moderators").fill("")
    page.get_by_label("Comment for the other moderators").press_sequentially("called cre")
    assert _item_state(base, keys["alice"], p1["item_id"])["state"] == "open"

    # buttons: open -> claimed -> resolved
    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_test_id("item-state")).to_have_text("claimed by alice")
    expect(page.locator("#status")).to_contain_text("Claimed")
    page.get_by_label("Supported the person").check()
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page).to_have_url(f"{base}/?done=resolve&item={p1['item_id']}")
    expect(page.locator("#status")).to_contain_text(f"Resolved item {p1['item_id']}")
    expect(page.locator(f'[data-item-id="{p1["item_id"]}"]')).to_have_count(0)
    expect(page.get_by_test_id("exposure-count")).to_have_text("1")
    events = _item_state(base, keys["alice"], p1["item_id"])["events"]
    assert [(e["type"], e["actor"]) for e in events if e["actor_kind"] == "person"] == [
        ("claim", "alice"),
        ("resolve", "alice"),
    ]

    # keyboard: j j k selects the first row; o c r Space r works it from open to resolved
    for key in ("j", "j", "k"):
        page.keyboard.press(key)
    selected = page.locator("[data-row].selected")
    expect(selected).to_have_count(1)
    next_id = int(selected.get_attribute("data-item-id"))
    assert next_id == int(page.locator("[data-row]").first.get_attribute("data-item-id"))
    page.keyboard.press("o")
    expect(page).to_have_url(f"{base}/items/{next_id}")
    page.keyboard.press("c")
    expect(page.get_by_test_id("item-state")).to_have_text("claimed by alice")
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.name") == "outcome"
    page.keyboard.press("Space")
    page.keyboard.press("r")
    expect(page).to_have_url(f"{base}/?done=resolve&item={next_id}")
    item = _item_state(base, keys["alice"], next_id)
    assert item["state"] == "resolved" and item["outcome"] == "no_action"
    if item["tier"] in ("crisis", "red"):  # two high-risk items handled; the nudge is at 2
        expect(page.get_by_test_id("exposure-count")).to_have_text("2")
        expect(page.get_by_test_id("nudge")).to_be_visible()

    # a reply: its parent in context, the evidence highlighted (screenshot for the README)
    reply = ingested["r2"]
    page.goto(f"{base}/items/{reply['item_id']}")
    expect(page.locator(".parent")).to_contain_text("tips for sleeping")
    expect(page.locator(".thread")).to_contain_text("p5")
    if reply["flags"]:
        expect(page.locator("mark.evidence").first).to_be_visible()
    _screenshot(page, "item-reply")

    # ? opens the shortcut help, Escape closes it
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
