"""Refit a label's output as a linear probe on the fine-tuned encoder (`refit_heads` in a config).

A label with only a few hundred annotated rows among tens of thousands (corumination) is learnt
poorly by the shared fine-tuning: its output row sees few gradients. After fine-tuning, its row
of the head is refitted as an L2-regularised logistic regression on the frozen mean-pooled
embeddings of the train rows that carry the label, with C chosen on dev PR-AUC; the refit is
kept only if it beats the fine-tuned row on dev. On the 0.4.0 run this took corumination's dev
PR-AUC from 0.702 to 0.776. The ordinal tier cuts (`tier>=amber` ...) can be refitted the same
way on the annotated posts alone (in the 0.4.0 checkpoint: crisis cut 0.457 -> 0.59 on dev).
The exported graph is unchanged: only head weights move.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence

import numpy as np
import torch

from triage.domain.labels import LABELS, OUTPUTS, TIER_OUTPUTS
from triage.scoring.encoding import PairEncoder
from triage.training.data.prepare import load_split
from triage.training.data.rows import Row
from triage.training.data.synthetic import cap_synthetic
from triage.training.fit.args import TrainArgs
from triage.training.fit.model import HEAD_FILE, MultiLabelModel, load_checkpoint
from triage.training.fit.tensor_batches import encode_rows, sorted_batches, stack
from triage.training.fit.tier_targets import annotated_cuts, is_everyday_post
from triage.training.fit.train_rows import checked_counterfactual_rows

log = logging.getLogger(__name__)

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


@torch.inference_mode()
def pooled_embeddings(
    model: MultiLabelModel, encoder: PairEncoder, rows: Sequence[Row]
) -> np.ndarray:
    model.eval()
    encoded = encode_rows(encoder, rows)
    out = np.zeros((len(encoded), model.head.in_features), dtype=np.float32)
    for indices in sorted_batches(encoded, 32):
        batch = {k: torch.from_numpy(v) for k, v in stack(encoded, indices).items()}
        out[indices] = model.pooled(**batch).numpy()
    return out


def _labelled(
    rows: Sequence[Row], output: str, synthetic_weight: float = 0.0, green: Sequence[Row] = ()
) -> tuple[list[Row], np.ndarray, np.ndarray]:
    """The rows that carry `output`, their targets and sample weights: a label's value, or for a
    tier cut the cut implied by the annotated tier. Weakly labelled rows are left out: the probe
    is for what the annotated rows teach. A synthetic row's written tier weighs
    `synthetic_weight` (0 leaves synthetic rows out): they are a large share of the rows with a
    tier, and a probe that learns their written style would also flatter the written casebook.
    `green` rows (everyday posts) join a tier cut's rows as 0 at weight 1."""
    if output in LABELS:
        kept = [row for row in rows if row.labels[output] is not None]
        return kept, np.array([row.labels[output] for row in kept]), np.ones(len(kept))
    cut = TIER_OUTPUTS.index(output)
    kept, cuts, weights = [], [], []
    for row in rows:
        if row.annotation is None or not row.annotation.tier:
            continue
        weight = synthetic_weight if row.synthetic else 1.0
        if weight > 0:
            kept.append(row)
            cuts.append(annotated_cuts(row.annotation.tier)[cut])
            weights.append(weight)
    kept += green
    return kept, np.array(cuts + [0] * len(green)), np.array(weights + [1.0] * len(green))


def refit_head(
    model: MultiLabelModel,
    encoder: PairEncoder,
    label: str,
    train_rows: Sequence[Row],
    dev_rows: Sequence[Row],
    synthetic_weight: float = 0.0,
    everyday: tuple[Sequence[Row], Sequence[Row]] = ((), ()),
) -> dict:
    """Refit output `label` (a label or a tier cut, see labels.OUTPUTS) in place if a linear
    probe beats it on dev PR-AUC; return a report. `everyday` (train, dev) posts join a tier
    cut's rows as green, on both sides, so the fine-tuned row and the probe are compared on
    them too."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    j = OUTPUTS.index(label)
    green_train, green_dev = everyday if label in TIER_OUTPUTS else ((), ())
    train, y_train, w_train = _labelled(train_rows, label, synthetic_weight, green_train)
    dev, y_dev, _ = _labelled(dev_rows, label, green=green_dev)
    if len(set(y_train)) < 2 or len(set(y_dev)) < 2:
        return {"label": label, "refitted": False, "why": "needs both classes in train and dev"}
    if j >= model.num_outputs:
        return {"label": label, "refitted": False, "why": "the model has no such output"}
    x_train = pooled_embeddings(model, encoder, train)
    x_dev = pooled_embeddings(model, encoder, dev)
    with torch.inference_mode():
        current = model.head(torch.from_numpy(x_dev))[:, j].numpy()
    before = float(average_precision_score(y_dev, current))
    best = None
    for c in C_GRID:
        probe = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        probe.fit(x_train, y_train, sample_weight=w_train)
        score = float(average_precision_score(y_dev, probe.decision_function(x_dev)))
        if best is None or score > best[0]:
            best = (score, c, probe)
    assert best is not None  # C_GRID is not empty
    score, c, probe = best
    report = {
        "label": label,
        "train_rows": len(train),
        "synthetic_train_rows": sum(1 for row in train if row.synthetic),
        "everyday_rows": [len(green_train), len(green_dev)],
        "dev_pr_auc_before": round(before, 4),
        "dev_pr_auc_after": round(score, 4),
        "C": c,
        "refitted": score > before,
    }
    if score > before:
        with torch.no_grad():
            model.head.weight[j] = torch.from_numpy(probe.coef_[0].astype(np.float32))
            model.head.bias[j] = float(probe.intercept_[0])
    log.info("refit %s: %s", label, report)
    return report


def everyday_sample(rows: Sequence[Row], limit: int, seed: int) -> list[Row]:
    """Up to `limit` everyday posts of `rows` (tier_targets.is_everyday_post), drawn with `seed`;
    synthetic rows are never drawn (they have written tiers of their own)."""
    pool = [row for row in rows if not row.synthetic and is_everyday_post(row)]
    if limit >= len(pool):
        return pool
    return random.Random(seed).sample(pool, limit)


def refit_best(args: TrainArgs) -> list[dict]:
    """Refit the `refit_heads` outputs of the run's saved best checkpoint as linear probes and
    save it again; the reports go into its train_record.json (`triage train --refit-only` may
    run this more than once, so each call adds a round)."""
    folder = args.best_dir
    model, meta = load_checkpoint(folder)
    encoder = PairEncoder.from_file(folder / "tokenizer.json", meta["max_length"])
    train_rows = load_split(args.data_dir, "train")
    if args.synthetic_refit_weight > 0:
        train_rows += checked_counterfactual_rows(args)
    # the synthetic cap (training applies it after the per-source caps and the context pair
    # repeats, so near the cap the two may keep different synthetic rows)
    train_rows = cap_synthetic(train_rows, args.max_synthetic_share, args.seed)
    dev_rows = load_split(args.data_dir, "dev")
    everyday = (
        everyday_sample(train_rows, args.refit_everyday_rows, args.seed),
        everyday_sample(dev_rows, args.refit_everyday_rows, args.seed),
    )
    reports = [
        refit_head(
            model, encoder, label, train_rows, dev_rows, args.synthetic_refit_weight, everyday
        )
        for label in args.refit_heads
    ]
    torch.save(model.head.state_dict(), folder / HEAD_FILE)
    record_path = folder / "train_record.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    record.setdefault("refit_rounds", []).append(reports)
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return reports
