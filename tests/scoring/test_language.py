"""Posts in a language the model does not read go to a person (issue 12, point 2).

The identification rule (triage/scoring/language.py) must route clear foreign sentences and must not
flap on short or mixed English posts; /v1/score, ingest, the queue's re-ranking and the console
carry the language and keep the priority at or above amber's base.
"""

from __future__ import annotations

import itertools
import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import TIER_RULES, bearer, create_keys
from triage.domain.labels import Tier
from triage.queue import ranking
from triage.queue import store as queue
from triage.scoring.bundle import BundleError, load_bundle
from triage.scoring.language import UNDETERMINED, LanguageCheck, check_language, identify
from triage.service.context import context_of
from triage.settings import Settings
from triage.storage.tables import Item

ENGLISH = ("en",)
AMBER_BASE = Settings().tier_rules.priority.tier_base[Tier.AMBER]
URGENT_ENOUGH = {"amber", "red", "crisis"}
FRENCH_POST = "Je ne veux plus vivre. Je vais me suicider ce soir."
HTML = {"accept": "text/html"}

# What a peer-support community is full of: none of it may be routed for its language.
SHORT_ENGLISH = [
    "hi", "ok", "k", "ty", "lol", "lol ok", "same", "same here lol", "omg same", "ok thanks",
    "thank u", "thanks!", "i cant", "i cant anymore", "i cant do this", "im done", "im so tired",
    "help", "please help me", "i want to die", "nobody cares", "why me", "so done", "mood",
    "big mood", "sameeee", "hahahahaha", "haha yes!! 😂", "xD", ":(", "<3", "gm", "gn all",
    "brb", "nvm", "idk", "ikr", "wtf", "lmao", "ugh", "meh", "nope", "yup", "nah", "bruh",
    "hugs hugs hugs", "sending hugs ❤️", "u ok?", "my bad", "fr fr", "ngl same",
    "night night", "hello everyone", "anyone else up?", "good night all", "love you guys",
    "me too honestly", "i feel so alone tonight", "cant sleep again", "i miss her so much",
    "I hear you.", "You are not alone.", "I tried, I really tried.", "ALL CAPS HELP ME",
    "NO NO NO", "bonjour lol", "hola guys", "gracias amigo", "merci!", "danke", "ok merci",
    "ok ciao", "Pourquoi? idk lol", "c'est la vie I guess lol", "😭😭😭", "💙💙💙 🌈", "...",
    "???", "+1", "12345", "1 2 3 4 5 6 7 8 9 10", "2024-05-01 10:00",
    "https://example.com/foo", "www.example.org", "me@example.com", "#mentalhealth #support",
    "@sam thank you so much", "check this https://t.co/abc123 lol",
    "lol ok same tbh ngl", "hahaha omg ikr same same", "brb gotta grab food lol",
    "idk man idk anymore tbh", "nah fr fr no cap", "okie dokie see ya later alligator",
    "ttyl gonna nap zzz", "aaaaaaaaaaaaaaaaaaaaaaaaa", "xoxo gossip girl lmao",
    "fml fml fml fml", "Mi casa es su casa lol jk", "Hasta la vista baby haha",
    "Paracetamol ibuprofen sertraline fluoxetine", "Sertraline 50mg Lexapro 10mg Wellbutrin",
    "John Smith, Maria Garcia, Jean Dupont", "la la la la la la la la",
]  # fmt: skip

# Clear sentences in five languages the shipped model was not trained on.
FOREIGN = [
    ("fr", FRENCH_POST),
    ("fr", "Je suis tellement fatiguée de tout, personne ne me comprend."),
    ("fr", "Personne ne remarquerait si je disparaissais."),
    ("es", "No quiero vivir más. Me voy a matar esta noche."),
    ("es", "Estoy muy triste y no sé qué hacer con mi vida."),
    ("es", "Ya no aguanto más, quiero desaparecer."),
    ("de", "Ich will nicht mehr leben. Ich bringe mich heute Nacht um."),
    ("de", "Ich fühle mich so allein und niemand versteht mich."),
    ("de", "Niemand würde mich vermissen."),
    ("pt", "Não quero mais viver. Vou me matar esta noite."),
    ("pt", "Eu me sinto sozinha e ninguém me entende."),
    ("pt", "Ninguém sentiria a minha falta."),
    ("it", "Non voglio più vivere. Stasera mi ammazzo."),
    ("it", "Mi sento così sola e nessuno mi capisce."),
    ("it", "Non ce la faccio più a continuare così."),
]

# English with a foreign phrase or sentence in it, English the larger part: readable.
MOSTLY_ENGLISH = [
    "I really cannot cope with this anymore, merci beaucoup mes amis",
    "I have been feeling so low all week and nothing helps. C'est la vie.",
    "My grandmother used to say 'no hay mal que por bien no venga' and I keep thinking about it.",
    "Honestly I don't know how to keep going. Je suis fatigué. Nobody at work notices and I am "
    "running out of reasons to stay.",
    "Thanks everyone, danke schön, you helped me so much this week and I finally slept.",
    "Merci. Merci beaucoup à tous. I really mean it, you have all helped me get through this "
    "terrible month.",
    "Je suis désolé. I don't speak French well, sorry everyone.",
    "honestly c'est la vie, I guess I just have to keep going",
    "ugh, no sé, I am so tired of everything lately",
    "Ich bin so müde, I cannot keep going like this",
    "Bonjour mes amis! I am practicing my French today lol, how did I do?",
]


# --- the rule --------------------------------------------------------------------------------
def test_identify_names_the_language_and_how_sure_it_is():
    french = identify(FRENCH_POST)
    assert french.code == "fr" and french.confidence > 0.95
    assert identify("Some days I think everyone would be better off without me.").code == "en"
    assert identify("😭😭 12345 https://example.com") == identify("") == identify("   ")
    assert identify("").code == UNDETERMINED and identify("").confidence == 0.0


@pytest.mark.parametrize("text", SHORT_ENGLISH)
def test_short_english_posts_are_never_routed(text):
    check = check_language(text, ENGLISH)
    assert check.supported, f"{text!r} was routed as {check.language}"
    assert check.language in {"en", UNDETERMINED}


def test_short_posts_do_not_flap_when_decorated_or_repeated():
    """The same short post, with an emoji, a link, a mention or a trailing "lol", is readable
    every time: routing depends on the words, deterministically."""
    decorations = ("", " 😂", " https://x.example/a1", " @jo", " lol", "!!", " #vent")
    for text in SHORT_ENGLISH:
        for decoration in decorations:
            assert check_language(text + decoration, ENGLISH).supported, text + decoration
    assert len({check_language("lol ok", ENGLISH) for _ in range(20)}) == 1


def test_mixed_short_posts_do_not_flap_with_padding():
    """A foreign idiom with a little English may go either way, but the same way whatever chat
    words, emoji or spaces pad it."""
    idioms = (
        "c'est la vie",
        "je ne sais quoi",
        "mi casa es su casa",
        "pas de problème",
        "no pasa nada",
        "danke schön",
        "la dolce vita",
        "merci beaucoup",
        "qué pasa",
    )
    english = ("I guess", "honestly", "but whatever", "right?", "I suppose", "my friends")
    pads = ("", " lol", " lol lol", " haha", " 😂", " ok", " xD", "  ", "!!", " omg")
    for idiom, words in itertools.product(idioms, english):
        for form in ("{idiom} {words}{pad}", "{words}, {idiom}{pad}"):
            texts = [form.format(idiom=idiom, words=words, pad=pad) for pad in pads]
            routed = {check_language(text, ENGLISH).supported for text in texts}
            assert len(routed) == 1, texts


@pytest.mark.parametrize(("code", "text"), FOREIGN)
def test_clear_foreign_sentences_are_routed(code, text):
    check = check_language(text, ENGLISH)
    assert (check.language, check.supported) == (code, False)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("ru", "Я больше не хочу жить."),
        ("ja", "もう生きていたくない。"),
        ("zh", "我不想再活下去了。"),
    ],
)
def test_short_posts_in_another_script_are_routed(code, text):
    """The script alone rules English out: a few letters are enough."""
    assert check_language(text, ENGLISH) == check_language(text, ENGLISH)
    check = check_language(text, ENGLISH)
    assert (check.language, check.supported) == (code, False)


@pytest.mark.parametrize("text", MOSTLY_ENGLISH)
def test_mixed_posts_where_english_dominates_are_not_routed(text):
    assert check_language(text, ENGLISH) == LanguageCheck("en", True)


def test_mixed_posts_where_the_other_language_dominates_are_routed():
    text = "Je ne veux plus vivre. I just can't. Je vais me suicider ce soir, j'ai tout préparé."
    check = check_language(text, ENGLISH)
    assert (check.language, check.supported) == ("fr", False)


def test_a_bundle_that_declares_a_language_reads_it():
    check = check_language(FRENCH_POST, ("en", "fr"))
    assert (check.language, check.supported) == ("fr", True)


# --- the bundle ------------------------------------------------------------------------------
def test_shipped_and_exported_bundles_declare_english(tiny_bundle):
    assert load_bundle(tiny_bundle).languages == ("en",)
    assert json.loads((tiny_bundle / "bundle.json").read_text())["languages"] == ["en"]
    for name in ("triage-minilm", "triage-minilm-l3"):
        assert load_bundle(f"models/{name}").languages == ("en",)


def _copy_with(tiny_bundle, tmp_path, **changes) -> object:
    folder = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, folder)
    info = json.loads((folder / "bundle.json").read_text())
    for key, value in changes.items():
        if value is None:
            info.pop(key, None)
        else:
            info[key] = value
    (folder / "bundle.json").write_text(json.dumps(info))
    return folder


def test_a_bundle_without_languages_loads_as_english(tiny_bundle, tmp_path):
    assert load_bundle(_copy_with(tiny_bundle, tmp_path, languages=None)).languages == ("en",)


@pytest.mark.parametrize("bad", [[], ["English"], "en", [1], ["EN"]])
def test_a_bundle_with_malformed_languages_is_refused(tiny_bundle, tmp_path, bad):
    with pytest.raises(BundleError, match="languages"):
        load_bundle(_copy_with(tiny_bundle, tmp_path, languages=bad))


# --- /v1/score -------------------------------------------------------------------------------
def test_score_routes_a_french_post_to_a_person(client):
    response = client.post(
        "/v1/score",
        json={"items": [{"id": "fr", "text": FRENCH_POST}, {"id": "en", "text": "lol ok"}]},
    )
    assert response.status_code == 200, response.text
    french, english = response.json()["results"]
    assert french["language"] == "fr" and french["language_unsupported"] is True
    assert (
        "language fr: the model does not read it (its scores are unreliable)" in (french["reasons"])
    )
    assert french["priority"] >= AMBER_BASE and french["tier"] in URGENT_ENOUGH
    assert set(french["scores"]) >= {"self_harm", "distress"}  # the scores are still given
    assert english["language"] == UNDETERMINED and english["language_unsupported"] is False
    assert not any(reason.startswith("language") for reason in english["reasons"])


def test_a_bundle_that_reads_french_scores_it_as_usual(tiny_bundle, tmp_path):
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    folder = _copy_with(tiny_bundle, tmp_path, languages=["en", "fr"])
    settings = Settings(bundle_dir=folder, database_url=f"sqlite:///{tmp_path / 'fr.db'}")
    admin = create_keys(settings.database_url)["admin"]
    with TestClient(create_app(settings), headers=bearer(admin)) as client:
        body = {"items": [{"id": "fr", "text": FRENCH_POST}]}
        (result,) = client.post("/v1/score", json=body).json()["results"]
    assert result["language"] == "fr" and result["language_unsupported"] is False
    assert not any(reason.startswith("language") for reason in result["reasons"])


# --- ingest, the queue and its re-ranking ----------------------------------------------------
@pytest.fixture()
def language_app(database_url, tiny_bundle):
    """(client, keys) of the app on the tiny bundle and `database_url`, with a console secret."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    keys = create_keys(database_url)
    settings = Settings(bundle_dir=tiny_bundle, database_url=database_url, secret_key="k" * 40)
    with TestClient(create_app(settings)) as client:
        yield client, keys


def _ingest(client, keys, *items):
    body = {"items": [{"community": "c", **item} for item in items]}
    response = client.post("/v1/items", json=body, headers=bearer(keys["platform"]))
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_ingest_stores_the_language_and_the_queue_keeps_the_floor(language_app):
    client, keys = language_app
    french, english = _ingest(
        client, keys, {"id": "fr", "text": FRENCH_POST}, {"id": "en", "text": "ok thanks"}
    )
    assert (french["language"], french["language_unsupported"]) == ("fr", True)
    assert french["tier"] in URGENT_ENOUGH and french["priority"] >= AMBER_BASE
    assert (english["language"], english["language_unsupported"]) == (UNDETERMINED, False)

    moderator = bearer(keys["alice"])
    item = client.get(f"/v1/items/{french['item_id']}", headers=moderator).json()
    assert item["language"] == "fr" and item["language_unsupported"] is True
    reason = "language fr: the model does not read it (its scores are unreliable)"
    assert reason in item["reasons"]
    listed = {i["id"]: i for i in client.get("/v1/queue", headers=moderator).json()["items"]}
    assert listed["fr"]["language"] == "fr" and reason in listed["fr"]["reasons"]
    assert listed["en"]["language"] == UNDETERMINED

    db = context_of(client.app).database
    later = datetime.now(UTC) + timedelta(hours=3)
    with db.write() as session:
        ranking.refresh_priorities(session, Settings().tier_rules, later)
    with db.read() as session:
        stored = session.get(Item, french["item_id"])
        assert stored.priority >= AMBER_BASE and reason in stored.priority_reasons
        assert stored.tier in URGENT_ENOUGH and stored.language == "fr"


def test_rank_keeps_the_language_reason_of_a_stored_item(language_app):
    client, _keys = language_app
    db = context_of(client.app).database
    now = datetime.now(UTC)
    with db.write() as session:
        ((item, _),) = queue.ingest(session, [queue.NewItem("c", "x", "text")], now, TIER_RULES)
        view = queue.ModelView(
            "m:1", {"self_harm": 0.01}, [], "amber", language="de", language_unsupported=True
        )
        queue.record_scores(session, item.id, view, Settings().tier_rules, now)
        ranking.rank(item, Settings().tier_rules, now + timedelta(minutes=30))
        assert item.priority >= AMBER_BASE
        assert item.priority_reasons[-1].startswith("language de: the model does not read it")


# --- the console -----------------------------------------------------------------------------
def _sign_in(client, key: str) -> None:
    from tests.service.console.test_console import sign_in

    sign_in(client, key)


def test_console_shows_the_language_and_the_reason(language_app):
    client, keys = language_app
    french, english = _ingest(
        client, keys, {"id": "fr", "text": FRENCH_POST}, {"id": "en", "text": "ok thanks"}
    )
    _sign_in(client, keys["alice"])
    page = client.get(f"/items/{french['item_id']}", headers=HTML)
    assert page.status_code == 200
    assert 'data-testid="item-language">fr' in page.text
    assert "language fr: the model does not read it" in page.text
    if french["tier"] == "amber":  # red and crisis text is blurred for its tier already
        assert "in a language the model does not read: may hold self-harm content" in page.text
    queue_page = client.get("/", headers=HTML).text
    assert 'data-testid="language">language fr' in queue_page
    plain = client.get(f"/items/{english['item_id']}", headers=HTML).text
    assert "the model does not read it" not in plain
