"""How much a bundle's int8 scores depend on the CPU, and what each weight encoding costs.

    .venv/bin/python bench/int8_portability.py [--bundle models/triage-minilm] [--n 400]

Scores the same test posts (data/prepared/test.jsonl, top-level and replies, drawn with a fixed
seed) through the serving scorer, one post per call, with the bundle's int8 weights run signed
and unsigned (`int8_weights`, triage/scoring/int8_weights.py: the same integers, flipped in
memory), then with "auto" (what the service does on this CPU). Prints the CPU's int8
instruction sets, the largest and mean difference in calibrated probability between signed and
unsigned, how many flags and tiers differ, and texts/s for each.

On a CPU with AVX-512 VNNI both encodings compute the same integer products, so the differences
are float noise and only the speed differs (signed is faster there); on a CPU without it (AVX2
only), the signed products saturate and the differences are what signed weights lose there.
Timings on a busy machine mean little: the load average is printed first.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path = [
    p for p in sys.path if not p.endswith("bench")
]  # bench/queue_views.py is not stdlib queue

from triage.domain.tier_rules import TierRules
from triage.paths import DEFAULT_BUNDLE, DEFAULT_CONFIG_DIR, DEFAULT_PREPARED
from triage.scoring.bundle import load_bundle
from triage.scoring.int8_weights import wanted_signed
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.training.data.prepare import load_split

INT8_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_int8_flags() -> str:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown (no /proc/cpuinfo)"
    return ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in INT8_FLAGS)


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
    bundle = load_bundle(args.bundle)
    runs = {}
    for choice in ("signed", "unsigned", "auto"):
        scorer = OnnxScorer(bundle, rules, evidence=False, int8_weights=choice)
        timed_scores(scorer, items[:20])  # warm-up
        runs[choice] = timed_scores(scorer, items)
    (a, _), (b, _) = runs["signed"], runs["unsigned"]
    labels = [label for label in a[0].scores if a[0].scores[label] is not None]
    pairs = list(zip(a, b, strict=True))
    diff = np.array([[abs(x.scores[lb] - y.scores[lb]) for lb in labels] for x, y in pairs])
    flags = sum(x.flags != y.flags for x, y in pairs)
    tiers = sum(x.tier != y.tier for x, y in pairs)
    print(f"{args.bundle} ({bundle.name} {bundle.version}), {len(items)} test posts, batch 1")
    print(
        f"  |probability difference| s8 vs u8: max {diff.max():.4f}, p99 "
        f"{np.quantile(diff, 0.99):.4f}, mean {diff.mean():.5f}; per label max "
        + ", ".join(f"{label} {m:.4f}" for label, m in zip(labels, diff.max(axis=0), strict=True))
    )
    print(f"  posts whose flags differ {flags}, whose tier differs {tiers}")
    auto = "signed" if wanted_signed("auto") else "unsigned"
    for name, (_, speed) in runs.items():
        print(f"  {name}{f' (here: {auto})' if name == 'auto' else ''}: {speed:.1f} texts/s")


if __name__ == "__main__":
    main()
