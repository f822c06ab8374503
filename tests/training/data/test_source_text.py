"""Repairs of how public datasets store their text."""

from __future__ import annotations

from triage.training.data.source_text import clean_raw_tweet, decode_mixed, repair_mojibake


def test_mojibake_from_mac_roman_and_windows_1252_is_undone():
    assert repair_mojibake("don‚Äôt") == "don’t"
    assert repair_mojibake("my â€œfriendsâ€\x9d") == "my “friends”"


def test_real_accents_and_emoji_are_left_alone():
    text = "café, naïve, éè, “quoted”, 😀"
    assert repair_mojibake(text) == text


def test_mixed_utf8_and_cp1252_bytes_decode():
    assert decode_mixed("café ".encode() + b"don\x92t") == "café don’t"


def test_raw_tweet_markup_is_removed():
    assert clean_raw_tweet("RT @some_one: you &amp; me http://t.co/x1 @pal") == "you & me"
    assert clean_raw_tweet("!!! RT @a: hi") == "!!! hi"
