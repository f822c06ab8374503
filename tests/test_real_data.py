"""Slow: the adapters on the real public datasets (skipped where ../shared/datasets is absent)."""

from __future__ import annotations

import pytest

from triage.training.prepare import load_split, prepare
from triage.training.rows import normalise

from .conftest import SHARED_DATASETS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason=f"{SHARED_DATASETS} not present"),
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared-real")
    return out, prepare(SHARED_DATASETS, out)


def test_every_source_is_read(prepared):
    _, summary = prepared
    assert summary["sources"]["sdcnl"] == 1895
    assert summary["sources"]["olid"] == 13240 + 860
    assert summary["sources"]["sms-spam"] == 5574
    assert summary["sources"]["dreaddit"] == 2838 + 715
    assert summary["sources"]["goemotions"] == 43410 + 5426 + 5427


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
