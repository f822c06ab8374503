"""Near-duplicate groups (edited copies, crops) and their effect on splits."""

from __future__ import annotations

import pytest

from triage.training.data.near_dups import NearDupRules, near_duplicate_groups, shingles
from triage.training.data.prepare import PrepareReport, deduplicate
from triage.training.data.rows import Row

POST = (
    "Every morning I wake up and wonder why I bother. My friends stopped texting months ago "
    "and my parents only call to ask for money back. I keep thinking they would all be fine "
    "without me. Work is the only place where anyone says my name."
)
EDITED = POST.replace("they would all", "they'd all").replace("money back", "the money back")
CROP = "my friends stopped texting months ago and my parents only call to ask for money back"
OTHER = (
    "We adopted a rescue dog last spring and she has finally learned to walk on a lead without "
    "pulling, which makes the evenings by the canal a real pleasure for all of us."
)
STOCK_PHRASE = "I don't want to be here anymore"


def test_an_edited_copy_and_a_crop_join_the_original():
    groups = near_duplicate_groups([POST, EDITED, CROP, OTHER])
    assert groups[0] == groups[1] == groups[2]
    assert groups[3] != groups[0]


def test_a_stock_phrase_does_not_join_the_posts_that_contain_it():
    first = f"{OTHER} {STOCK_PHRASE}."
    second = f"{STOCK_PHRASE}. {POST}"
    groups = near_duplicate_groups([first, second, STOCK_PHRASE])
    assert len(set(groups)) == 3


def test_a_crop_under_the_floor_is_not_a_near_duplicate():
    short_crop = "my parents only call to ask for money back"  # 5 five-grams
    assert len(shingles(short_crop)) < NearDupRules().min_crop_shingles
    groups = near_duplicate_groups([POST, short_crop])
    assert groups[0] != groups[1]
    loose = NearDupRules(min_crop_shingles=3)
    assert len(set(near_duplicate_groups([POST, short_crop], loose))) == 1


def test_groups_are_transitive():
    # the crop and the edit share little with each other directly, but both are the post's
    edit_tail = POST.split(". ", 2)[2] + " Nothing else changed."
    groups = near_duplicate_groups([CROP, POST, edit_tail])
    assert len(set(groups)) == 1


def test_near_duplicates_move_to_the_most_held_out_split():
    rows = [
        Row(id="a", text=POST, source="sdcnl", group="a", split="test", labels={"self_harm": 1}),
        Row(id="b", text=EDITED, source="irf", group="b", split="train", labels={"distress": 1}),
        Row(id="c", text=CROP, source="cams", group="c", split="dev"),
        Row(id="d", text=OTHER, source="x", group="d", split="train"),
    ]
    report = PrepareReport()
    merged = {row.id: row for row in deduplicate(rows, report)}
    assert [merged[i].split for i in "abcd"] == ["test", "test", "test", "train"]
    assert merged["b"].labels["distress"] == 1  # moved, not merged: labels untouched
    assert report.near_duplicate_groups == 1 and report.near_duplicate_rows == 3
    assert report.moved_as_near_duplicate == 2


def test_rules_reject_nonsense():
    with pytest.raises(ValueError, match="min_jaccard"):
        NearDupRules(min_jaccard=0)
    with pytest.raises(ValueError, match="min_crop_shingles"):
        NearDupRules(min_crop_shingles=0)


def test_a_re_annotating_source_follows_the_primary_copy_split():
    # IRF re-annotates SDCNL: its official test must not pull SDCNL's training post into test
    rows = [
        Row(id="s", text=POST, source="sdcnl", group="s", split="train", labels={"self_harm": 1}),
        Row(id="i", text=EDITED, source="irf", group="i", split="test", labels={"distress": 1}),
        Row(id="e", text=POST, source="irf", group="e", split="test", labels={"distress": 1}),
        Row(id="c", text=CROP, source="cams", group="c", split="dev"),
    ]
    merged = {row.id: row for row in deduplicate(rows)}
    assert set(merged) == {"s", "i", "c"}  # the exact IRF copy merged into SDCNL's row
    assert {row.split for row in merged.values()} == {"train"}
    assert merged["s"].labels["distress"] == 1 and merged["s"].labels["self_harm"] == 1
    # without a primary copy, the most held-out deferring split still wins
    alone = deduplicate([rows[1], rows[3]])
    assert {row.split for row in alone} == {"test"}


def test_a_moved_row_takes_its_own_group_along():
    rows = [
        Row(id="a", text=POST, source="toxichat", group="thread:1", split="test"),
        Row(id="b", text=EDITED, source="dreaddit", group="post:9", split="train"),
        Row(id="c", text=OTHER, source="dreaddit", group="post:9", split="train"),
        Row(
            id="d",
            text="Another post entirely, by someone else.",
            source="x",
            group="post:5",
            split="train",
        ),
    ]
    merged = {row.id: row for row in deduplicate(rows)}
    assert [merged[i].split for i in "abcd"] == ["test", "test", "test", "train"]
