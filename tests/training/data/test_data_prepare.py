"""Adapters on small hand-written fixtures in each dataset's real format, and de-duplication."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURES, run_cli
from triage.training.data.adapters import ADAPTERS
from triage.training.data.prepare import deduplicate, format_summary, load_split, prepare, summarise
from triage.training.data.rows import Row, normalise

DATASETS = FIXTURES / "handmade"  # tiny hand-written files in each source's real format


def rows_of(source: str) -> dict[str, Row]:
    return {row.text: row for row in ADAPTERS[source](DATASETS / source)}


def test_sdcnl_maps_subreddit_to_self_harm_and_distress():
    rows = rows_of("sdcnl")
    suicide = next(r for t, r in rows.items() if t.startswith("Can't do this"))
    depression = next(r for t, r in rows.items() if t.startswith("Tired"))
    assert suicide.labels["self_harm"] == 1 and suicide.labels["distress"] is None
    assert depression.labels["self_harm"] == 0 and depression.labels["distress"] == 1
    assert suicide.group == "author:alice" and suicide.labels["corumination"] is None


def test_goemotions_only_calm_comments_are_hostile_negatives():
    rows = rows_of("goemotions")
    assert rows["Thanks, that made my day!"].labels["hostile"] == 0
    assert rows["This is infuriating."].labels["hostile"] is None
    assert rows["This is infuriating."].labels["self_harm"] == 0


def test_olid_hostile_is_a_targeted_insult_at_a_person():
    rows = rows_of("olid")
    assert rows["you are a pathetic idiot"].labels["hostile"] == 1
    assert rows["this damn weather"].labels["hostile"] == 0  # untargeted profanity
    assert rows["those people are all the same"].labels["hostile"] is None  # a group
    assert rows["what a lovely day"].labels["hostile"] == 0
    assert rows["nobody asked you, loser"].split == "test"
    assert rows["nobody asked you, loser"].labels["hostile"] == 1


def test_olid_placeholders_are_removed():
    from triage.training.data.adapters import clean_tweet

    assert clean_tweet("@USER @USER Go home URL #MAGA") == "Go home #MAGA"
    assert clean_tweet("URLs and USERS stay") == "URLs and USERS stay"
    assert all("@USER" not in text for text in rows_of("olid"))


def test_toxichat_rows_carry_their_parent():
    rows = rows_of("toxichat")
    reply = rows["Shut up, you clearly know nothing."]
    assert reply.parent_text == "Yes, hang in there."
    assert reply.labels["hostile"] == 1
    assert rows["Title: rough week \n anyone else struggling?"].parent_text is None
    assert rows["typical of that whole group"].labels["hostile"] is None
    assert all(r.text != "bot" for r in rows.values())  # machine-written turns are skipped


def test_sms_spam_labels():
    rows = rows_of("sms-spam")
    assert rows["WINNER!! Claim your free prize: call 09061701461 now"].labels["spam"] == 1
    assert rows["Ok see you at 5"].labels["spam"] == 0


def test_duplicates_merge_and_land_in_the_most_held_out_split():
    labels = {"self_harm": 1}
    a = Row(id="a", text="Same text!", source="x", group="1", split="train", labels=labels)
    b = Row(
        id="b",
        text="same   TEXT",
        source="y",
        group="2",
        split="test",
        labels={"self_harm": 1, "spam": 0},
    )
    c = Row(
        id="c", text="same text", parent_text="other parent", source="y", group="3", split="dev"
    )
    merged = deduplicate([a, b, c])
    assert len(merged) == 2
    assert {r.split for r in merged} == {"test"}
    first = next(r for r in merged if r.parent_text is None)
    assert first.labels["self_harm"] == 1 and first.labels["spam"] == 0


def test_a_short_reply_under_two_parents_stays_in_one_split():
    """Under five words a text has no shingles: its copies are joined by the text itself, or a
    context group moving one copy to test would leave the other in dev (diasafety did)."""
    rows = [
        Row(id="r1", text="thank you", parent_text="p one", source="x", group="c1", split="train"),
        Row(
            id="r1b",
            text="a much longer reply written in the first context",
            parent_text="p one",
            source="x",
            group="c1",
            split="test",
        ),
        Row(id="r2", text="Thank you!", parent_text="p two", source="x", group="c2", split="dev"),
        Row(
            id="r2b",
            text="another reply that belongs to the second context",
            parent_text="p two",
            source="x",
            group="c2",
            split="dev",
        ),
    ]
    merged = {row.id: row.split for row in deduplicate(rows)}
    assert merged["r1"] == merged["r2"] == "test"


def test_conflicting_labels_become_missing():
    a = Row(id="a", text="t", source="x", group="1", split="train", labels={"spam": 1})
    b = Row(id="b", text="t", source="y", group="2", split="train", labels={"spam": 0})
    assert deduplicate([a, b])[0].labels["spam"] is None


def test_prepare_writes_leak_free_splits_and_a_table(tmp_path):
    summary = prepare(DATASETS, tmp_path, external_dir=DATASETS)
    texts = {
        split: {normalise(r.text) for r in load_split(tmp_path, split)}
        for split in ("train", "dev", "test")
    }
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["dev"]
    assert not texts["dev"] & texts["test"]
    assert normalise("This exact text also appears in the test file.") in " ".join(texts["test"])
    # near duplicates of SDCNL / Dreaddit test posts: IRF's edited copy (train), a CAMS crop,
    # and a DepSeverity copy with one word added all follow them into test
    test_ids = {row.id for row in load_split(tmp_path, "test")}
    assert {"irf:88", "cams:added_CAMS_data:2"} <= test_ids
    assert "depseverity:Reddit_depression_dataset:2" in test_ids
    assert summary["near_duplicate_groups"] >= 2 and summary["moved_as_near_duplicate"] >= 3
    assert summary["duplicates_merged"] >= 2  # sdcnl train/test copy, goemotions/sms copy
    table = format_summary(summary["counts"])
    for source in ADAPTERS:
        assert source in table
    assert json.loads((tmp_path / "summary.json").read_text())["sources"]["olid"] == 6


def test_cli_prepare_prints_the_table(tmp_path):
    result = run_cli(
        "data", "prepare", "--source", DATASETS, "--out", tmp_path, "--only", "sms-spam"
    )
    assert result.exit_code == 0, result.output
    assert "sms-spam" in result.output and "positives/negatives" in result.output
    assert "near-duplicate groups: " in result.output


def test_cli_prepare_explains_a_missing_source(tmp_path):
    result = run_cli(
        "data", "prepare", "--source", tmp_path, "--out", tmp_path / "o", "--only", "olid"
    )
    assert result.exit_code != 0
    assert "--source" in str(result.exception)


def test_summary_counts_positives_and_negatives():
    rows = [
        Row(id="a", text="x", source="s", group="g", split="train", labels={"spam": 1}),
        Row(id="b", text="y", source="s", group="g", split="train", labels={"spam": 0}),
    ]
    assert summarise(rows)["s"]["train"]["spam"] == {"pos": 1, "neg": 1}


def test_row_rejects_unknown_split_and_labels():
    with pytest.raises(ValueError, match="split"):
        Row(id="a", text="x", source="s", group="g", split="validation")
    with pytest.raises(ValueError, match="unknown labels"):
        Row(id="a", text="x", source="s", group="g", split="train", labels={"toxic": 1})


def test_dreaddit_gives_distress_both_ways_and_groups_by_post():
    rows = rows_of("dreaddit")
    stressed = rows["I can't sleep and my chest is tight every night before work."]
    calm = rows["Started a new job last month."]
    assert stressed.labels["distress"] == 1 and calm.labels["distress"] == 0
    assert stressed.labels["self_harm"] is None
    assert stressed.group == calm.group == "post:8601tu" and stressed.split == calm.split
    assert rows["The nightmares are back and I feel on edge all the time."].split == "test"


def test_irf_risk_factors_are_distress_and_absence_is_missing():
    rows = {row.id: row for row in ADAPTERS["irf"](DATASETS / "irf")}
    assert rows["irf:12"].labels["distress"] == 1  # thwarted belongingness
    assert rows["irf:40"].labels["distress"] == 1  # perceived burdensomeness
    assert rows["irf:7"].labels["distress"] is None  # neither factor: not evidence of calm
    assert rows["irf:7"].labels["self_harm"] is None and rows["irf:7"].labels["hostile"] == 0
    assert [rows[i].split for i in ("irf:12", "irf:3", "irf:55")] == ["train", "dev", "test"]
    assert "everyone’s neck" in rows["irf:3"].text  # Mac Roman mojibake repaired


def test_cams_gives_only_reply_and_spam_negatives_and_keeps_official_test():
    rows = {row.id: row for row in ADAPTERS["cams"](DATASETS / "cams")}
    assert set(rows) >= {"cams:IntentSDCNL_Training:0", "cams:added_CAMS_data:1"}
    for row in rows.values():
        assert row.labels["self_harm"] is None and row.labels["distress"] is None
        assert row.labels["hostile"] == 0 and row.labels["spam"] == 0
    assert rows["cams:IntentSDCNL_Testing:0"].split == "test"
    assert rows["cams:added_CAMS_data:0"].text.startswith("Nobody at my new school")
    assert "don’t know" in rows["cams:added_CAMS_data:0"].text  # stray cp1252 byte decoded


def test_depseverity_moderate_or_severe_is_distress_and_defers_its_split():
    rows = rows_of("depseverity")
    assert (
        rows["I can't sleep and my chest is tight every night before work."].labels["distress"] == 1
    )
    assert rows["Started a new job last month."].labels["distress"] is None  # minimum
    assert {row.split for row in rows.values()} == {"train"}


def test_depseverity_merges_into_its_dreaddit_copy():
    rows = [*ADAPTERS["dreaddit"](DATASETS / "dreaddit")]
    rows += ADAPTERS["depseverity"](DATASETS / "depseverity")
    merged = {row.text: row for row in deduplicate(rows)}
    calm = merged["Started a new job last month."]
    assert calm.id.startswith("dreaddit:") and calm.labels["distress"] == 0
    # severe depression where Dreaddit said stressed: agree; the split is Dreaddit's
    stressed = merged["I can't sleep and my chest is tight every night before work."]
    assert stressed.labels["distress"] == 1 and stressed.group == "post:8601tu"


def test_counselchat_questions_once_answers_with_parent_and_official_split():
    rows = {row.id: row for row in ADAPTERS["counselchat"](DATASETS / "counselchat")}
    question = rows["counselchat:q:why-do-i-feel-empty-all-the-time"]
    assert sum(row.id.startswith("counselchat:q:") for row in rows.values()) == 2
    assert question.labels["distress"] is None and question.labels["hostile"] == 0
    answer = rows["counselchat:a:1"]
    assert answer.parent_text == question.text and answer.group == question.group
    assert answer.labels == {
        "self_harm": 0,
        "distress": 0,
        "hostile": 0,
        "spam": 0,
        "corumination": None,
    }
    # listed under two topics, once as train and once as test: the whole question is test
    assert question.split == answer.split == "test"
    assert rows["counselchat:a:3"].split == "dev"  # official "val"


def test_epitome_pairs_from_three_files_become_one_post_and_its_replies():
    rows = {row.id: row for row in ADAPTERS["epitome"](DATASETS / "epitome")}
    assert len(rows) == 5  # 2 seeker posts + 3 replies, not 3 x 3 pair rows
    post, kind, curt = (
        rows["epitome:t3_aa11bb"],
        rows["epitome:t1_cc22dd"],
        rows["epitome:t1_ee33ff"],
    )
    assert post.parent_text is None and post.labels["hostile"] == 0
    assert kind.parent_text == post.text and kind.labels["hostile"] == 0
    assert curt.labels["hostile"] is None  # no empathy in any mechanism: may be dismissive
    assert rows["epitome:t1_ii55jj"].labels["hostile"] == 0  # exploration only, other file
    assert post.group == kind.group == curt.group and post.split == kind.split == curt.split
    assert "first?  Maybe" in rows["epitome:t1_ii55jj"].text  # the first file's text wins


def test_davidson_neither_is_not_hostile_and_tweet_markup_goes():
    rows = {
        row.id: row
        for row in ADAPTERS["davidson-hate-offensive"](DATASETS / "davidson-hate-offensive")
    }
    calm, profane, hateful = (rows[f"davidson-hate-offensive:{i}"] for i in range(3))
    assert calm.text == "Lovely walk by the river today & the ducks were out"
    assert calm.labels["hostile"] == 0 and calm.labels["spam"] == 0
    assert profane.labels["hostile"] is None and hateful.labels["hostile"] is None
    assert profane.text == "this traffic is so damn stupid"


def test_spam_assassin_keeps_subject_and_own_words_only():
    rows = {row.id: row for row in ADAPTERS["spam-assassin"](DATASETS / "spam-assassin")}
    spam, ham = rows["spam-assassin:spam-1:00001"], rows["spam-assassin:easy-ham-1:00001"]
    assert spam.labels["spam"] == 1 and ham.labels["spam"] == 0 and ham.labels["self_harm"] == 0
    assert spam.text.startswith("Save 70% on élite watches\n\n")  # encoded subject decoded
    assert "<" not in spam.text and "Return-Path" not in spam.text and "&amp;" not in spam.text
    assert ham.text.startswith("Re: tomato blight")  # list tag "[garden-list]" removed
    assert "brown spots" not in ham.text and "wrote" not in ham.text  # quoted reply removed
    assert "mailing list" not in ham.text and "Pull the worst leaves" in ham.text


def test_an_unfetched_external_source_is_skipped_unless_asked_for(tmp_path, caplog):
    summary = prepare(DATASETS, tmp_path / "a", external_dir=tmp_path / "nothing-here")
    assert "spam-assassin" not in summary["sources"] and "sms-spam" in summary["sources"]
    assert "make spam-assassin" in caplog.text
    with pytest.raises(FileNotFoundError, match="make spam-assassin"):
        prepare(DATASETS, tmp_path / "b", ["spam-assassin"], external_dir=tmp_path / "nothing")


def test_cli_prepare_reads_external_sources_from_external(tmp_path):
    result = run_cli(
        "data",
        "prepare",
        "--source",
        tmp_path,
        "--external",
        DATASETS,
        "--out",
        tmp_path / "o",
        "--only",
        "spam-assassin",
    )
    assert result.exit_code == 0, result.output
    assert "spam-assassin" in result.output
