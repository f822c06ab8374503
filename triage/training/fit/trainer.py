"""`Trainer`: fine-tune the shared encoder and its output head, one phase per method.

`fit` runs the phases in order: prepare_runtime (seeds, threads, device), assemble_data (rows,
encodings, targets and class-balance weights, then the feature teacher's soft targets),
build_model, prepare_optimisation, then per epoch train_epoch and evaluate, save_checkpoint when
the epoch beats the best so far, and finally write_record and refit. A variant changes a phase,
not the loop: DistillationTrainer (training/fit/distill.py) builds the student from its teacher
and adds the teacher's terms to batch_loss; the feature teacher (training/fit/feature_teacher.py)
is a step of assemble_data.

The order of the phases is the order of the random draws: the same config gives the same model.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from triage.domain.labels import LABELS, OUTPUTS
from triage.scoring.encoding import Encoded, PairEncoder
from triage.training.data.rows import Row
from triage.training.data.synthetic import synthetic_share
from triage.training.fit.args import TrainArgs, resolve_encoder
from triage.training.fit.device import hardware_description, pick_device, to_device
from triage.training.fit.feature_teacher import FeatureTeacher, TeacherFit
from triage.training.fit.inference import predict_logits, sigmoid
from triage.training.fit.label_metrics import all_label_metrics, mean_pr_auc
from triage.training.fit.model import MultiLabelModel, new_model
from triage.training.fit.optim import linear_schedule, make_optimizer, positive_weights
from triage.training.fit.refit import refit_best
from triage.training.fit.tensor_batches import (
    bucketed_batches,
    encode_rows,
    label_matrix,
    output_matrix,
    stack,
)
from triage.training.fit.train_rows import assemble_dev_rows, assemble_train_rows

log = logging.getLogger(__name__)


@dataclass
class TrainingData:
    """What the loop reads: the encoded train rows with their targets and loss weights (mask),
    and the dev rows that choose the best epoch."""

    tokenizer_path: Path
    encoder: PairEncoder
    train_rows: list[Row]
    dev_rows: list[Row]
    encoded: list[Encoded]
    targets: np.ndarray  # (rows, outputs)
    mask: np.ndarray  # (rows, outputs): a cell's loss weight, 0 where it has no target
    pos_weight: np.ndarray  # per output, from the labelled cells only
    feature_teacher_fit: TeacherFit | None = None


@dataclass
class Optimisation:
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    loss_fn: torch.nn.BCEWithLogitsLoss
    total_steps: int


@dataclass
class LoopState:
    step: int = 0
    epoch: int = 0
    best_score: float = -1.0
    best_epoch: int = 0
    history: list[dict] = field(default_factory=list)


def evaluate_split(
    model: MultiLabelModel, encoder: PairEncoder, rows: list[Row]
) -> dict[str, dict[str, float]]:
    """Per-label metrics of the model's label outputs on `rows` (uncalibrated probabilities)."""
    targets, mask = label_matrix(rows)
    probs = sigmoid(predict_logits(model, encode_rows(encoder, rows))[:, : len(LABELS)])
    return all_label_metrics(probs, targets, mask, {})


class Trainer:
    """Trains one config; `fit()` returns the best epoch's checkpoint folder."""

    device: torch.device
    data: TrainingData
    model: MultiLabelModel
    optimisation: Optimisation
    state: LoopState

    def __init__(self, args: TrainArgs) -> None:
        self.args = args
        self.feature_teacher = FeatureTeacher.from_args(args)

    def fit(self) -> Path:
        """Train, keep the best epoch (mean dev PR-AUC) under run_dir/best, return that folder."""
        started = time.time()
        self.device = self.prepare_runtime()
        self.data = self.assemble_data()
        self.model = self.build_model()
        self.model.freeze_lower(self.args.freeze_layers)
        self.optimisation = self.prepare_optimisation()
        self.state = LoopState()
        batch_order = random.Random(self.args.seed)
        lengths = [len(e) for e in self.data.encoded]
        bar = tqdm(
            total=self.optimisation.total_steps, desc=f"training {self.args.name}", unit="step"
        )
        while self.state.step < self.optimisation.total_steps:
            self.state.epoch += 1
            self.train_epoch(bucketed_batches(lengths, self.args.batch_size, batch_order), bar)
            score = self.evaluate()
            if score > self.state.best_score:
                self.state.best_score, self.state.best_epoch = score, self.state.epoch
                self.save_checkpoint()
            elif self.out_of_patience():
                log.info("early stop: no dev improvement for %d epoch(s)", self.args.patience)
                break
        bar.close()
        self.write_record(time.time() - started)
        self.refit()
        return self.args.best_dir

    # --- phases ---

    def prepare_runtime(self) -> torch.device:
        """Seed every generator and set the thread count before anything draws from them."""
        random.seed(self.args.seed)
        np.random.seed(self.args.seed)
        torch.manual_seed(self.args.seed)
        if self.args.threads:
            torch.set_num_threads(self.args.threads)
        return pick_device(self.args.device)

    def tokenizer_path(self) -> Path:
        """The tokenizer the model was pretrained with (saved next to every checkpoint)."""
        return resolve_encoder(self.args.base_model) / "tokenizer.json"

    def assemble_data(self) -> TrainingData:
        args = self.args
        tokenizer_path = self.tokenizer_path()
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
        pos_weight = positive_weights(targets, mask > 0, caps)
        teacher_fit = None
        if self.feature_teacher is not None:  # after pos_weight: keeps the class balance
            targets, mask, teacher_fit = self.feature_teacher.fill(
                train_rows, targets, mask, dev_rows
            )
        return TrainingData(
            tokenizer_path,
            encoder,
            train_rows,
            dev_rows,
            encoded,
            targets,
            mask,
            pos_weight,
            teacher_fit,
        )

    def build_model(self) -> MultiLabelModel:
        """The pretrained encoder with a fresh head, one logit per output."""
        return new_model(resolve_encoder(self.args.base_model), len(OUTPUTS)).to(self.device)

    def prepare_optimisation(self) -> Optimisation:
        args = self.args
        optimizer = make_optimizer(self.model, args)
        steps_per_epoch = math.ceil(len(self.data.encoded) / args.batch_size)
        total = math.ceil(steps_per_epoch * args.epochs)
        if args.max_steps:
            total = min(total, args.max_steps)
        scheduler = linear_schedule(optimizer, int(total * args.warmup_ratio), total)
        pos_weight = torch.from_numpy(self.data.pos_weight).to(self.device)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
        return Optimisation(optimizer, scheduler, loss_fn, total)

    def train_epoch(self, batches: list[list[int]], bar: tqdm) -> None:
        """One pass over the batches, or up to the step budget, whichever ends first."""
        self.model.train()
        optimisation = self.optimisation
        for indices in batches:
            if self.state.step >= optimisation.total_steps:
                break
            loss, terms = self.batch_loss(
                to_device(stack(self.data.encoded, indices), self.device), indices
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            optimisation.optimizer.step()
            optimisation.scheduler.step()
            optimisation.optimizer.zero_grad(set_to_none=True)
            self.state.step += 1
            bar.update(1)
            bar.set_postfix({k: f"{v:.4f}" for k, v in terms.items()}, epoch=self.state.epoch)

    def batch_loss(
        self, batch: dict[str, torch.Tensor], indices: list[int]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss to minimise on one batch, and its terms for the progress bar."""
        loss = self.label_loss(self.model.pooled(**batch), indices)
        return loss, {"loss": loss.item()}

    def label_loss(self, pooled: torch.Tensor, indices: list[int]) -> torch.Tensor:
        """BCE of every output, weighted by the mask (0: no target), averaged over the weights."""
        logits = self.model.head(self.model.dropout(pooled))
        y = torch.from_numpy(self.data.targets[indices]).to(self.device)
        m = torch.from_numpy(self.data.mask[indices]).to(self.device)
        return (self.optimisation.loss_fn(logits, y) * m).sum() / m.sum().clamp(min=1.0)

    def evaluate(self) -> float:
        """Mean dev PR-AUC of the labels after this epoch (kept in the history)."""
        dev = evaluate_split(self.model, self.data.encoder, self.data.dev_rows)
        score = mean_pr_auc(dev)
        state = self.state
        state.history.append(
            {"epoch": state.epoch, "step": state.step, "dev_mean_pr_auc": score, "dev": dev}
        )
        log.info("epoch %d step %d: dev mean PR-AUC %.4f", state.epoch, state.step, score)
        return score

    def out_of_patience(self) -> bool:
        patience = self.args.patience
        return patience is not None and self.state.epoch - self.state.best_epoch >= patience

    def save_checkpoint(self) -> None:
        """The model, its outputs and its tokenizer under run_dir/best (replacing the last)."""
        folder = self.args.best_dir
        self.model.save(folder, LABELS, OUTPUTS, self.args.max_length)
        shutil.copy(self.data.tokenizer_path, folder / "tokenizer.json")

    def write_record(self, wall_seconds: float) -> None:
        """train_record.json next to the best checkpoint: the config, the rows, the history."""
        data, state = self.data, self.state
        rows = data.train_rows
        record = {
            "args": self.args.to_json(),
            "steps": state.step,
            "train_rows": len(rows),
            "train_rows_per_source": dict(Counter(r.source for r in rows)),
            "pos_weight": dict(zip(OUTPUTS, data.pos_weight.tolist(), strict=True)),
            "annotated_train_rows": sum(1 for r in rows if r.annotation is not None),
            "synthetic_train_rows": sum(1 for r in rows if r.synthetic),
            "synthetic_share": round(synthetic_share(rows), 4),
            "feature_teacher": (
                data.feature_teacher_fit.to_json() if data.feature_teacher_fit else None
            ),
            "history": state.history,
            "best_epoch": state.best_epoch,
            "wall_seconds": round(wall_seconds, 1),
            "hardware": hardware_description(self.device),
        }
        path = self.args.best_dir / "train_record.json"
        path.write_text(json.dumps(record, indent=2) + "\n")

    def refit(self) -> None:
        """The config's refit_heads as linear probes on the saved best checkpoint (refit.py)."""
        if self.args.refit_heads:
            refit_best(self.args)
