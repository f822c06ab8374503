"""Thread excerpts on the item page stay revealed after the moderator's own action, like the
item's text: the ids of the thread boxes (`thread-<item id>`) are part of the revealed set that
the redirect after a claim carries, signed for this session (console_reveal.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.service.console.test_console import HTML, act, console, put, sign_in  # noqa: F401 (console: a fixture)


def test_a_revealed_thread_excerpt_stays_revealed_after_a_claim(console):  # noqa: F811
    client, keys, db = console
    parent = put(db, "p", "red", ["self_harm"], text="I have the pills ready", thread_id="t")
    this = put(db, "me", "green", text="please talk to us", thread_id="t", parent_external_id="p")
    token = sign_in(client, keys["bob"])
    blurred = f'id="thread-{parent}" aria-hidden="true" inert>'
    assert blurred in client.get(f"/items/{this}", headers=HTML).text

    location = act(client, token, this, "claim", revealed=f"thread-{parent}").headers["location"]
    assert parse_qs(urlsplit(location).query)["revealed"] == [f"thread-{parent}"]
    page = client.get(location, headers=HTML).text
    assert blurred not in page
    assert f'aria-controls="thread-{parent}" aria-expanded="true">Hide text' in page
    assert f'<div class="sensitive-body" id="thread-{parent}">' in page

    assert blurred in client.get(f"/items/{this}", headers=HTML).text  # a plain visit: blurred
    sign_in(client, keys["alice"])  # the same link in someone else's session: blurred
    assert blurred in client.get(location, headers=HTML).text
