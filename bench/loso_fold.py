"""Held-out figures of a leave-sources-out fold, from its fp32 checkpoint (issue 13, point 7).

    .venv/bin/python bench/loso_fold.py --checkpoint runs/loso-cpu-ucc-sms/best \
        --held-out ucc-unhealthy:hostile,sms-spam:spam

A fold (configs/train/loso/cpu/*.yaml) trains cpu.yaml's recipe with one hostile and one spam
source at per_source_cap 0. This scores those sources' test rows (data/prepared/test.jsonl)
with the fold's fp32 checkpoint and prints each label's ROC-AUC and PR-AUC: threshold-free, so
no export or calibration is needed (the export's dev calibration is monotone and int8 stays
within 0.01 PR-AUC of fp32 by its gate). This is how docs/evaluation/loso-fine-tuned.md's
fine-tuned held-out columns are computed; a fold whose `triage export` is refused by the parity
gate is still measured.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path = [p for p in sys.path if not p.endswith("bench")]  # bench/queue_views.py is not queue

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from triage.domain.labels import LABELS
from triage.paths import DEFAULT_PREPARED
from triage.scoring.encoding import PairEncoder
from triage.training.data.prepare import load_split
from triage.training.fit.inference import predict_logits
from triage.training.fit.model import load_checkpoint
from triage.training.fit.tensor_batches import encode_rows


def held_out(value: str) -> list[tuple[str, str]]:
    pairs = [part.split(":") for part in value.split(",") if part]
    if any(len(p) != 2 or p[1] not in LABELS for p in pairs):
        raise argparse.ArgumentTypeError(f"expected source:label,... with labels in {LABELS}")
    return [(source, label) for source, label in pairs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--held-out", type=held_out, required=True, help="source:label,...")
    parser.add_argument("--data", type=Path, default=DEFAULT_PREPARED)
    args = parser.parse_args()

    model, meta = load_checkpoint(args.checkpoint)
    encoder = PairEncoder.from_file(args.checkpoint / "tokenizer.json", meta["max_length"])
    test = load_split(args.data, "test")
    print(f"{args.checkpoint}, test rows of {args.data}")
    print("| held-out source | label | test pos / n | ROC-AUC | PR-AUC |")
    print("|---|---|---|---|---|")
    for source, label in args.held_out:
        rows = [r for r in test if r.source == source and r.labels[label] is not None]
        if not rows:
            print(f"| {source} | {label} | no labelled test rows | - | - |")
            continue
        y = np.array([r.labels[label] for r in rows])
        logits = predict_logits(model, encode_rows(encoder, rows), progress=True)
        p = logits[:, meta["outputs"].index(label)]
        roc, pr = roc_auc_score(y, p), average_precision_score(y, p)
        print(f"| {source} | {label} | {int(y.sum())} / {len(y)} | {roc:.3f} | {pr:.3f} |")


if __name__ == "__main__":
    main()
