"""bench/hostile_head_rows.py --written-contrast: which written rows it holds out."""

from __future__ import annotations

import json

from tests.system.bench_support import load_bench


def test_written_contrast_takes_only_the_two_contrast_categories(tmp_path):
    bench = load_bench("hostile_head_rows")
    rows = [
        {"id": "syn-1", "category": "hostile_reply"},
        {"id": "syn-2", "category": "supportive_swearing"},
        {"id": "syn-3", "category": "farewell"},
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert bench.written_contrast_ids(path) == {"synthetic:syn-1", "synthetic:syn-2"}


def test_the_shipped_synthetic_file_has_both_sides_of_the_contrast():
    bench = load_bench("hostile_head_rows")
    rows = [json.loads(line) for line in bench.SYNTHETIC_ROWS.read_text().splitlines() if line]
    categories = {r["category"] for r in rows}
    assert set(bench.WRITTEN_CONTRAST) <= categories
    assert len(bench.written_contrast_ids()) == sum(
        r["category"] in bench.WRITTEN_CONTRAST for r in rows
    )
