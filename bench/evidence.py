"""Evidence quality: does the sentence triage points at contain the annotated evidence?

    .venv/bin/python bench/evidence.py [--bundle models/triage-minilm] [--split test]

Test posts annotated red or crisis carry the annotator's evidence span (annotations/,
docs/annotation/self_harm_tiers.md). For each such post with two or more sentences, every
method picks one sentence for the tier (the P(tier >= red) output, or self_harm without a tier
head), whatever tier the model gave the post, and a pick is a hit when it overlaps the span:

  in context   the bundle's token logits: the sentence of the highest token (evidence_mode
               context)
  alone        each sentence scored again on its own, highest score (the default)
  first        the first sentence            random   expected hit rate of a random sentence

Prints hit rates and the CPU time each model-based method spends per post.
"""

from __future__ import annotations

import sys

sys.path = [p for p in sys.path if not p.endswith("bench")]

import argparse
import time
from pathlib import Path

import numpy as np

from triage.domain.labels import Tier
from triage.domain.text import sentence_spans
from triage.paths import DEFAULT_BUNDLE, DEFAULT_PREPARED
from triage.scoring.bundle import load_bundle
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.settings import Settings
from triage.training.data.prepare import load_split


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--data", type=Path, default=DEFAULT_PREPARED)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    scorer = OnnxScorer(
        load_bundle(args.bundle), Settings().tier_rules, threads=1, evidence_mode="context"
    )
    if not scorer.token_evidence:
        sys.exit(f"{args.bundle} has no token logits: re-export it with `triage export`")
    rows = [
        r
        for r in load_split(args.data, args.split)
        if r.annotation and r.annotation.evidence and len(sentence_spans(r.text)) > 1
    ]
    hits = {"in context": 0, "alone": 0, "first": 0, "random": 0.0}
    cpu = {"in context": 0.0, "alone": 0.0}
    for row in rows:
        item = ScoreInput(row.id, row.text, row.parent_text)
        spans = sentence_spans(row.text)[:24]
        started = time.process_time()
        [run] = scorer.model.runs([row.text], [row.parent_text])
        picked = scorer.evidence_finder.in_context(item, spans, [Tier.RED.value], run.tokens)
        cpu["in context"] += time.process_time() - started
        started = time.process_time()
        alone = scorer.evidence_finder.alone(item, spans, [], True, Tier.RED)
        cpu["alone"] += time.process_time() - started
        truth = row.annotation.evidence
        hits["in context"] += bool(picked) and overlaps((picked[0].start, picked[0].end), truth)
        hits["alone"] += overlaps((alone[0].start, alone[0].end), truth)
        hits["first"] += overlaps(spans[0], truth)
        hits["random"] += float(np.mean([overlaps(span, truth) for span in spans]))
    bundle = scorer.bundle
    print(f"bundle {bundle.name} {bundle.version}; {len(rows)} annotated red/crisis {args.split} "
          "posts of 2+ sentences")  # fmt: skip
    print("| method | hit rate | CPU ms per post |")
    print("|---|---|---|")
    for name, count in hits.items():
        ms = f"{1000 * cpu[name] / len(rows):.1f}" if name in cpu else "-"
        print(f"| {name} | {count / len(rows):.3f} | {ms} |")
    print("(in context: the CPU time includes scoring the post itself; alone: only the "
          "sentences' extra runs)")  # fmt: skip


if __name__ == "__main__":
    main()
