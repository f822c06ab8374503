"""How much a bundle's int8 scores depend on the CPU, and what the portable (u8) weights cost.

    .venv/bin/python bench/int8_portability.py [--bundle models/triage-minilm] [--n 400]

Writes the bundle's model with its int8 weights re-encoded as uint8
(triage/training/export/portable_int8.py: exact, w + 128 and zero point + 128) into a temporary
copy, then scores the same test posts (data/prepared/test.jsonl, top-level and replies, drawn
with a fixed seed) with both through the serving scorer, one post per call. Prints the CPU's
int8 instruction sets, the largest and mean difference in calibrated probability between the
two, how many flags and tiers differ, and texts/s for each.

On a CPU with AVX-512 VNNI both files compute the same integer products, so the differences are
float noise; on a CPU without it (AVX2 only), the signed file's u8 x s8 products saturate and the
differences are what the served scores lose there. The unsigned file computes the VNNI result
on every CPU. Timings on a busy machine mean little: the load average is printed first.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path = [
    p for p in sys.path if not p.endswith("bench")
]  # bench/queue_views.py is not stdlib queue

from triage.domain.tier_rules import TierRules
from triage.paths import DEFAULT_BUNDLE, DEFAULT_CONFIG_DIR, DEFAULT_PREPARED
from triage.scoring.bundle import BUNDLE_FILE, file_checksums, load_bundle
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.training.data.prepare import load_split
from triage.training.export.bundle_writer import write_json
from triage.training.export.portable_int8 import portable_int8

INT8_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_int8_flags() -> str:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown (no /proc/cpuinfo)"
    return ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in INT8_FLAGS)


def portable_copy(bundle_dir: Path, work: Path) -> Path:
    """A copy of the bundle with the re-encoded model and its checksums updated."""
    copy = work / bundle_dir.name
    shutil.copytree(bundle_dir, copy)
    portable_int8(bundle_dir / "model.onnx", copy / "model.onnx")
    info = json.loads((copy / BUNDLE_FILE).read_text(encoding="utf-8"))
    info["files"] = file_checksums(copy)
    write_json(copy / BUNDLE_FILE, info)
    return copy


def timed_scores(scorer: OnnxScorer, items: list[ScoreInput]) -> tuple[list, float]:
    start = time.perf_counter()
    results = [scorer.score([item])[0] for item in items]
    return results, len(items) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--data", type=Path, default=DEFAULT_PREPARED)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print(f"load average {os.getloadavg()[0]:.2f}; CPU int8 instructions: {cpu_int8_flags()}")
    rows = load_split(args.data, "test")
    rows = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    items = [ScoreInput(id=r.id, text=r.text, parent_text=r.parent_text) for r in rows]
    rules = TierRules.load(DEFAULT_CONFIG_DIR / "tiers.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        signed = load_bundle(args.bundle)
        unsigned = load_bundle(portable_copy(args.bundle, Path(tmp)))
        runs = {}
        for name, bundle in (("int8 weights (s8)", signed), ("portable weights (u8)", unsigned)):
            scorer = OnnxScorer(bundle, rules, evidence=False)
            timed_scores(scorer, items[:20])  # warm-up
            runs[name] = timed_scores(scorer, items)
    (a, speed_a), (b, speed_b) = runs.values()
    labels = [label for label in a[0].scores if a[0].scores[label] is not None]
    pairs = list(zip(a, b, strict=True))
    diff = np.array([[abs(x.scores[lb] - y.scores[lb]) for lb in labels] for x, y in pairs])
    flags = sum(x.flags != y.flags for x, y in pairs)
    tiers = sum(x.tier != y.tier for x, y in pairs)
    print(f"{args.bundle} ({signed.name} {signed.version}), {len(items)} test posts, batch 1")
    print(
        f"  |probability difference| s8 vs u8: max {diff.max():.4f}, p99 "
        f"{np.quantile(diff, 0.99):.4f}, mean {diff.mean():.5f}; per label max "
        + ", ".join(f"{label} {m:.4f}" for label, m in zip(labels, diff.max(axis=0), strict=True))
    )
    print(f"  posts whose flags differ {flags}, whose tier differs {tiers}")
    for name, speed in runs.items():
        print(f"  {name}: {speed[1]:.1f} texts/s")


if __name__ == "__main__":
    main()
