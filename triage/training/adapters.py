"""Adapters: one function per public dataset, each turning its files into `Row`s.

The mapping from each dataset's own labels to the triage taxonomy is written down here (and in
the README's data table). A label the source does not speak to is left missing (None), so the
loss ignores it; a 0 is only set where the source makes it safe to assume (for example, an SMS
that is ham is not spam). Where a dataset ships splits, its test split stays the test split.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from triage.training.rows import Row, hash_dev, hash_split

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


ADAPTERS: dict[str, Adapter] = {
    "sdcnl": read_sdcnl,
    "goemotions": read_goemotions,
    "dreaddit": read_dreaddit,
    "olid": read_olid,
    "toxichat": read_toxichat,
    "sms-spam": read_sms_spam,
}
