"""Slow: the adapters on the real public datasets (skipped where ../shared/datasets is absent)."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATASETS
from triage.paths import PROJECT_ROOT
from triage.training.data.near_dups import near_duplicate_groups
from triage.training.data.prepare import load_split, prepare
from triage.training.data.rows import SPLITS, normalise

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason=f"{SHARED_DATASETS} not present"),
]


EXTERNAL = PROJECT_ROOT / "data" / "external"  # `make spam-assassin` puts the npm corpus here


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared-real")
    return out, prepare(SHARED_DATASETS, out, external_dir=EXTERNAL)


@pytest.fixture(scope="module")
def split_rows(prepared):
    out, _ = prepared
    return [(split, row) for split in SPLITS for row in load_split(out, split)]


def test_every_source_is_read(prepared):
    _, summary = prepared
    assert summary["sources"]["sdcnl"] == 1895
    assert summary["sources"]["olid"] == 13240 + 860
    assert summary["sources"]["sms-spam"] == 5574
    assert summary["sources"]["dreaddit"] == 2838 + 715
    assert summary["sources"]["goemotions"] == 43410 + 5426 + 5427
    assert summary["sources"]["irf"] == 1972 + 493 + 1057
    assert summary["sources"]["cams"] == 3155 + 1461 + 370
    assert summary["sources"]["depseverity"] == 3553
    assert summary["sources"]["davidson-hate-offensive"] == 24783
    assert summary["sources"]["epitome"] == 2979 + 3023  # seeker posts + replies
    assert summary["sources"]["counselchat"] == 824 + 2129  # questions (by link) + answers
    if (EXTERNAL / "spam-assassin").is_dir():
        assert summary["sources"]["spam-assassin"] == 6046


def test_no_text_in_two_splits(prepared):
    out, _ = prepared
    seen: dict[str, str] = {}
    for split in ("train", "dev", "test"):
        for row in load_split(out, split):
            key = normalise(row.text)
            assert seen.setdefault(key, split) == split, f"{row.id} in {seen[key]} and {split}"


def test_official_test_splits_are_kept(prepared):
    out, summary = prepared
    counts = summary["counts"]
    assert counts["sdcnl"]["test"]["_rows"]["n"] >= 370  # 379 minus duplicates
    assert counts["olid"]["test"]["hostile"]["pos"] > 50
    assert counts["sms-spam"]["test"]["spam"]["pos"] > 30


def test_no_near_duplicate_in_two_splits(split_rows):
    groups = near_duplicate_groups([row.text for _, row in split_rows])
    seen: dict[int, str] = {}
    for (split, row), group in zip(split_rows, groups, strict=True):
        assert seen.setdefault(group, split) == split, f"{row.id}: near duplicate in two splits"
    assert len(set(groups)) < len(groups) - 2000  # the real data has thousands of them


def test_no_crop_in_another_split(split_rows):
    """An independent check: a text (15+ words) found inside a longer one shares its split."""
    window = 8
    texts = [(split, normalise(row.text)) for split, row in split_rows]
    starts: dict[str, list[int]] = {}
    for index, (_, text) in enumerate(texts):
        words = text.split()
        if len(words) >= 15:
            starts.setdefault(" ".join(words[:window]), []).append(index)
    crops = 0
    for split, text in texts:
        words = text.split()
        for i in range(len(words) - window + 1):
            for index in starts.get(" ".join(words[i : i + window]), ()):
                crop_split, crop = texts[index]
                if crop != text and crop in text:
                    crops += 1
                    assert crop_split == split, f"a crop in {crop_split}, its source in {split}"
    assert crops > 100  # Dreaddit / DepSeverity, SDCNL / CAMS: the check did find crops


def test_dreaddit_post_segments_and_their_depseverity_copies_share_a_split(split_rows):
    splits: dict[str, set[str]] = {}
    for split, row in split_rows:
        if row.source == "dreaddit":
            splits.setdefault(row.group, set()).add(split)
    assert sum(len(found) > 1 for found in splits.values()) == 0
    assert not any(row.source == "depseverity" for _, row in split_rows)  # all merged
