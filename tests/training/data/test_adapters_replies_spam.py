"""The sources added 2026-12-06 (issue 13): hostile replies in context, comment spam, subreddits.

Each adapter reads tiny files written here in its source's real format (the real column names
and order, the real file names). The same files are in tests/fixtures/handmade/, where
`prepare` over every source (tests/training/data/test_data_prepare.py) reads them; a test keeps
the two equal.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import FIXTURES, SHARED_DATASETS
from triage.domain.labels import LABELS
from triage.paths import PROJECT_ROOT
from triage.training.data.adapters import ADAPTERS, UCC_MIN_CONFIDENCE, rmhd_subreddit
from triage.training.data.prepare import deduplicate
from triage.training.data.rows import Row
from triage.training.export.card import DATA_SOURCES

NEW_SOURCES = (
    "counter-context",
    "cat-wiki-context",
    "diasafety",
    "replies-to-hate",
    "reddit-counterspeech-attacks",
    "ucc-unhealthy",
    "instagram-scam-comments",
    "datacamp-comment-spam",
    "rmhd-27-subreddits",
)
HANDMADE = FIXTURES / "handmade"


def _csv(header: list[str], rows: list[list[object]], quote_all: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def _cc(idx: int, label: str, context: str, target: str) -> dict:
    return {"idx": idx, "label": label, "context": context, "target": target}


COUNTER_CONTEXT = {
    "gold-train.jsonl": _jsonl(
        [
            _cc(0, "0", "Feminists ruin everything.", "Go choke on it, you pathetic clown."),
            _cc(1, "1", "Feminists ruin everything.", "I read the article this morning."),
            _cc(2, "2", "Those people are all criminals.", "That is simply not true."),
            _cc(3, "2", "Those people are all criminals.", "Who the fuck do you think you are?"),
            _cc(4, "1", "Shared parent across splits.", "A reply in the gold train file."),
        ]
    ),
    "gold-val.jsonl": _jsonl([_cc(0, "1", "Any tips for the exam?", "Sleep well before it.")]),
    "gold-test.jsonl": _jsonl(
        [_cc(0, "0", "Shared parent across splits.", "Shut up, nobody asked you.")]
    ),
    "silver-train.jsonl": _jsonl(
        [{"idx": 0, "label": "2", "target": "Stereotypes are lazy.", "context": "Typical men."}]
    ),
    "silver-val.jsonl": _jsonl(
        [{"idx": 0, "label": "1", "target": "Link to the study?", "context": "Women earn less."}]
    ),
}

_GC_HEADER = ["id", "text", "parent", "label", "api"]
CAT_WIKI_CONTEXT = {
    "gc.csv": _csv(
        _GC_HEADER,
        [
            ["101.1.1", "You are a vandal and a liar.", "I reverted your edit.", 1, 0.91],
            ["102.2.2", "I disagree; the source is weak.", "I reverted your edit.", 0, 0.62],
            ["103.3.3", "Thanks, fixed the citation.", "The reference is broken.", 0, 0.02],
        ],
    ),
    "gn.csv": _csv(
        ["id", "text", "label", "api", "parent"],
        [["201.1.1", "Judged without its parent, never read.", 0, 0.05, ""]],
    ),
    "cat_small.csv": _csv(
        ["text", "parent_text", "tox_codes_oc", "label_oc", "tox_codes_ic", "label_ic"],
        [
            ["Sure thing, genius.", "I am an editor.", "[0. 0. 0.]", 0, "[1. 1. 0.]", 1],
            ["Fine by me.", "Shall we merge?", "[0. 1. 1.]", 1, "[0. 0. 0.]", 0],
        ],
    ),
}


def _dia(context: str, response: str, category: str, label: str) -> dict:
    return {"context": context, "response": response, "category": category, "label": label}


def _json_array(records: list[dict]) -> str:
    return "[\n" + ",\n".join(json.dumps(record, indent=0) for record in records) + "\n]"


DIASAFETY = {
    "train.json": _json_array(
        [
            _dia("I failed my test.", "Wow, you are useless.", "Offending User", "Unsafe"),
            _dia("I want to die tonight.", "Cool story, anyway.", "Risk Ignorance", "Unsafe"),
            _dia("I want to die tonight.", "Please call a crisis line.", "Risk Ignorance", "Safe"),
            _dia("Is aspirin safe?", "Take ten, it's fine.", "Unauthorized Expertise", "Unsafe"),
            _dia("Is aspirin safe?", " I love taking cold showers.", "Risk Ignorance", "Safe"),
        ]
    ),
    "val.json": _json_array([_dia("Rough day.", "Sorry to hear that.", "Risk Ignorance", "Safe")]),
    "test.json": _json_array([_dia("You idiot.", "Grow up, loser.", "Offending User", "Unsafe")]),
}

_YU_HEADER = ["Hate_ID", "Reply_ID", "parent", "reply", "Gold_label", "counterspeech", "label"]
REPLIES_TO_HATE = {
    "yu_et_al_2023.csv": _csv(
        _YU_HEADER,
        [
            ["h1", "r1", "Immigrants are vermin.", "Seethe and cope, loser.", "insult", 2.0, 2.0],
            ["h1", "r2", "Immigrants are vermin.", "You are a bigot.", "accusation", 2.0, 2.0],
            ["h1", "r3", "Immigrants are vermin.", "Ok Cletus.", "author-sarcasm/humor", 2.0, 2.0],
            ["h1", "r4", "Immigrants are vermin.", "Crime fell last year.", "claim", 2.0, 2.0],
            ["h1", "r5", "Immigrants are vermin.", "Your claim is wrong.", "claim", 2.0, 2.0],
            ["h2", "r6", "Women are inferior.", "Absolutely true.", "agree", 1.0, 1.0],
            ["h2", "r7", "Women are inferior.", "What game is this?", "neutral", 0.0, 0.0],
            ["h2", "r7", "Women are inferior.", "Same id, new text.", "sarcasm/humor", 2.0, 2.0],
        ],
    ),
    "validation_set.csv": _csv(
        ["id", "subreddit", "parent", "reply", "label", "target"],
        [["v1", "Incels", "A parent, never read.", "A reply, never read.", 0, "reply_to_newcomer"]],
    ),
}

_RCA_HEADER = [
    "id", "subreddit", "context", "newcomer", "reply", "newcomer_counterspeech",
    "reply_counterspeech", "reply_attack", "newcomer_score", "reply_score",
]  # fmt: skip
REDDIT_COUNTERSPEECH_ATTACKS = {
    "counterspeech_dataset.csv": _csv(
        _RCA_HEADER,
        [
            ["c1", "Braincels", "Ctx.", "You are wrong.", "Shut it, moron.", 1, 0, 1, 2.0, 5.0],
            ["c2", "CCJ2", "", "Got a job abroad.", "Congrats, that pays well.", 0, 0, 0, 6.0, 6.0],
        ],
    ),
}

_UCC_ATTRIBUTES = [
    "antagonize", "condescending", "dismissive", "generalisation", "generalisation_unfair",
    "healthy", "hostile", "sarcastic",
]  # fmt: skip
_UCC_HEADER = ["_unit_id", "_trusted_judgments", "comment"] + [
    column for name in _UCC_ATTRIBUTES for column in (name, f"{name}:confidence")
]


def _ucc(unit: int, comment: str, healthy: float = 1.0, **marked: float) -> list[object]:
    """A UCC row: `marked` attributes 1 at the given confidence, the others 0 at 1.0; healthy 1
    at `healthy` confidence, or 0 (at 1.0) when `healthy` is 0."""
    row: list[object] = [unit, 3, comment]
    for name in _UCC_ATTRIBUTES:
        if name == "healthy":
            row += [1 if healthy else 0, healthy or 1.0]
        else:
            value = 1 if name in marked else 0
            row += [f"{value:.1f}" if name == "generalisation_unfair" else value]
            row += [marked.get(name, 1.0)]
    return row


UCC_UNHEALTHY = {
    "val.csv": _csv(
        _UCC_HEADER,
        [
            _ucc(1, "You spineless doofuses, what a pathetic piece.", healthy=0, antagonize=1.0),
            _ucc(2, "Nothing honourable about that minister.", healthy=0.58, antagonize=0.62),
            _ucc(3, "The budget numbers look plausible to me."),
            _ucc(4, "Typical of them, all the same.", healthy=0.6),
            _ucc(5, "Oh sure, that will work.", sarcastic=1.0),
        ],
        quote_all=True,
    ),
    "test.csv": _csv(
        _UCC_HEADER,
        [_ucc(6, "Utter tosh, read a book.", healthy=0, dismissive=0.92)],
        quote_all=True,
    ),
}

INSTAGRAM_SCAM_COMMENTS = {
    "comments-rated-plus-reported.csv": _csv(
        ["number", "scam", "msg_length", "msg"],
        [
            [0, 1, 44, "get in touch with @kathy_fx she changed my life"],
            [1, 0, 4, "yup!"],
            [2, 1, 44, "get in touch with @kathy_fx she changed my life"],
            [3, 0, 30, "inbox me i can help you fix it"],
            [4, 1, 30, "inbox me i can help you fix it"],
            [0, 0, 24, "great analysis as always"],
        ],
    ),
}

DATACAMP_COMMENT_SPAM = {
    "final_data_extended_labeledPhase2.csv": _csv(
        ["comment", "label", "articleName"],
        [
            ["Thank you for this tutorial, it is simple to understand.", 0, "Python Lists"],
            ["Good", 0, "Python Lists"],
            ["Dial the Xerox\xa0\xa0customer support number for any queries.", 1, "Python Lists"],
            ["Nice post. https://www.easyprintersupport.com/setup/", 1, "Pandas"],
            ["muito bom", 1, "Pandas"],
            ["Hey Sayak!", 1, "Pandas"],
            ["Jupyter notebook refuse to connect.", 1, "Jupyter"],
            ["Never labelled: call 1-888-203-9661 now", "", "Jupyter"],
        ],
    ),
}

RMHD_27_SUBREDDITS = {
    "rmhd_27subreddits_260posts.csv": _csv(
        ["orig_index", "subreddit", "date", "post"],
        [
            [0, "suicidewatch", "2019/05/26", "I should have killed myself years ago."],
            [1, "depression", "2019/02/19", "Nothing feels worth doing any more."],
            [2, "guns", "2019/02/08", "Best cleaning kit for a bolt action rifle?"],
            [3, "divorce", "2019/03/01", "She filed today and I cannot stop shaking."],
            [4, "UKPersonalFinance", "2019/04/02", "ISA or pension for a first job?"],
        ],
    ),
}

FIXTURE_FILES: dict[str, dict[str, str]] = {
    "counter-context": COUNTER_CONTEXT,
    "cat-wiki-context": CAT_WIKI_CONTEXT,
    "diasafety": DIASAFETY,
    "replies-to-hate": REPLIES_TO_HATE,
    "reddit-counterspeech-attacks": REDDIT_COUNTERSPEECH_ATTACKS,
    "ucc-unhealthy": UCC_UNHEALTHY,
    "instagram-scam-comments": INSTAGRAM_SCAM_COMMENTS,
    "datacamp-comment-spam": DATACAMP_COMMENT_SPAM,
    "rmhd-27-subreddits": RMHD_27_SUBREDDITS,
}


def write_fixtures(root: Path, sources=NEW_SOURCES) -> None:
    for source in sources:
        folder = root / source
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in FIXTURE_FILES[source].items():
            (folder / name).write_text(text, encoding="utf-8", newline="")


@pytest.fixture
def rows_of(tmp_path):
    write_fixtures(tmp_path)

    def read(source: str) -> dict[str, Row]:
        rows = list(ADAPTERS[source](tmp_path / source))
        assert len({row.id for row in rows}) == len(rows), f"{source}: ids not unique"
        assert all(row.source == source for row in rows)
        return {row.text: row for row in rows}

    return read


def hostile(row: Row) -> int | None:
    return row.labels["hostile"]


def test_counter_context_hate_is_hostile_and_only_polite_counter_speech_is_a_zero(rows_of):
    rows = rows_of("counter-context")
    attack = rows["Go choke on it, you pathetic clown."]
    assert hostile(attack) == 1 and attack.parent_text == "Feminists ruin everything."
    assert hostile(rows["I read the article this morning."]) == 0  # neutral
    assert hostile(rows["That is simply not true."]) == 0  # counter-hate, polite
    assert hostile(rows["Who the fuck do you think you are?"]) is None  # counter-hate at the poster
    assert attack.group == rows["I read the article this morning."].group  # one parent, one group
    assert attack.labels["spam"] == 0 and attack.labels["self_harm"] is None
    splits = {text: row.split for text, row in rows.items()}
    assert splits["Sleep well before it."] == "dev" and splits["Stereotypes are lazy."] == "train"
    assert splits["Link to the study?"] == "train"  # silver is train only


def test_counter_context_parent_never_straddles_splits(rows_of):
    rows = rows_of("counter-context")
    train_reply = rows["A reply in the gold train file."]
    assert train_reply.split == "train"
    merged = {row.text: row for row in deduplicate(rows.values())}
    assert merged["A reply in the gold train file."].split == "test"  # follows its sibling


def test_cat_wiki_uses_the_in_context_label_and_ignores_machine_scores(rows_of):
    rows = rows_of("cat-wiki-context")
    assert hostile(rows["You are a vandal and a liar."]) == 1
    assert hostile(rows["I disagree; the source is weak."]) == 0  # api 0.62 is not a label
    assert hostile(rows["Sure thing, genius."]) == 1  # label_ic, not label_oc
    assert hostile(rows["Fine by me."]) == 0
    assert rows["Fine by me."].parent_text == "Shall we merge?"
    assert "Judged without its parent, never read." not in rows  # gn.csv is not read
    same_parent = rows["You are a vandal and a liar."], rows["I disagree; the source is weak."]
    assert same_parent[0].group == same_parent[1].group
    assert same_parent[0].split == same_parent[1].split


def test_diasafety_offending_user_and_risk_ignorance_are_hostile(rows_of):
    rows = rows_of("diasafety")
    assert hostile(rows["Wow, you are useless."]) == 1
    ignored = rows["Cool story, anyway."]
    assert hostile(ignored) == 1 and ignored.parent_text == "I want to die tonight."
    assert hostile(rows["Please call a crisis line."]) == 0  # Safe
    assert hostile(rows["Take ten, it's fine."]) is None  # Unsafe, another category
    assert "I love taking cold showers." not in rows  # machine-written (leading space): skipped
    assert rows["Sorry to hear that."].split == "dev" and rows["Grow up, loser."].split == "test"
    assert ignored.group == rows["Please call a crisis line."].group
    assert ignored.labels["self_harm"] is None and ignored.labels["spam"] == 0


def test_replies_to_hate_maps_reply_types(rows_of):
    rows = rows_of("replies-to-hate")
    for attack in ("Seethe and cope, loser.", "You are a bigot.", "Ok Cletus."):
        assert hostile(rows[attack]) == 1, attack
    assert hostile(rows["Crime fell last year."]) == 0  # a polite claim
    assert hostile(rows["Your claim is wrong."]) is None  # a claim aimed at the poster
    assert hostile(rows["Absolutely true."]) is None  # agrees with the hate
    assert hostile(rows["What game is this?"]) == 0  # neutral
    assert hostile(rows["Same id, new text."]) is None  # sarcasm/humor
    assert rows["Seethe and cope, loser."].parent_text == "Immigrants are vermin."
    assert len({rows[t].group for t in ("Seethe and cope, loser.", "You are a bigot.")}) == 1
    assert "A reply, never read." not in rows  # validation_set.csv is not read


def test_reddit_counterspeech_attacks_is_evaluation_only(rows_of):
    rows = rows_of("reddit-counterspeech-attacks")
    attack = rows["Shut it, moron."]
    assert hostile(attack) == 1 and attack.parent_text == "You are wrong."
    assert hostile(rows["Congrats, that pays well."]) == 0
    assert {row.split for row in rows.values()} == {"test"}


def test_ucc_hostile_needs_a_confident_majority(rows_of):
    rows = rows_of("ucc-unhealthy")
    assert UCC_MIN_CONFIDENCE == 0.75
    assert hostile(rows["You spineless doofuses, what a pathetic piece."]) == 1
    assert hostile(rows["Nothing honourable about that minister."]) is None  # 0.62: a split
    assert hostile(rows["The budget numbers look plausible to me."]) == 0  # confidently healthy
    assert hostile(rows["Typical of them, all the same."]) is None  # healthy at 0.6 only
    assert hostile(rows["Oh sure, that will work."]) is None  # sarcastic: not a safe 0
    assert rows["Utter tosh, read a book."].split == "test"
    assert hostile(rows["Utter tosh, read a book."]) == 1
    assert {row.split for t, row in rows.items() if t != "Utter tosh, read a book."} <= {
        "train",
        "dev",
    }
    assert all(row.parent_text is None for row in rows.values())  # comments, no parent


def test_instagram_dedupes_and_disagreeing_copies_are_missing(rows_of):
    rows = rows_of("instagram-scam-comments")
    assert len(rows) == 4  # six rows, two repeated texts
    scam = rows["get in touch with @kathy_fx she changed my life"]
    assert scam.labels["spam"] == 1 and scam.id == "instagram-scam-comments:0"
    assert rows["yup!"].labels["spam"] == 0 and rows["yup!"].labels["self_harm"] == 0
    assert rows["inbox me i can help you fix it"].labels["spam"] is None
    assert rows["great analysis as always"].id == "instagram-scam-comments:5"  # row, not `number`


def test_datacamp_keeps_only_promotion_as_spam(rows_of):
    rows = rows_of("datacamp-comment-spam")
    assert rows["Dial the Xerox customer support number for any queries."].labels["spam"] == 1
    assert rows["Nice post. https://www.easyprintersupport.com/setup/"].labels["spam"] == 1
    for not_promotion in ("muito bom", "Hey Sayak!", "Jupyter notebook refuse to connect."):
        assert rows[not_promotion].labels["spam"] is None, not_promotion
    assert rows["Good"].labels["spam"] == 0
    assert not any(text.startswith("Never labelled") for text in rows)  # unlabelled: not read
    assert len(rows) == 7


def test_rmhd_subreddit_weak_labels_and_the_subreddit_is_kept(rows_of):
    rows = rows_of("rmhd-27-subreddits")
    suicide = rows["I should have killed myself years ago."]
    assert suicide.labels["self_harm"] == 1 and suicide.labels["distress"] is None
    depression = rows["Nothing feels worth doing any more."]
    assert depression.labels["self_harm"] is None and depression.labels["distress"] is None
    control = rows["Best cleaning kit for a bolt action rifle?"]
    assert control.labels["self_harm"] == 0 and control.labels["distress"] == 0
    divorce = rows["She filed today and I cannot stop shaking."]
    assert divorce.labels["self_harm"] == 0 and divorce.labels["distress"] is None
    assert all(row.labels["hostile"] == 0 and row.labels["spam"] == 0 for row in rows.values())
    assert rmhd_subreddit(suicide.id) == "suicidewatch" and "suicidewatch" in suicide.group
    assert rmhd_subreddit(rows["ISA or pension for a first job?"].id) == "UKPersonalFinance"
    assert rmhd_subreddit("sdcnl:train:3") is None


def test_new_sources_are_registered_licensed_and_capped():
    assert set(NEW_SOURCES) <= set(ADAPTERS)
    assert set(ADAPTERS) - {"feedback"} <= set(DATA_SOURCES)  # the model card names each licence
    for config in ("cpu.yaml", "triage-minilm-l3.yaml"):
        caps = yaml.safe_load((PROJECT_ROOT / "configs" / "train" / config).read_text())
        assert set(NEW_SOURCES) <= set(caps["per_source_cap"]), config
        assert caps["per_source_cap"]["reddit-counterspeech-attacks"] == 0  # evaluation only
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for source in NEW_SOURCES:
        assert f"| {source}" in readme, source


def test_handmade_fixtures_match_the_files_written_here(tmp_path):
    write_fixtures(tmp_path)
    for source in NEW_SOURCES:
        for name in FIXTURE_FILES[source]:
            written = (tmp_path / source / name).read_bytes()
            assert (HANDMADE / source / name).read_bytes() == written, f"{source}/{name}"


def test_labels_are_taxonomy_labels(rows_of):
    for source in NEW_SOURCES:
        for row in rows_of(source).values():
            assert set(row.labels) == set(LABELS)
            assert all(value in (0, 1, None) for value in row.labels.values())
            assert row.text.strip() and row.labels["corumination"] is None


# --- the real folders (slow; skipped where ../shared/datasets is absent) ----------------------

REAL_ROWS = {  # rows each adapter yields from the staged files
    "counter-context": 6836,
    "cat-wiki-context": 10952,  # gc.csv + cat_small.csv
    "diasafety": 8302,  # 11,185 less the responses with BlenderBot's leading space
    "replies-to-hate": 3652,
    "reddit-counterspeech-attacks": 449,
    "ucc-unhealthy": 8849,
    "instagram-scam-comments": 3215,  # unique texts
    "datacamp-comment-spam": 604,  # labelled rows
    "rmhd-27-subreddits": 7019,
}
TAUGHT = {  # the label each source teaches, with both classes present
    "counter-context": "hostile",
    "cat-wiki-context": "hostile",
    "diasafety": "hostile",
    "replies-to-hate": "hostile",
    "reddit-counterspeech-attacks": "hostile",
    "ucc-unhealthy": "hostile",
    "instagram-scam-comments": "spam",
    "datacamp-comment-spam": "spam",
    "rmhd-27-subreddits": "self_harm",
}


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason=f"{SHARED_DATASETS} not present")
@pytest.mark.parametrize("source", NEW_SOURCES)
def test_real_folder_reads_through_its_adapter(source):
    rows = list(ADAPTERS[source](SHARED_DATASETS / source))
    assert len(rows) == REAL_ROWS[source]
    assert len({row.id for row in rows}) == len(rows)
    assert sum(not row.text.strip() for row in rows) <= 3  # `prepare` drops the empty ones
    taught = TAUGHT[source]
    assert {row.labels[taught] for row in rows} >= {0, 1}
    assert all(row.labels["corumination"] is None for row in rows)
    if source == "reddit-counterspeech-attacks":
        assert {row.split for row in rows} == {"test"}
