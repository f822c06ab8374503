"""Slow: the committed annotation manifests still resolve to rows of the real datasets.

Labels are kept as adapter row ids; if an adapter changes its ids, or its text, the labels no
longer point at what was annotated. Skipped where ../shared/datasets is absent.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED_DATASETS
from triage.paths import PROJECT_ROOT
from triage.training.annotations.files import item_key, read_manifest
from triage.training.data.adapters import ADAPTERS
from triage.training.data.annotation_labels import KINDS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason=f"{SHARED_DATASETS} not present"),
]

ANNOTATIONS = PROJECT_ROOT / "annotations"
WORK = PROJECT_ROOT / "annotation" / "work"


@pytest.fixture(scope="module")
def adapter_rows():
    sources = (
        "sdcnl",
        "irf",
        "cams",
        "dreaddit",
        "counselchat",
        "goemotions",
        "epitome",
        "toxichat",
        # hostile pairs (issue 13)
        "diasafety",
        "counter-context",
        "cat-wiki-context",
        "replies-to-hate",
        "reddit-counterspeech-attacks",
    )
    return {row.id: row for s in sources for row in ADAPTERS[s](SHARED_DATASETS / s)}


@pytest.mark.parametrize("kind", list(KINDS))
def test_manifest_ids_resolve_to_adapter_rows(kind, adapter_rows):
    manifest = read_manifest(ANNOTATIONS / KINDS[kind].manifest_file)
    assert manifest
    for item in manifest:
        assert item.item_id == item_key(kind, item.unit_id)
        row_ids = item.turn_ids if kind == "threads" else (item.unit_id,)
        missing = [row_id for row_id in row_ids if row_id not in adapter_rows]
        assert not missing, f"{kind} {item.unit_id}: adapters no longer produce {missing}"


@pytest.mark.parametrize("kind", ["tiers", "pairs", "hostile_pairs"])
def test_batch_texts_are_the_adapter_texts(kind, adapter_rows):
    """Evidence offsets index the adapter's text: the batch annotators read must be that text."""
    manifest = {m.item_id: m for m in read_manifest(ANNOTATIONS / KINDS[kind].manifest_file)}
    batches = sorted(WORK.glob(f"{KINDS[kind].prefix}-p1-*.jsonl"))
    batches = [p for p in batches if not p.name.endswith(".labels.jsonl")]
    if not batches:
        pytest.skip(f"no {kind} batch files in {WORK} (gitignored; made by `sample`)")
    for path in batches:
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            row = adapter_rows[manifest[item["id"]].unit_id]
            assert item["text"] == row.text, item["id"]
            if "parent_text" in item:
                assert item["parent_text"] == row.parent_text, item["id"]
