"""Distillation: a smaller student encoder that learns to reproduce the fine-tuned teacher.

Why (issue 5, point 8): on 2 CPU cores the 6-layer int8 model costs 10-12 core-ms per post,
which leaves the scorer at ~4x the transformers pipeline and the service at ~120 req/s. Half the
layers halve the model's share. The student is not trained from the base encoder: it starts as
a copy of the teacher (its embeddings, the kept layers, its head) and is trained on the same
rows with three terms,

    loss = label_loss_weight * masked BCE on the labels (as `triage train`)
         + distill_logit_weight * MSE(student logits, teacher logits)     every output, every row
         + distill_pooled_weight * MSE(student pooled, teacher pooled) / E   (E: pooled_energy)

The teacher supervises every output on every row, including the labels a row's source does not
carry (a tweet has no self_harm label, but the teacher has a logit for it) and the tier cuts the
teacher learnt from a few hundred annotated posts. Matching the pooled embedding keeps the
copied head meaningful and gives 384 numbers of signal per row instead of 8.

Teacher targets are computed once, before training (one inference pass, shown with a progress
bar), and kept in the teacher's folder for the next student on the same rows. A student
checkpoint is an ordinary checkpoint (`triage export` takes it as it is).

`DistillationTrainer` is the training loop with two phases changed: build_model (the student and
the teacher's targets) and batch_loss (the three terms).
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from triage.domain.labels import OUTPUTS
from triage.scoring.encoding import Encoded
from triage.training.fit.args import TrainArgs
from triage.training.fit.model import MultiLabelModel, load_checkpoint
from triage.training.fit.tensor_batches import sorted_batches, stack
from triage.training.fit.trainer import Trainer

log = logging.getLogger(__name__)


def student_from_teacher(teacher: MultiLabelModel, keep_layers: Sequence[int]) -> MultiLabelModel:
    """A deep copy of `teacher` with only the encoder layers `keep_layers` (in that order)."""
    layers = teacher.encoder.encoder.layer
    if not keep_layers or any(not 0 <= i < len(layers) for i in keep_layers):
        raise ValueError(
            f"student_layers: expected indices of the teacher's {len(layers)} layers, "
            f"found {list(keep_layers)}"
        )
    student = copy.deepcopy(teacher)
    student.encoder.encoder.layer = nn.ModuleList(copy.deepcopy(layers[i]) for i in keep_layers)
    student.encoder.config.num_hidden_layers = len(keep_layers)
    for param in student.parameters():
        param.requires_grad = True
    return student


@dataclass(frozen=True)
class TeacherTargets:
    logits: np.ndarray  # (n_rows, n_outputs)
    pooled: np.ndarray  # (n_rows, hidden_size)


def cached_teacher_targets(
    teacher: MultiLabelModel, folder: Path, encoded: Sequence[Encoded]
) -> TeacherTargets:
    """teacher_targets, kept in the teacher's folder under a digest of its weight files and the
    inputs, so students trained on the same rows (other layers, other settings) share one
    teacher pass, and a retrained teacher is never read from an old file."""
    digest = hashlib.sha256()
    for weights in sorted([*folder.glob("*.pt"), *folder.glob("encoder/*.safetensors")]):
        digest.update(weights.read_bytes())
    for item in encoded:
        digest.update(np.asarray(item.input_ids + [-1] + item.token_type_ids, np.int32).tobytes())
    path = folder / f"teacher-targets-{digest.hexdigest()[:16]}.npz"
    if path.exists():
        with np.load(path) as data:
            log.info("teacher targets from %s", path)
            return TeacherTargets(data["logits"], data["pooled"])
    targets = teacher_targets(teacher, encoded)
    np.savez(path, logits=targets.logits, pooled=targets.pooled)
    return targets


@torch.inference_mode()
def teacher_targets(
    teacher: MultiLabelModel, encoded: Sequence[Encoded], batch_size: int = 64
) -> TeacherTargets:
    """The teacher's logits and pooled embeddings for every row (eval mode: no dropout)."""
    teacher.eval()
    device = next(teacher.parameters()).device
    logits = np.zeros((len(encoded), teacher.num_outputs), dtype=np.float32)
    pooled = np.zeros((len(encoded), teacher.head.in_features), dtype=np.float32)
    batches = list(sorted_batches(encoded, batch_size))
    for indices in tqdm(batches, desc="teacher targets", unit="batch"):
        inputs = {k: torch.from_numpy(v).to(device) for k, v in stack(encoded, indices).items()}
        embedding = teacher.pooled(**inputs)
        pooled[indices] = embedding.float().cpu().numpy()
        logits[indices] = teacher.head(embedding).float().cpu().numpy()
    return TeacherTargets(logits, pooled)


def pooled_energy(targets: TeacherTargets) -> float:
    """Mean square of the teacher's pooled embeddings: divides the pooled MSE, so that term reads
    as the share of the embedding the student misses (1.0 = predicting zeros) whatever the
    encoder's scale."""
    return float(np.mean(targets.pooled.astype(np.float64) ** 2)) or 1.0


def distill_terms(
    student_logits: torch.Tensor,
    student_pooled: torch.Tensor,
    teacher_logits: torch.Tensor,
    teacher_pooled: torch.Tensor,
    energy: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(logit MSE, relative pooled MSE), each a mean over rows and dimensions."""
    logit_mse = torch.mean((student_logits - teacher_logits) ** 2)
    pooled_mse = torch.mean((student_pooled - teacher_pooled) ** 2) / energy
    return logit_mse, pooled_mse


class DistillationTrainer(Trainer):
    """Trains a student copied from `args.teacher` (keeping `args.student_layers`) on the labels
    and on the teacher's logits and pooled embeddings."""

    teacher_targets: TeacherTargets
    energy: float

    def __init__(self, args: TrainArgs) -> None:
        if args.teacher is None:
            raise ValueError("DistillationTrainer needs a teacher checkpoint (teacher: ...)")
        super().__init__(args)
        self.teacher_dir: Path = args.teacher

    def tokenizer_path(self) -> Path:
        """The teacher's: a student starts as a copy of its teacher, tokenizer included."""
        return self.teacher_dir / "tokenizer.json"

    def build_model(self) -> MultiLabelModel:
        """The student, after the teacher's targets for every train row (computed or cached)."""
        args = self.args
        teacher, meta = load_checkpoint(self.teacher_dir)
        if tuple(meta["outputs"]) != OUTPUTS:
            raise ValueError(
                f"teacher {self.teacher_dir}: expected outputs {list(OUTPUTS)}, "
                f"found {meta['outputs']}"
            )
        teacher.to(self.device)
        self.teacher_targets = cached_teacher_targets(teacher, self.teacher_dir, self.data.encoded)
        self.energy = pooled_energy(self.teacher_targets)
        student = student_from_teacher(teacher, args.student_layers).to(self.device)
        kept, total = list(args.student_layers), len(teacher.encoder.encoder.layer)
        log.info("student: teacher layers %s of %d", kept, total)
        return student

    def batch_loss(
        self, batch: dict[str, torch.Tensor], indices: list[int]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        args = self.args
        pooled = self.model.pooled(**batch)
        label_loss = self.label_loss(pooled, indices)
        logit_mse, pooled_mse = distill_terms(
            self.model.head(pooled),  # no head dropout: its noise would bias the MSE
            pooled,
            torch.from_numpy(self.teacher_targets.logits[indices]).to(self.device),
            torch.from_numpy(self.teacher_targets.pooled[indices]).to(self.device),
            self.energy,
        )
        terms = {
            "loss": label_loss.item(),
            "logit_mse": logit_mse.item(),
            "pooled_mse": pooled_mse.item(),
        }
        loss = (
            args.label_loss_weight * label_loss
            + args.distill_logit_weight * logit_mse
            + args.distill_pooled_weight * pooled_mse
        )
        return loss, terms
