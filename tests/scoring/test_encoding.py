"""Token budgets: head + tail truncation, pair sharing, no baked-in padding."""

from __future__ import annotations

import pytest

from triage.scoring.encoding import PairEncoder, keep_head_and_tail, pad, split_budget


@pytest.fixture(scope="module")
def encoder():
    from triage.training.fit.args import PACKAGED_ENCODER, resolve_encoder

    return PairEncoder.from_file(resolve_encoder(PACKAGED_ENCODER) / "tokenizer.json", 32)


def test_keep_head_and_tail():
    assert keep_head_and_tail(list(range(10)), 4) == [0, 1, 8, 9]
    assert keep_head_and_tail(list(range(10)), 5) == [0, 1, 2, 8, 9]
    assert keep_head_and_tail([1, 2], 4) == [1, 2]


def test_split_budget_gives_text_first_claim():
    assert split_budget(100, 100, 30) == (21, 9)
    assert split_budget(5, 100, 30) == (5, 25)
    assert split_budget(100, 2, 30) == (28, 2)


def test_long_post_keeps_its_ending(encoder):
    text = "hello there. " * 50 + "final words goodbye"
    enc = encoder.encode(text)
    assert len(enc) == 32
    decoded = encoder.tokenizer.decode(enc.input_ids)
    assert decoded.startswith("hello there") and decoded.endswith("final words goodbye")


def test_short_text_is_not_padded(encoder):
    assert len(encoder.encode("hi")) == 3  # [CLS] hi [SEP]: the shipped 128-padding is off


def test_pair_layout(encoder):
    enc = encoder.encode("reply", "parent post")
    assert enc.input_ids[0] == encoder.cls_id and enc.input_ids[-1] == encoder.sep_id
    assert enc.token_type_ids.count(1) == len(encoder.encode("parent post")) - 1
    assert len(encoder.encode("word " * 100, "word " * 100)) == 32


def test_pad_masks_padding(encoder):
    batch = pad([encoder.encode("hi"), encoder.encode("a longer text here")])
    assert batch["input_ids"].shape == batch["attention_mask"].shape
    assert batch["attention_mask"][0].sum() == 3
