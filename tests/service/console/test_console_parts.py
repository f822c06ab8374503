"""The console's parts without HTTP: crisis resources, session cookies, evidence highlighting,
and the per-moderator storage (opt-outs, high-risk exposure) on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import TIER_RULES
from triage.domain.labels import LABELS
from triage.domain.resources import ResourcesError, load_resources
from triage.domain.review import EventType, Outcome, ReviewEvent
from triage.paths import DEFAULT_CONFIG_DIR
from triage.queue import moderators
from triage.queue import store as queue
from triage.service.api.schemas import EvidenceOut
from triage.service.console import session as cs
from triage.service.console.views import highlight, safe_next, sensitive_reason
from triage.settings import Settings
from triage.storage.database import Database

RULES = Settings().tier_rules


# --- crisis resources ------------------------------------------------------------------------
def test_shipped_english_resources_load_with_the_well_known_lines():
    resources = load_resources(DEFAULT_CONFIG_DIR, "en")
    phones = {line.name: line.phone for line in resources.lines}
    assert phones["988 Suicide & Crisis Lifeline"] == "988"
    assert phones["Samaritans"] == "116 123"
    assert phones["Lifeline"] == "13 11 14"
    assert any("findahelpline.com" in d.url for d in resources.directories)
    assert resources.safe_messaging.do and resources.safe_messaging.avoid


def _write(folder: Path, data: dict, locale: str = "xx") -> Path:
    (folder / "resources").mkdir(exist_ok=True)
    (folder / "resources" / f"{locale}.yaml").write_text(yaml.safe_dump(data))
    return folder


def _valid() -> dict:
    return yaml.safe_load((DEFAULT_CONFIG_DIR / "resources" / "en.yaml").read_text()) | {
        "locale": "xx"
    }


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["lines"][0].update(url="http://988lifeline.org"), "https://"),
        (lambda d: d["lines"][0].update(phone="call 988!"), "digits and spaces"),
        (lambda d: d["lines"][2].pop("phone"), "a phone number or a text option"),
        (lambda d: d.update(lines=[]), "at least 1"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d["safe_messaging"].pop("avoid"), "avoid"),
        (lambda d: d.update(locale="en"), "expected locale 'xx'"),
    ],
)
def test_bad_resources_files_are_refused_with_the_reason(tmp_path, change, says):
    data = _valid()
    change(data)
    with pytest.raises(ResourcesError, match="xx.yaml") as raised:
        load_resources(_write(tmp_path, data), "xx")
    assert says in str(raised.value)


def test_resources_locale_must_be_a_locale_and_the_file_must_exist(tmp_path):
    with pytest.raises(ResourcesError, match="expected a locale"):
        load_resources(tmp_path, "../../etc/passwd")
    with pytest.raises(ResourcesError, match="not found"):
        load_resources(tmp_path, "fr")


# --- session cookies -------------------------------------------------------------------------
SECRET = b"s" * 40


def test_session_cookie_round_trips_and_refuses_tampering_and_expiry():
    session = cs.new_session(7, now=1000.0, lifetime_s=60)
    cookie = cs.encode(SECRET, session)
    assert cs.decode(SECRET, cookie, now=1030.0) == session
    assert cs.decode(SECRET, cookie, now=1061.0) is None  # expired
    assert cs.decode(b"t" * 40, cookie, now=1030.0) is None  # another server's secret
    payload, signature = cookie.split(".")
    other = cs.encode(SECRET, cs.ConsoleSession(session.session_id, 8, session.expires_at))
    assert cs.decode(SECRET, f"{other.split('.')[0]}.{signature}", now=1030.0) is None
    for junk in (None, "", "abc", "a.b.c", f"{payload}."):
        assert cs.decode(SECRET, junk, now=1030.0) is None


def test_csrf_tokens_belong_to_one_session():
    one, two = (cs.new_session(1, 0.0, 60) for _ in range(2))
    token = cs.csrf_token(SECRET, one)
    assert cs.csrf_ok(SECRET, one, token)
    assert not cs.csrf_ok(SECRET, two, token)
    assert not cs.csrf_ok(SECRET, one, None) and not cs.csrf_ok(SECRET, one, "")


def test_secret_is_generated_once_into_a_private_file(tmp_path):
    path = tmp_path / "data" / "console-secret.key"
    settings = Settings(secret_key_file=path)
    first = cs.load_secret(settings)
    assert len(first) >= cs.MIN_SECRET_CHARS
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cs.load_secret(settings) == first
    assert cs.load_secret(Settings(secret_key="x" * 32)) == b"x" * 32
    with pytest.raises(cs.SecretError, match="at least 32 characters, found 5"):
        cs.load_secret(Settings(secret_key="short"))
    path.write_text("tiny\n")
    with pytest.raises(cs.SecretError, match="at least 32"):
        cs.load_secret(settings)


# --- views -----------------------------------------------------------------------------------
def test_highlight_cuts_text_at_evidence_boundaries():
    text = "one two three four"
    spans = [
        EvidenceOut(label="hostile", start=4, end=13),
        EvidenceOut(label="spam", start=8, end=99),
    ]
    parts = [(part.text, part.labels) for part in highlight(text, spans)]
    assert parts == [
        ("one ", ()),
        ("two ", ("hostile",)),
        ("three", ("hostile", "spam")),
        (" four", ("spam",)),
    ]
    assert "".join(text for text, _ in parts) == text
    assert [(p.text, p.labels) for p in highlight("abc", [])] == [("abc", ())]
    outside = [EvidenceOut(label="spam", start=10, end=20)]
    assert [(p.text, p.labels) for p in highlight("abc", outside)] == [("abc", ())]


def test_which_text_is_blurred():
    assert sensitive_reason("crisis", []) and sensitive_reason("red", [])
    assert sensitive_reason("green", ["self_harm"]) == "flagged for self-harm"
    assert sensitive_reason(None, []).startswith("not scored")
    assert sensitive_reason("amber", ["distress"]) is None
    assert sensitive_reason("green", ["hostile"]) is None


@pytest.mark.parametrize(
    ("wanted", "landing"),
    [("/items/3", "/items/3"), ("//evil.example/x", "/"), ("https://evil.example", "/"),
     ("/\\evil.example", "/"), (None, "/"), ("", "/")],
)  # fmt: skip
def test_sign_in_only_returns_to_paths_on_this_site(wanted, landing):
    assert safe_next(wanted) == landing


# --- per-moderator storage, on both backends -------------------------------------------------
@pytest.fixture()
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def _item(db, external_id: str, tier: str, flags=()) -> int:
    now = datetime.now(UTC) - timedelta(hours=3)
    with db.write() as session:
        ((item, _),) = queue.ingest(
            session, [queue.NewItem("c", external_id, "text")], now, TIER_RULES
        )
        view = queue.ModelView("m:1", {"self_harm": 0.5}, list(flags), tier)
        queue.record_scores(session, item.id, view, RULES, now)
        return item.id


def _event(db, item_id: int, kind: EventType, actor: str, minutes_ago: float, **fields) -> None:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    with db.write() as session:
        queue.append_event(session, item_id, ReviewEvent(kind, actor, **fields), at)


def test_opt_outs_are_stored_per_moderator_and_replaced(db):
    now = datetime.now(UTC)
    with db.write() as session:
        assert moderators.opt_outs(session, "alice") == ()
        moderators.set_opt_outs(session, "alice", ["spam", "self_harm", "spam"], now)
        moderators.set_opt_outs(session, "bob", ["hostile"], now)
    with db.write() as session:
        assert moderators.opt_outs(session, "alice") == ("self_harm", "spam")  # LABELS order
        moderators.set_opt_outs(session, "alice", [], now)
    with db.read() as session:
        assert moderators.opt_outs(session, "alice") == ()
        assert moderators.opt_outs(session, "bob") == ("hostile",)
    with db.write() as session, pytest.raises(ValueError, match="unknown labels"):
        moderators.set_opt_outs(session, "alice", ["cats"], now)
    assert set(LABELS) >= {"self_harm", "hostile", "spam"}


def test_high_risk_handled_counts_distinct_items_in_the_last_hour(db):
    crisis, red, red_old, amber = (
        _item(db, "c", "crisis", ["self_harm"]),
        _item(db, "r", "red", ["self_harm"]),
        _item(db, "o", "red", ["self_harm"]),
        _item(db, "a", "amber", ["distress"]),
    )
    _event(db, red_old, EventType.RESOLVE, "alice", 90, outcome=Outcome.SUPPORTED)  # too old
    _event(db, crisis, EventType.CLAIM, "alice", 30)  # a claim is not handling it
    _event(db, crisis, EventType.ESCALATE, "alice", 20)
    _event(db, crisis, EventType.RESOLVE, "alice", 10, outcome=Outcome.SUPPORTED)  # same item
    _event(db, red, EventType.COMMENT, "alice", 5, note="watching")
    _event(db, red, EventType.RESOLVE, "bob", 5, outcome=Outcome.NO_ACTION)  # someone else
    _event(db, amber, EventType.RESOLVE, "alice", 5, outcome=Outcome.SUPPORTED)  # not high risk
    with db.read() as session:
        assert moderators.high_risk_handled(session, "alice", datetime.now(UTC)) == 1
        assert moderators.high_risk_handled(session, "bob", datetime.now(UTC)) == 1
        assert moderators.high_risk_handled(session, "carol", datetime.now(UTC)) == 0
        two_hours_ago = datetime.now(UTC) - timedelta(minutes=80)
        assert moderators.high_risk_handled(session, "alice", two_hours_ago) == 1  # red_old
