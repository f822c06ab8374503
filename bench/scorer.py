"""Throughput and latency of the serving scorer on real posts (2 CPU threads, batch of one).

    .venv/bin/python bench/scorer.py [--bundle models/triage-minilm] [--n 512]

Reads the test split written by `triage data prepare` (data/prepared/test.jsonl) and prints
texts/s and p50/p99 latency per item, end to end (tokenise + infer + calibrate + tier).
Evidence search (extra work for flagged items only) is reported separately.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from triage.paths import DEFAULT_BUNDLE, DEFAULT_PREPARED
from triage.scoring.bundle import load_bundle
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.settings import Settings


def load_posts(path: Path, n: int, seed: int = 0) -> list[ScoreInput]:
    rows = [json.loads(line) for line in path.read_text().split("\n") if line.strip()]
    sample = random.Random(seed).sample(rows, min(n, len(rows)))
    return [ScoreInput(r["id"], r["text"], r.get("parent_text")) for r in sample]


def time_items(scorer: OnnxScorer, items: list[ScoreInput]) -> list[float]:
    latencies = []
    for item in items:
        start = time.perf_counter()
        scorer.score([item])
        latencies.append(time.perf_counter() - start)
    return latencies


def report(name: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
    rate = len(ordered) / sum(ordered)
    print(
        f"{name:<28} {len(ordered):>5} items  {rate:7.1f} texts/s  "
        f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--data", type=Path, default=DEFAULT_PREPARED / "test.jsonl")
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    rules = Settings().tier_rules
    bundle = load_bundle(args.bundle)
    items = load_posts(args.data, args.n)
    plain = OnnxScorer(bundle, rules, threads=args.threads, evidence=False)
    with_evidence = OnnxScorer(bundle, rules, threads=args.threads, evidence=True)
    time_items(plain, items[:20])  # warm-up
    print(f"bundle {bundle.name} {bundle.version}, {args.threads} threads, batch 1")
    report("scores, flags, tier", time_items(plain, items))
    report("+ evidence for flagged", time_items(with_evidence, items))


if __name__ == "__main__":
    main()
