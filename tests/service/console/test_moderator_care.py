"""Care for the moderator, extended (issue 14, point 7): reply guidance that fits an item's
category, blurred text kept revealed after the moderator's own action (and only for them), the
per-moderator limit on high-risk items an hour (policy, storage on SQLite and PostgreSQL, and the
console's steering), the settings, and the favicon."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from pydantic import ValidationError

from tests.conftest import TIER_RULES, create_keys
from tests.service.console.test_console import HTML, act, put, sign_in
from triage.domain.high_risk_limit import Colleague, Steer, decide
from triage.domain.reply_guidance import (
    ReplyGuidanceError,
    load_reply_guidance,
    needs_crisis_resources,
)
from triage.domain.review import EventType, Outcome, ReviewEvent
from triage.paths import DEFAULT_CONFIG_DIR
from triage.queue import moderators, team_load
from triage.queue import store as queue
from triage.service.console.reveal import box_ids
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage.database import Database
from triage.storage.keys import list_keys, revoke_key

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


# --- reply guidance per category -------------------------------------------------------------
@pytest.fixture(scope="module")
def guidance():
    return load_reply_guidance(DEFAULT_CONFIG_DIR)


@pytest.mark.parametrize(
    ("tier", "flags", "expected", "crisis_open"),
    [
        ("crisis", ["self_harm", "distress"], ["crisis"], True),
        ("red", ["self_harm"], ["self_harm"], True),
        ("amber", ["self_harm"], ["self_harm"], True),  # the self-harm floor: still self-harm
        ("amber", ["distress"], ["distress"], False),
        ("green", ["hostile"], ["hostile"], False),
        ("green", ["spam"], ["spam"], False),
        ("green", ["corumination"], ["corumination"], False),
        ("amber", ["distress", "hostile"], ["distress", "hostile"], False),
        ("red", ["self_harm", "hostile"], ["self_harm", "hostile"], True),
        (None, [], ["unscored"], True),
        ("green", [], [], False),
    ],
)
def test_guidance_fits_the_items_category(guidance, tier, flags, expected, crisis_open):
    selected = guidance.for_item(tier, flags)
    assert [chosen.name for chosen in selected] == expected
    assert needs_crisis_resources(selected) is crisis_open


def test_shipped_guidance_has_safe_messaging_and_community_guideline_replies(guidance):
    crisis, hostile = guidance.categories["crisis"], guidance.categories["hostile"]
    assert crisis.crisis_resources and "emergency" in " ".join(crisis.steps)
    assert any("988" in reply.text for reply in guidance.categories["self_harm"].replies)
    assert not hostile.crisis_resources
    assert any("community guidelines" in reply.title for reply in hostile.replies)
    assert any("aimed at" in reply.title for reply in hostile.replies)  # the person hurt too
    assert all(category.steps for category in guidance.categories.values())


def _guidance_file(folder, change) -> None:
    data = yaml.safe_load((DEFAULT_CONFIG_DIR / "reply_guidance.yaml").read_text())
    change(data["categories"])
    (folder / "reply_guidance.yaml").write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda c: c["hostile"].update(flags=["rude"]), "unknown labels ['rude']"),
        (lambda c: c["crisis"].update(tiers=["purple"]), "unknown tiers ['purple']"),
        (lambda c: c["crisis"].update(covers=["nothing"]), "crisis.covers"),
        (lambda c: c.pop("spam"), "no category for the labels ['spam']"),
        (lambda c: c["hostile"].pop("flags"), "expected tiers or flags"),
        (lambda c: c["hostile"].update(steps=[]), "steps"),
        (lambda c: c["hostile"].update(tone="stern"), "tone"),
    ],
)
def test_bad_guidance_files_are_refused_with_the_reason(tmp_path, change, says):
    _guidance_file(tmp_path, change)
    with pytest.raises(ReplyGuidanceError, match=re.escape(says)):
        load_reply_guidance(tmp_path)


def test_a_config_folder_without_guidance_uses_the_shipped_file(tmp_path, guidance):
    assert load_reply_guidance(tmp_path) == guidance


# --- the high-risk limit: one pure function --------------------------------------------------
BOB_FREE = [Colleague("bob", 1)]


@pytest.mark.parametrize(
    ("tier", "taken", "limit", "colleagues", "alternative", "steered"),
    [
        ("crisis", 6, 6, BOB_FREE, 9, True),  # at the limit, bob has room: steer
        ("red", 8, 6, BOB_FREE, 9, True),
        ("red", 5, 6, BOB_FREE, 9, False),  # under the limit
        ("crisis", 6, 6, [], 9, False),  # no one else available: never block
        ("crisis", 6, 6, [Colleague("bob", 6), Colleague("cy", 7)], 9, False),  # all full
        ("crisis", 6, 6, BOB_FREE, None, False),  # nothing lighter to offer
        ("amber", 9, 6, BOB_FREE, 9, False),  # not high-risk
        (None, 9, 6, BOB_FREE, 9, False),  # unscored is not known to be crisis or red
        ("crisis", 9, 0, BOB_FREE, 9, False),  # 0: the limit is off
    ],
)
def test_the_limit_steers_only_when_someone_else_has_room(
    tier, taken, limit, colleagues, alternative, steered
):
    decision = decide(
        item_tier=tier, taken=taken, limit=limit, colleagues=colleagues, alternative=alternative
    )
    assert (decision is not None) is steered
    if steered:
        assert decision == Steer(alternative, taken, limit, ("bob",))


def test_the_limit_names_only_colleagues_with_room():
    colleagues = [Colleague("dee", 0), Colleague("bob", 6), Colleague("cy", 2)]
    steer = decide(item_tier="red", taken=6, limit=6, colleagues=colleagues, alternative=4)
    assert steer is not None and steer.free_colleagues == ("cy", "dee")


# --- settings --------------------------------------------------------------------------------
def test_limit_settings_default_validate_and_read_the_environment(monkeypatch):
    settings = Settings()
    assert settings.high_risk_limit_per_hour == 6 and settings.moderator_active_minutes == 15
    assert Settings(high_risk_limit_per_hour=0).high_risk_limit_per_hour == 0  # off
    for bad in ({"high_risk_limit_per_hour": -1}, {"moderator_active_minutes": 0}):
        with pytest.raises(ValidationError, match=next(iter(bad))):
            Settings(**bad)
    monkeypatch.setenv("TRIAGE_HIGH_RISK_LIMIT_PER_HOUR", "3")
    monkeypatch.setenv("TRIAGE_MODERATOR_ACTIVE_MINUTES", "30")
    settings = Settings()
    assert settings.high_risk_limit_per_hour == 3 and settings.moderator_active_minutes == 30


# --- storage: who took what, who is active, the next item (SQLite and PostgreSQL) ------------
SCORES = {
    "crisis": {"self_harm": 0.99},
    "red": {"self_harm": 0.7},
    "amber": {"distress": 0.9},
    "green": {"self_harm": 0.01},
}
RULES = Settings().tier_rules


def _stored(db, external_id, tier, flags=(), at=NOW - timedelta(hours=3)) -> int:
    with db.write() as session:
        ((item, _),) = queue.ingest(
            session, [queue.NewItem("c", external_id, "words")], at, TIER_RULES
        )
        if tier is not None:
            view = queue.ModelView("m:1", SCORES[tier], list(flags), tier)
            queue.record_scores(session, item.id, view, RULES, at)
        return item.id


def _event(db, item_id, kind, actor, at, outcome=None) -> None:
    with db.write() as session:
        queue.append_event(session, item_id, ReviewEvent(kind, actor, outcome), at)


def _handle(db, item_id, actor, at) -> None:
    _event(db, item_id, EventType.CLAIM, actor, at)
    _event(db, item_id, EventType.RESOLVE, actor, at, Outcome.SUPPORTED)


@pytest.fixture()
def db(database_url):
    create_keys(database_url)  # alice, bob (moderators), admin, platform
    database = Database(database_url)
    yield database
    database.dispose()


def test_high_risk_taken_counts_claims_and_handling_once_per_item_in_the_hour(db):
    crisis, red, amber = (
        _stored(db, "a", "crisis"),
        _stored(db, "b", "red"),
        _stored(db, "c", "amber"),
    )
    old, bobs = _stored(db, "d", "red"), _stored(db, "e", "crisis")
    _handle(db, crisis, "alice", NOW - timedelta(minutes=10))  # claim + resolve: once
    _event(db, red, EventType.CLAIM, "alice", NOW - timedelta(minutes=5))  # claimed, not done
    _handle(db, amber, "alice", NOW - timedelta(minutes=5))  # not high-risk
    _handle(db, old, "alice", NOW - timedelta(minutes=61))  # out of the hour
    _handle(db, bobs, "bob", NOW - timedelta(minutes=5))  # someone else's
    with db.read() as session:
        assert team_load.high_risk_taken(session, "alice", NOW) == 2
        assert team_load.high_risk_taken(session, "bob", NOW) == 1
        assert team_load.high_risk_taken(session, "nobody", NOW) == 0
        # the header's count stays what it was: resolved or escalated only
        assert moderators.high_risk_handled(session, "alice", NOW) == 1


def test_active_colleagues_are_other_moderators_who_acted_lately(db):
    first, second, third = (
        _stored(db, "a", "red"),
        _stored(db, "b", "green"),
        _stored(db, "c", "green"),
    )
    _handle(db, first, "bob", NOW - timedelta(minutes=40))  # high-risk in the hour
    _event(db, second, EventType.COMMENT, "bob", NOW - timedelta(minutes=3))  # active lately
    _event(db, third, EventType.COMMENT, "admin", NOW - timedelta(minutes=30))  # not lately
    _event(db, third, EventType.COMMENT, "alice", NOW - timedelta(minutes=1))  # the asker
    active = timedelta(minutes=15)
    with db.read() as session:
        assert team_load.active_colleagues(session, "alice", NOW, active) == [Colleague("bob", 1)]
        found = team_load.active_colleagues(session, "alice", NOW, timedelta(minutes=45))
        assert found == [Colleague("admin", 0), Colleague("bob", 1)]
    with db.write() as session:
        (bob,) = [key for key in list_keys(session) if key.name == "bob"]
        revoke_key(session, bob.id, NOW - timedelta(minutes=1))
    with db.read() as session:  # a revoked key is nobody to hand work to
        assert team_load.active_colleagues(session, "alice", NOW, active) == []


def test_next_waiting_item_follows_the_queue_and_can_skip_high_risk(db):
    crisis = _stored(db, "a", "crisis", ["self_harm"])
    unscored = _stored(db, "b", None)
    amber = _stored(db, "c", "amber", ["distress"])
    hostile = _stored(db, "d", "green", ["hostile"])
    with db.read() as session:
        assert team_load.next_waiting_item(session).id == crisis
        lighter = team_load.next_waiting_item(session, known_low_risk=True)
        assert lighter.id == amber and unscored != amber
        assert team_load.next_waiting_item(session, ["distress"], known_low_risk=True).id == hostile
    _event(db, crisis, EventType.CLAIM, "bob", NOW)
    with db.read() as session:  # claimed items are not waiting
        assert team_load.next_waiting_item(session).id != crisis


# --- the console: steering a claim or "next item", never hiding or blocking ------------------
@pytest.fixture()
def care(tmp_path):
    """(client, keys, database) of the console with a high-risk limit of 1 an hour."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    url = f"sqlite:///{tmp_path / 'care.db'}"
    keys = create_keys(url)
    settings = Settings(
        bundle_dir=tmp_path / "no-model",
        database_url=url,
        secret_key="k" * 40,
        high_risk_limit_per_hour=1,
    )
    with TestClient(create_app(settings)) as client:
        yield client, keys, context_of(client.app).database


def _at_limit_with_bob_active(db) -> tuple[int, int]:
    """alice has handled one red item; bob commented a minute ago. (red, green) items wait."""
    now = datetime.now(UTC)
    done = put(db, "done", "red", ["self_harm"])
    _handle(db, done, "alice", now - timedelta(minutes=20))
    _event(db, put(db, "chat", "green"), EventType.COMMENT, "bob", now - timedelta(minutes=1))
    _event(db, put(db, "closed", "green"), EventType.CLAIM, "bob", now - timedelta(minutes=1))
    red = put(db, "red", "red", ["self_harm"], text="I have the pills ready")
    green = put(db, "green", "amber", ["distress"])
    return red, green


def test_a_claim_at_the_limit_is_steered_with_a_note_and_can_be_taken_anyway(care):
    client, keys, db = care
    red, green = _at_limit_with_bob_active(db)
    token = sign_in(client, keys["alice"])
    reply = act(client, token, red, "claim")
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/items/{green}?steered_from={red}"
    with db.read() as session:
        assert queue.get_item(session, red).state == "open"  # not claimed, nothing hidden
    queue_page = client.get("/", headers=HTML).text
    assert f'data-item-id="{red}"' in queue_page
    page = client.get(reply.headers["location"], headers=HTML).text
    note = re.search(r'data-testid="care-note">(.*?)</aside>', page, re.S).group(1)
    assert "bob has been active" in note and f"item #{red} (red)" in note
    assert f'action="/items/{red}/events" data-action="claim-anyway"' in note
    assert 'name="override_limit" value="1"' in note
    opened = client.get(f"/items/{red}?override_limit=1", headers=HTML).text
    assert 'name="override_limit" value="1"' in opened  # its own Claim button takes it anyway
    reply = act(client, token, red, "claim", override_limit="1")
    assert reply.headers["location"].startswith(f"/items/{red}?done=claim")
    with db.read() as session:
        assert queue.get_item(session, red).claimed_by == "alice"


def test_a_claim_at_the_limit_goes_ahead_when_no_one_else_is_available(care):
    client, keys, db = care
    now = datetime.now(UTC)
    done = put(db, "done", "red", ["self_harm"])
    _handle(db, done, "alice", now - timedelta(minutes=20))
    _event(db, put(db, "x", "green"), EventType.COMMENT, "bob", now - timedelta(minutes=40))
    red, _ = put(db, "red", "crisis", ["self_harm"]), put(db, "green", "green")
    token = sign_in(client, keys["alice"])
    reply = act(client, token, red, "claim")  # bob is not active lately: safety first
    assert reply.headers["location"].startswith(f"/items/{red}?done=claim")
    with db.read() as session:
        assert queue.get_item(session, red).claimed_by == "alice"


def test_a_claim_under_the_limit_or_of_a_lighter_item_is_never_steered(care):
    client, keys, db = care
    red, green = _at_limit_with_bob_active(db)
    token = sign_in(client, keys["bob"])  # bob has taken no high-risk item
    assert act(client, token, red, "claim").headers["location"].startswith(f"/items/{red}?")
    token = sign_in(client, keys["alice"])
    assert act(client, token, green, "claim").headers["location"].startswith(f"/items/{green}?")


def test_next_item_opens_the_top_one_or_a_lighter_one_at_the_limit(care):
    client, keys, db = care
    token = sign_in(client, keys["alice"])
    empty = client.get("/next", headers=HTML, follow_redirects=False)
    assert empty.headers["location"] == "/?done=empty"
    assert "Nothing is waiting in your queue." in client.get("/?done=empty", headers=HTML).text
    red, green = _at_limit_with_bob_active(db)
    steered = client.get("/next", headers=HTML, follow_redirects=False)
    assert steered.headers["location"] == f"/items/{green}?steered_from={red}"
    context_of(client.app).settings.high_risk_limit_per_hour = 0  # off: the top item, as ever
    plain = client.get("/next", headers=HTML, follow_redirects=False)
    assert plain.headers["location"] == f"/items/{red}"
    assert act(client, token, red, "claim").status_code == 303
    assert 'href="/next"' in client.get("/", headers=HTML).text


# --- reveal kept after the moderator's own action, for them only -----------------------------
def test_revealed_text_stays_revealed_after_a_claim_for_that_moderator_only(care):
    client, keys, db = care
    red = put(db, "red", "red", ["self_harm"], text="I have the pills ready")
    token = sign_in(client, keys["bob"])
    reply = act(client, token, red, "claim", revealed="item-text,../x,item-text")
    location = reply.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["done"] == ["claim"] and query["revealed"] == ["item-text"]
    page = client.get(location, headers=HTML).text
    assert '<div class="sensitive revealed" data-sensitive>' in page
    assert 'aria-controls="item-text" aria-expanded="true">Hide text' in page
    assert 'id="item-text" aria-hidden="true"' not in page
    blurred = 'id="item-text" aria-hidden="true" inert>'
    assert blurred in client.get(f"/items/{red}", headers=HTML).text  # a plain visit: blurred
    tampered = location.replace(query["reveal_sig"][0], "0" * 64)
    assert blurred in client.get(tampered, headers=HTML).text
    sign_in(client, keys["alice"])  # the same link in someone else's session
    assert blurred in client.get(location, headers=HTML).text
    token = sign_in(client, keys["bob"])  # a new sign-in of bob's is a new session too
    assert blurred in client.get(location, headers=HTML).text


def test_an_action_without_reveals_leaves_the_page_blurred(care):
    client, keys, db = care
    red = put(db, "red", "red", ["self_harm"])
    token = sign_in(client, keys["bob"])
    location = act(client, token, red, "claim").headers["location"]
    assert location == f"/items/{red}?done=claim"
    assert 'id="item-text" aria-hidden="true" inert>' in client.get(location, headers=HTML).text


def test_box_ids_keep_only_well_formed_ids():
    assert box_ids("item-text, parent-text,item-text") == ("item-text", "parent-text")
    assert box_ids("<script>,Item-Text,,a" + "b" * 60) == ()
    assert box_ids(None) == () and box_ids(b"item-text") == ()


# --- the item page shows the guidance that fits -------------------------------------------
def test_item_pages_show_guidance_for_their_category(care):
    client, keys, db = care
    hostile = put(db, "h", "green", ["hostile"], text="Shut up, idiot.")
    crisis = put(db, "c", "crisis", ["self_harm"], text="tonight, with the pills")
    sign_in(client, keys["alice"])
    page = client.get(f"/items/{hostile}", headers=HTML).text
    assert re.findall(r'data-category="(\w+)"', page) == ["hostile"]
    assert "To the author (community guidelines)" in page
    assert '<details class="crisis-resources" data-testid="crisis-resources" >' in page  # closed
    assert page.index('data-category="hostile"') < page.index("crisis-resources")
    assert "116 123" in page  # one click away, never left out
    page = client.get(f"/items/{crisis}", headers=HTML).text
    assert re.findall(r'data-category="(\w+)"', page) == ["crisis"]  # covers self-harm
    assert 'data-testid="crisis-resources" open>' in page
    assert page.index('data-category="crisis"') < page.index("crisis-resources")


def test_a_broken_guidance_file_shows_its_reason_and_opens_the_crisis_lines(care, tmp_path):
    client, keys, db = care
    folder = tmp_path / "configs"
    folder.mkdir()
    for name in ("tiers.yaml", "reports.yaml", "resource_guard.yaml"):
        (folder / name).write_text((DEFAULT_CONFIG_DIR / name).read_text())
    (folder / "resources").mkdir()
    (folder / "resources" / "en.yaml").write_text(
        (DEFAULT_CONFIG_DIR / "resources" / "en.yaml").read_text()
    )
    (folder / "reply_guidance.yaml").write_text("categories: {}\n")
    context_of(client.app).settings.config_dir = folder
    hostile = put(db, "h", "green", ["hostile"])
    sign_in(client, keys["alice"])
    page = client.get(f"/items/{hostile}", headers=HTML).text
    assert 'data-testid="reply-guidance-error"' in page and "reply_guidance.yaml" in page
    assert 'data-testid="crisis-resources" open>' in page


# --- the favicon -----------------------------------------------------------------------------
def test_favicon_is_served_and_linked(care):
    client, keys, _ = care
    for path in ("/favicon.ico", "/static/favicon.svg"):
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert reply.headers["content-type"].startswith("image/svg+xml")
        assert reply.text.lstrip().startswith("<svg") and "<script" not in reply.text
    sign_in(client, keys["alice"])
    page = client.get("/", headers=HTML).text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
