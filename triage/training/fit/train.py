"""`triage train`: fine-tune the shared encoder and its label heads on prepared data."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import platform
import random
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from triage.domain.labels import LABELS, OUTPUTS
from triage.domain.text import sentence_spans
from triage.scoring.encoding import Encoded, PairEncoder
from triage.training.data.counterfactuals import CounterfactualConfig, counterfactual_rows
from triage.training.data.prepare import load_split
from triage.training.data.rows import Row
from triage.training.data.synthetic import cap_synthetic, synthetic_share
from triage.training.evaluation.label_metrics import all_label_metrics, mean_pr_auc
from triage.training.fit.args import TrainArgs, resolve_encoder
from triage.training.fit.distill import (
    TeacherTargets,
    cached_teacher_targets,
    distill_terms,
    pooled_energy,
    student_from_teacher,
)
from triage.training.fit.model import HEAD_FILE, MultiLabelModel, new_model
from triage.training.fit.tensor_batches import (
    bucketed_batches,
    encode_rows,
    label_matrix,
    output_matrix,
    sorted_batches,
    stack,
)

log = logging.getLogger(__name__)

BEST_DIR = "best"


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def cap_sources(rows: list[Row], caps: dict[str, int], seed: int) -> list[Row]:
    """Keep at most caps[source] train rows of each capped source (a seeded random sample)."""
    rng = random.Random(seed)
    kept: list[Row] = []
    by_source: dict[str, list[Row]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(row)
    for source, source_rows in by_source.items():
        cap = caps.get(source)
        if cap is not None and len(source_rows) > cap:
            source_rows = rng.sample(source_rows, cap)
        kept.extend(source_rows)
    return kept


def add_random_parents(rows: list[Row], rates: dict[str, float], seed: int) -> list[Row]:
    """Give a share of each listed source's parentless rows a parent post from another source.

    Reply pairs in the data (ToxiChat) are mostly not hostile, while most hostile examples
    (OLID tweets) have no parent; without this the model learns that a parent means "not
    hostile". An insult aimed at "you" stays an insult whatever it replies to, so labels hold.
    """
    if not rates:
        return rows
    rng = random.Random(seed)
    pool = [r.text[:600] for r in rows if r.parent_text is None and r.source not in rates]
    if not pool:
        return rows
    return [
        dataclasses.replace(row, parent_text=rng.choice(pool))
        if row.parent_text is None and rng.random() < rates.get(row.source, 0.0)
        else row
        for row in rows
    ]


def add_short_crops(
    rows: list[Row], crops: dict[str, int], seed: int, missing: tuple[str, ...] = ()
) -> list[Row]:
    """Add `crops[source]` short excerpts (1-3 consecutive sentences) of each multi-sentence post.

    All self-harm positives (SDCNL) are long Reddit posts while most negatives (GoEmotions, SMS)
    are short, so without this a model learns "short means safe" and misses a one-line
    disclosure. Excerpts keep the post's labels: noisy (a sentence of a SuicideWatch post need
    not disclose anything), like the subreddit label itself; labels in `missing` are dropped
    (a property of the whole post, such as marked distress, that one sentence may not show).
    """
    rng = random.Random(seed)
    extra: list[Row] = []
    for row in rows:
        spans = sentence_spans(row.text)
        for k in range(crops.get(row.source, 0) if len(spans) > 3 else 0):
            width = rng.randint(1, 3)
            first = rng.randrange(0, len(spans) - width + 1)
            text = row.text[spans[first][0] : spans[first + width - 1][1]]
            if len(text.split()) >= 5:
                labels = {n: None if n in missing else v for n, v in row.labels.items()}
                extra.append(
                    dataclasses.replace(row, id=f"{row.id}:crop{k}", text=text, labels=labels)
                )
    return rows + extra


def positive_weights(targets: np.ndarray, mask: np.ndarray, cap: float | np.ndarray) -> np.ndarray:
    """negatives / positives per label, clipped to [1, cap] (cap: one value or one per label)."""
    positives = (targets * mask).sum(axis=0)
    negatives = ((1 - targets) * mask).sum(axis=0)
    return np.clip(negatives / np.maximum(positives, 1.0), 1.0, cap).astype(np.float32)


def to_device(arrays: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}


@torch.inference_mode()
def predict_logits(
    model: MultiLabelModel, encoded: Sequence[Encoded], batch_size: int = 64, progress: bool = False
) -> np.ndarray:
    """Logits of every output (labels, then tier cuts), in input order (batched by length)."""
    model.eval()
    device = next(model.parameters()).device
    out = np.zeros((len(encoded), model.num_outputs), dtype=np.float32)
    batches = list(sorted_batches(encoded, batch_size))
    for indices in tqdm(batches, desc="scoring", disable=not progress, leave=False):
        logits = model(**to_device(stack(encoded, indices), device))
        out[indices] = logits.float().cpu().numpy()
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def evaluate_split(
    model: MultiLabelModel, encoder: PairEncoder, rows: list[Row]
) -> dict[str, dict[str, float]]:
    targets, mask = label_matrix(rows)
    probs = sigmoid(predict_logits(model, encode_rows(encoder, rows))[:, : len(LABELS)])
    return all_label_metrics(probs, targets, mask, {})


def make_optimizer(model: MultiLabelModel, args: TrainArgs) -> torch.optim.Optimizer:
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    return torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": args.learning_rate},
            {"params": model.head.parameters(), "lr": args.head_learning_rate},
        ],
        weight_decay=args.weight_decay,
    )


def linear_schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train(args: TrainArgs) -> Path:
    """Train, keep the best epoch (mean dev PR-AUC) under run_dir/best, return that folder."""
    started = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)

    # A student starts as a copy of its teacher, tokenizer included (training/fit/distill.py).
    tokenizer_path = (args.teacher or resolve_encoder(args.base_model)) / "tokenizer.json"
    encoder = PairEncoder.from_file(tokenizer_path, args.max_length)
    train_rows = assemble_train_rows(args)
    dev_rows = assemble_dev_rows(args)
    log.info("train rows %d %s", len(train_rows), dict(Counter(r.source for r in train_rows)))

    encoded = encode_rows(encoder, train_rows)
    targets, mask = output_matrix(
        train_rows, args.tier_annotation_weight, args.synthetic_tier_weight
    )
    tier_caps = (args.pos_weight_cap,) * (len(OUTPUTS) - len(LABELS))
    caps = np.asarray(args.label_pos_weight_caps() + tier_caps)
    pos_weight = torch.from_numpy(positive_weights(targets, mask > 0, caps)).to(device)
    teacher_fit = None
    if args.feature_teacher:  # after pos_weight: soft targets must not shift the class balance
        targets, mask, teacher_fit = feature_teacher_targets(
            args, train_rows, targets, mask, dev_rows
        )

    if args.teacher:
        model, teacher = student_and_targets(args, encoded, device)
        energy = pooled_energy(teacher)
    else:
        model = new_model(resolve_encoder(args.base_model), len(OUTPUTS)).to(device)
        teacher, energy = None, 1.0
    model.freeze_lower(args.freeze_layers)
    optimizer = make_optimizer(model, args)
    rng = random.Random(args.seed)
    lengths = [len(e) for e in encoded]
    steps_per_epoch = math.ceil(len(encoded) / args.batch_size)
    total = math.ceil(steps_per_epoch * args.epochs)
    if args.max_steps:
        total = min(total, args.max_steps)
    scheduler = linear_schedule(optimizer, int(total * args.warmup_ratio), total)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")

    history, best_score, best_epoch, step = [], -1.0, 0, 0
    progress = tqdm(total=total, desc=f"training {args.name}", unit="step")
    epoch = 0
    while step < total:
        epoch += 1
        model.train()
        for indices in bucketed_batches(lengths, args.batch_size, rng):
            if step >= total:
                break
            batch = to_device(stack(encoded, indices), device)
            y = torch.from_numpy(targets[indices]).to(device)
            m = torch.from_numpy(mask[indices]).to(device)
            pooled = model.pooled(**batch)
            logits = model.head(model.dropout(pooled))
            loss = (loss_fn(logits, y) * m).sum() / m.sum().clamp(min=1.0)
            terms = {"loss": loss.item()}
            if teacher is not None:
                logit_mse, pooled_mse = distill_terms(
                    model.head(pooled),  # no head dropout: its noise would bias the MSE
                    pooled,
                    torch.from_numpy(teacher.logits[indices]).to(device),
                    torch.from_numpy(teacher.pooled[indices]).to(device),
                    energy,
                )
                terms.update(logit_mse=logit_mse.item(), pooled_mse=pooled_mse.item())
                loss = (
                    args.label_loss_weight * loss
                    + args.distill_logit_weight * logit_mse
                    + args.distill_pooled_weight * pooled_mse
                )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            progress.update(1)
            progress.set_postfix({k: f"{v:.4f}" for k, v in terms.items()}, epoch=epoch)
        dev = evaluate_split(model, encoder, dev_rows)
        score = mean_pr_auc(dev)
        history.append({"epoch": epoch, "step": step, "dev_mean_pr_auc": score, "dev": dev})
        log.info("epoch %d step %d: dev mean PR-AUC %.4f", epoch, step, score)
        if score > best_score:
            best_score, best_epoch = score, epoch
            model.save(args.run_dir / BEST_DIR, LABELS, OUTPUTS, args.max_length)
            shutil.copy(tokenizer_path, args.run_dir / BEST_DIR / "tokenizer.json")
        elif args.patience is not None and epoch - best_epoch >= args.patience:
            log.info("early stop: no dev improvement for %d epoch(s)", args.patience)
            break
    progress.close()

    record = {
        "args": args.to_json(),
        "steps": step,
        "train_rows": len(train_rows),
        "train_rows_per_source": dict(Counter(r.source for r in train_rows)),
        "pos_weight": dict(zip(OUTPUTS, pos_weight.tolist(), strict=True)),
        "annotated_train_rows": sum(1 for r in train_rows if r.annotation is not None),
        "synthetic_train_rows": sum(1 for r in train_rows if r.synthetic),
        "synthetic_share": round(synthetic_share(train_rows), 4),
        "feature_teacher": teacher_fit.to_json() if teacher_fit else None,
        "history": history,
        "best_epoch": best_epoch,
        "wall_seconds": round(time.time() - started, 1),
        "hardware": hardware_description(device),
    }
    (args.run_dir / BEST_DIR / "train_record.json").write_text(json.dumps(record, indent=2) + "\n")
    if args.refit_heads:
        refit_best(args)
    return args.run_dir / BEST_DIR


def assemble_train_rows(args: TrainArgs) -> list[Row]:
    """The train split after the per-source caps, the synthetic cap, random parents, short
    crops and counterfactual rows, in that order (seeded: the same config gives the same rows)."""
    rows = cap_sources(load_split(args.data_dir, "train"), args.per_source_cap, args.seed)
    rows = cap_synthetic(rows, args.max_synthetic_share, args.seed)
    rows = add_random_parents(rows, args.random_parent_rate, args.seed)
    rows = add_short_crops(rows, args.short_crops, args.seed, args.short_crop_missing)
    if args.counterfactuals:
        rows += counterfactual_rows(CounterfactualConfig.load(args.counterfactuals))
    return rows


def assemble_dev_rows(args: TrainArgs) -> list[Row]:
    """The dev split, sampled down to dev_limit rows (seeded)."""
    rows = load_split(args.data_dir, "dev")
    if args.dev_limit and len(rows) > args.dev_limit:
        rows = random.Random(args.seed).sample(rows, args.dev_limit)
    return rows


def feature_teacher_targets(
    args: TrainArgs,
    train_rows: Sequence[Row],
    targets: np.ndarray,
    mask: np.ndarray,
    dev_rows: Sequence[Row],
):
    """(targets, mask, fit) with the feature teacher's soft targets in unlabelled cells."""
    from triage.training.fit.feature_teacher import teach

    dev_targets, dev_mask = output_matrix(dev_rows, args.tier_annotation_weight)
    return teach(
        train_rows,
        targets,
        mask,
        dev_rows,
        dev_targets,
        dev_mask,
        encoders=args.feature_teacher,
        weight=args.feature_teacher_weight,
        cache_dir=args.feature_cache,
        seed=args.seed,
    )


def student_and_targets(
    args: TrainArgs, encoded: Sequence[Encoded], device: torch.device
) -> tuple[MultiLabelModel, TeacherTargets]:
    """The student (a copy of the teacher with `student_layers`) and the teacher's targets."""
    from triage.training.fit.model import load_checkpoint

    teacher, meta = load_checkpoint(args.teacher)
    if tuple(meta["outputs"]) != OUTPUTS:
        raise ValueError(
            f"teacher {args.teacher}: expected outputs {list(OUTPUTS)}, found {meta['outputs']}"
        )
    teacher.to(device)
    targets = cached_teacher_targets(teacher, args.teacher, encoded)
    student = student_from_teacher(teacher, args.student_layers).to(device)
    kept, total = list(args.student_layers), len(teacher.encoder.encoder.layer)
    log.info("student: teacher layers %s of %d", kept, total)
    return student, targets


def refit_best(args: TrainArgs) -> list[dict]:
    """Refit the `refit_heads` outputs of the saved best checkpoint as linear probes (refit.py)
    and save it again; the reports go into its train_record.json."""
    from triage.training.fit.model import load_checkpoint
    from triage.training.fit.refit import refit_head

    folder = args.run_dir / BEST_DIR
    model, meta = load_checkpoint(folder)
    encoder = PairEncoder.from_file(folder / "tokenizer.json", meta["max_length"])
    train_rows = load_split(args.data_dir, "train")
    train_rows = cap_synthetic(train_rows, args.max_synthetic_share, args.seed)  # as training
    dev_rows = load_split(args.data_dir, "dev")
    reports = [
        refit_head(model, encoder, label, train_rows, dev_rows) for label in args.refit_heads
    ]
    torch.save(model.head.state_dict(), folder / HEAD_FILE)
    record_path = folder / "train_record.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    record.setdefault("refit_rounds", []).append(reports)  # --refit-only may run more than once
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return reports


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU: {cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
