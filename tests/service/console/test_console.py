"""The moderator console over HTTP: sign-in, CSRF, the pages, actions, opt-outs, exposure."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.conftest import bearer, create_keys
from tests.service.api.test_service import assert_error_shape
from triage.queue import store as queue
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage.keys import list_keys, revoke_key

HTML = {"accept": "text/html"}
RULES = Settings().tier_rules
SCORES = {
    "crisis": {"self_harm": 0.99, "distress": 0.8},
    "red": {"self_harm": 0.7, "distress": 0.6},
    "amber": {"self_harm": 0.1, "distress": 0.9},
    "green": {"self_harm": 0.01, "distress": 0.01},
}


@pytest.fixture()
def console(tmp_path):
    """(client, keys, database) of the app on a fresh SQLite file; nudge after 2 items.

    No model: the console only reads and writes the queue, so items are stored with chosen
    scores by put() and the app runs without a bundle (scoring would answer 503)."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    url = f"sqlite:///{tmp_path / 'console.db'}"
    keys = create_keys(url)
    settings = Settings(
        bundle_dir=tmp_path / "no-model",
        database_url=url,
        secret_key="k" * 40,
        break_nudge_after=2,
    )
    with TestClient(create_app(settings)) as client:
        yield client, keys, context_of(client.app).database


def put(db, external_id, tier="green", flags=(), text="some words", evidence=(), **fields) -> int:
    """An item stored and scored as told (no model involved)."""
    now = datetime.now(UTC)
    new = queue.NewItem(fields.pop("community", "c"), external_id, text, **fields)
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [new], now, RULES)
        view = queue.ModelView("m:1", SCORES[tier], list(flags), tier, list(evidence))
        queue.record_scores(session, item.id, view, RULES, now)
        return item.id


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, key: str) -> str:
    """Sign in through the form (a fresh session); returns the session's CSRF token."""
    client.cookies.clear()
    form = client.get("/sign-in", headers=HTML)
    reply = client.post(
        "/sign-in",
        data={"api_key": key, "csrf_token": csrf_of(form.text), "next": "/"},
        headers=HTML,
        follow_redirects=False,
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/", reply.text
    return csrf_of(client.get("/", headers=HTML).text)


def act(client, token, item_id, kind, **fields):
    data = {"type": kind, "csrf_token": token, **fields}
    return client.post(f"/items/{item_id}/events", data=data, headers=HTML, follow_redirects=False)


def row_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-row data-item-id="(\d+)"', html)]


def person_events(db, item_id):
    with db.read() as session:
        return [
            (e.type, e.actor, e.outcome, e.note)
            for e in queue.history(session, item_id)
            if e.actor_kind == "person"
        ]


# --- signing in ------------------------------------------------------------------------------
def test_pages_need_a_session(console):
    client, _, _ = console
    reply = client.get("/items/7", headers=HTML, follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/sign-in?next=%2Fitems%2F7"
    assert_error_shape(client.get("/"), 401, "session")  # a non-browser client gets JSON


def test_sign_in_refuses_unknown_and_platform_keys(console):
    client, keys, _ = console
    token = csrf_of(client.get("/sign-in", headers=HTML).text)
    for key, status, says in [
        ("trg_nothing_here", 401, "unknown or revoked"),
        (keys["platform"], 403, "cannot sign in to the console"),
        ("", 401, "unknown or revoked"),
    ]:
        reply = client.post("/sign-in", data={"api_key": key, "csrf_token": token}, headers=HTML)
        assert reply.status_code == status and says in reply.text
        assert 'role="alert"' in reply.text
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303
    reply = client.post("/sign-in", data={"api_key": keys["platform"], "csrf_token": token})
    assert_error_shape(reply, 403, "api_key")


def test_sign_in_form_needs_its_csrf_token(console):
    client, keys, _ = console
    client.get("/sign-in", headers=HTML)
    assert_error_shape(client.post("/sign-in", data={"api_key": keys["alice"]}), 403, "csrf_token")
    reply = client.post("/sign-in", data={"api_key": keys["alice"]}, headers=HTML)
    assert reply.status_code == 403 and "csrf_failed" in reply.text
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303


def test_session_cookie_is_http_only_strict_and_signed(console):
    client, keys, _ = console
    client.get("/sign-in", headers=HTML)
    token = csrf_of(client.get("/sign-in", headers=HTML).text)
    reply = client.post(
        "/sign-in", data={"api_key": keys["alice"], "csrf_token": token}, follow_redirects=False
    )
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert keys["alice"] not in cookie  # the key itself never goes into the cookie
    assert client.get("/", headers=HTML).status_code == 200
    value = client.cookies["triage_session"]
    client.cookies.clear()
    payload, signature = value.split(".")
    forged = {
        "signature": f"{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        "payload": f"{payload[:-2]}{'AA' if payload[-2:] != 'AA' else 'BB'}.{signature}",
    }
    for cookie in forged.values():
        headers = {**HTML, "cookie": f"triage_session={cookie}"}
        assert client.get("/", headers=headers, follow_redirects=False).status_code == 303
    headers = {**HTML, "cookie": f"triage_session={value}"}
    assert client.get("/", headers=headers, follow_redirects=False).status_code == 200

    context_of(client.app).settings.cookie_secure = True
    form = client.get("/sign-in", headers=HTML)
    assert "Secure" in form.headers["set-cookie"]


def test_revoking_the_key_ends_its_sessions(console):
    client, keys, db = console
    sign_in(client, keys["alice"])
    with db.write() as session:
        alice = next(row for row in list_keys(session) if row.name == "alice")
        revoke_key(session, alice.id, datetime.now(UTC))
    reply = client.get("/", headers=HTML, follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"].startswith("/sign-in")


def test_sign_out_needs_csrf_and_ends_the_session(console):
    client, keys, _ = console
    token = sign_in(client, keys["alice"])
    assert client.post("/sign-out", headers=HTML).status_code == 403
    reply = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert reply.status_code == 303 and 'triage_session=""' in reply.headers["set-cookie"]
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303


def test_after_sign_in_the_console_goes_where_it_was_asked_only_on_this_site(console):
    client, keys, db = console
    item_id = put(db, "p1")
    for wanted, landing in [(f"/items/{item_id}", f"/items/{item_id}"), ("//evil.example", "/")]:
        client.cookies.clear()
        token = csrf_of(client.get("/sign-in", headers=HTML).text)
        data = {"api_key": keys["alice"], "csrf_token": token, "next": wanted}
        reply = client.post("/sign-in", data=data, follow_redirects=False)
        assert reply.headers["location"] == landing


# --- pages -----------------------------------------------------------------------------------
def test_queue_page_ranks_and_labels_items_and_blurs_self_harm_text(console):
    client, keys, db = console
    green = put(db, "g", "green", text="a walk in the park helped")
    crisis = put(db, "c", "crisis", ["self_harm"], text="tonight is the night")
    amber = put(db, "a", "amber", ["distress"], text="so tired of it all")
    sign_in(client, keys["alice"])
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"
    assert row_ids(page.text) == [crisis, amber, green]
    assert 'class="tier tier-crisis">Crisis<' in page.text  # colour and a word
    assert page.text.count("data-due=") == 2  # crisis and amber have SLAs; green has none
    hidden = re.search(rf'id="text-{crisis}" aria-hidden="true" inert>(.*?)</div>', page.text, re.S)
    assert hidden and "tonight is the night" in hidden.group(1)
    assert f'id="text-{green}"' in page.text and "a walk in the park helped" in page.text
    assert f'<div class="plain-body" id="text-{green}">' in page.text

    assert row_ids(client.get("/?tier=amber", headers=HTML).text) == [amber]
    assert row_ids(client.get("/?label=self_harm&tier=", headers=HTML).text) == [crisis]
    bad = client.get("/?tier=purple", headers=HTML)
    assert bad.status_code == 422 and "one of crisis, red, amber, green, unscored" in bad.text


def test_queue_pages_follow_the_cursor(console, monkeypatch):
    from triage.service.console.routes import pages as console_routes

    client, keys, db = console
    made = [put(db, f"p{n}", "amber", ["distress"]) for n in range(5)]
    monkeypatch.setattr(console_routes, "PAGE_SIZE", 2)
    sign_in(client, keys["alice"])
    seen, url = [], "/?tier=amber"
    while url:
        page = client.get(url.replace("&amp;", "&"), headers=HTML)
        seen += row_ids(page.text)
        found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        url = found.group(1) if found else None
        assert not found or "tier=amber" in url  # filters carry over to the next page
    assert sorted(seen) == made and len(seen) == 5


def test_item_page_shows_thread_evidence_scores_history_and_resources(console):
    client, keys, db = console
    parent = put(db, "p", "green", text="any tips for sleeping?", thread_id="t")
    reply_text = "What a question. Shut up, idiot."
    evidence = [{"label": "hostile", "start": 17, "end": 32}]
    reply = put(
        db, "r", "green", ["hostile"], reply_text, evidence,
        thread_id="t", parent_external_id="p", parent_text="any tips for sleeping?",
    )  # fmt: skip
    sign_in(client, keys["alice"])
    page = client.get(f"/items/{reply}", headers=HTML).text
    assert 'What a question. <mark class="evidence" title="evidence for hostile"' in page
    assert ">Shut up, idiot.</mark>" in page
    assert f'href="/items/{parent}"' in page  # the thread
    assert '<div class="plain-body" id="parent-text">' in page  # a green parent is shown as is
    assert "<td>0.010</td>" in page and "ingested" in page and "scored" in page
    assert 'data-testid="crisis-panel"' in page and "116 123" in page and "988" in page
    assert "findahelpline.com" in page and "Replying safely" in page

    risky = put(db, "s", "red", ["self_harm"], text="I have the pills ready")
    page = client.get(f"/items/{risky}", headers=HTML).text
    hidden = re.search(r'id="item-text" aria-hidden="true" inert>(.*?)</div>', page, re.S)
    assert hidden and "I have the pills ready" in hidden.group(1)
    assert 'aria-controls="item-text" aria-expanded="false">Reveal text' in page
    missing = client.get("/items/999", headers=HTML)
    assert missing.status_code == 404 and "No item 999" in missing.text


def test_the_pages_explain_a_spam_flag_withheld_for_a_crisis_resource(console):
    client, keys, db = console
    with db.write() as session:
        new = queue.NewItem("c", "s", "call Samaritans on 116 123")
        ((item, _),) = queue.ingest(session, [new], datetime.now(UTC), RULES)
        scores = {**SCORES["green"], "spam": 0.9}
        view = queue.ModelView("m:1", scores, [], "green", spam_withheld_by="Samaritans")
        queue.record_scores(session, item.id, view, RULES, datetime.now(UTC))
    sign_in(client, keys["alice"])
    reason = "<li>shares a crisis resource (Samaritans): not flagged as spam</li>"
    assert reason in client.get(f"/items/{item.id}", headers=HTML).text
    assert reason in client.get("/", headers=HTML).text


def test_an_unscored_reply_hides_a_parent_it_has_not_seen(console):
    client, keys, db = console
    with db.write() as session:
        new = queue.NewItem("c", "r", "words", parent_external_id="gone", parent_text="unknown")
        ((item, _),) = queue.ingest(session, [new], datetime.now(UTC), RULES)
    sign_in(client, keys["alice"])
    page = client.get(f"/items/{item.id}", headers=HTML).text
    assert re.search(r'id="parent-text" aria-hidden="true" inert', page)
    assert re.search(r'id="item-text" aria-hidden="true" inert', page)  # unscored: blurred too


def test_preferences_page_renders(console):
    client, keys, _ = console
    sign_in(client, keys["alice"])
    page = client.get("/preferences", headers=HTML).text
    assert '<label for="opt-self_harm">self harm</label>' in page
    assert "handled by other moderators" in page


# --- actions ---------------------------------------------------------------------------------
def test_console_actions_append_events_through_storage(console):
    client, keys, db = console
    item_id = put(db, "p", "red", ["self_harm"])
    token = sign_in(client, keys["alice"])
    reply = act(client, token, item_id, "claim")
    assert reply.status_code == 303 and reply.headers["location"] == f"/items/{item_id}?done=claim"
    assert (
        "Claimed: you are working on item"
        in client.get(reply.headers["location"], headers=HTML).text
    )
    assert act(client, token, item_id, "comment", note="reached out by DM").status_code == 303
    reply = act(client, token, item_id, "resolve", outcome="supported", note="")
    assert reply.headers["location"] == f"/?done=resolve&item={item_id}"
    assert f"Resolved item {item_id}." in client.get(reply.headers["location"], headers=HTML).text
    assert person_events(db, item_id) == [
        ("claim", "alice", None, None),
        ("comment", "alice", None, "reached out by DM"),
        ("resolve", "alice", "supported", None),
    ]
    with db.read() as session:
        stored = queue.get_item(session, item_id)
        assert (stored.state, stored.outcome, stored.claimed_by) == ("resolved", "supported", None)


def test_posts_without_this_sessions_csrf_token_are_refused(console):
    client, keys, db = console
    item_id = put(db, "p", "red", ["self_harm"])
    bobs_token = sign_in(client, keys["bob"])
    sign_in(client, keys["alice"])
    no_token = client.post(f"/items/{item_id}/events", data={"type": "claim"})
    assert_error_shape(no_token, 403, "csrf_token")
    refused = client.post(f"/items/{item_id}/events", data={"type": "claim"}, headers=HTML)
    assert refused.status_code == 403 and "csrf_failed" in refused.text
    assert act(client, bobs_token, item_id, "claim").status_code == 403
    header_only = client.post(
        f"/items/{item_id}/events", data={"type": "claim"}, headers={"x-csrf-token": "forged"}
    )
    assert_error_shape(header_only, 403, "csrf_token")
    assert client.post("/preferences", data={"opt_out": "spam"}).status_code == 403
    assert person_events(db, item_id) == []


def test_conflicts_and_bad_actions_are_explained(console):
    client, keys, db = console
    item_id = put(db, "p", "amber", ["distress"])
    token = sign_in(client, keys["alice"])
    act(client, token, item_id, "claim")
    bob = sign_in(client, keys["bob"])
    conflict = act(client, bob, item_id, "claim")
    assert conflict.status_code == 409 and "claimed by alice" in conflict.text
    no_outcome = act(client, bob, item_id, "resolve")
    assert no_outcome.status_code == 422 and "needs an outcome" in no_outcome.text
    for kind in ("delete", "hide", "remove"):  # the console cannot take content down
        refused = act(client, bob, item_id, kind)
        assert refused.status_code == 422 and "Unknown action" in refused.text
    assert act(client, bob, item_id, "resolve", outcome="banned").status_code == 422
    assert person_events(db, item_id) == [("claim", "alice", None, None)]


# --- opt-outs and exposure -------------------------------------------------------------------
def test_opt_outs_narrow_only_that_moderators_own_queue(console):
    client, keys, db = console
    risky = put(db, "s", "red", ["self_harm"])
    rude = put(db, "h", "green", ["hostile"])
    plain = put(db, "n", "green")
    token = sign_in(client, keys["alice"])
    reply = client.post(
        "/preferences",
        data={"csrf_token": token, "opt_out": ["self_harm", "hostile"]},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    page = client.get("/", headers=HTML).text
    assert row_ids(page) == [plain]
    assert "handled by other moderators" in page and "Show them anyway" in page
    assert sorted(row_ids(client.get("/?show_all=1", headers=HTML).text)) == [risky, rude, plain]
    assert client.get(f"/items/{risky}", headers=HTML).status_code == 200  # still reachable
    api = client.get("/v1/queue", headers=bearer(keys["alice"])).json()["items"]
    assert len(api) == 3  # the API's queue is never narrowed by a preference

    sign_in(client, keys["bob"])
    assert sorted(row_ids(client.get("/", headers=HTML).text)) == [risky, rude, plain]
    bad = client.post(
        "/preferences",
        data={"csrf_token": csrf_of(client.get("/", headers=HTML).text), "opt_out": "cats"},
    )
    assert_error_shape(bad, 422, "opt_out")


def test_high_risk_exposure_is_counted_and_nudges_a_break(console):
    client, keys, db = console
    red = put(db, "r", "red", ["self_harm"])
    crisis = put(db, "c", "crisis", ["self_harm"])
    green = put(db, "g", "green")
    token = sign_in(client, keys["alice"])

    def exposure() -> tuple[int, bool]:
        page = client.get("/", headers=HTML).text
        count = re.search(r'data-testid="exposure-count">(\d+)<', page).group(1)
        return int(count), 'data-testid="nudge"' in page

    assert exposure() == (0, False)
    act(client, token, red, "resolve", outcome="supported")
    assert exposure() == (1, False)
    act(client, token, green, "resolve", outcome="no_action")
    act(client, token, crisis, "claim")
    assert exposure() == (1, False)  # a claim is not yet handling it
    act(client, token, crisis, "escalate", note="needs the crisis team")
    assert exposure() == (2, True)
    sign_in(client, keys["bob"])
    assert exposure() == (0, False)
