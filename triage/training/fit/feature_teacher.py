"""A feature teacher: heads on frozen [MiniLM, USE] features, distilled into the served model.

Why (issue 13, point 4): leave-one-source-out (docs/evaluation/loso.md) puts frozen MiniLM+USE
features at or above either encoder alone on sources never trained on (hostile 0.774, spam
0.902), and ../shared/notes/encoders.md measured frozen USE heads beating the fine-tuned 0.5.0
on unseen video-comment spam and tweets. USE cannot be served (its tokenizer is pure Python, and
it would double the cost of a post), so what it knows is handed to the served MiniLM as soft
labels.

How: each output's head is fitted (masked logistic regression weighted by the training loss
mask, so an annotated tier counts as in training; no class weighting, so its probabilities stay
calibrated) on the train rows that carry that output, and predicts the rows that do not. A
tweet has no self_harm label, a Reddit post no hostile label, most rows no annotated tier:
those cells become soft targets with loss weight `feature_teacher_weight`. A cell with a real
label keeps its label, so no row is ever taught by a head fitted on itself.

Features are [reply, parent, reply*parent] per encoder (the LOSO pair features), cached on disk
by text under `feature_cache`, so a rerun on the same rows encodes nothing.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from triage.domain.labels import OUTPUTS
from triage.training.data.rows import Row
from triage.training.fit.args import TrainArgs
from triage.training.fit.frozen_features import make_featurizers
from triage.training.fit.tensor_batches import output_matrix

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeacherFit:
    """Per-output dev PR-AUC of the teacher heads, and the rows and cells they filled."""

    dev_pr_auc: dict[str, float | None]
    filled_cells: dict[str, int]

    def to_json(self) -> dict:
        return {"dev_pr_auc": self.dev_pr_auc, "filled_cells": self.filled_cells}


def row_features(rows: Sequence[Row], encoders: Sequence[str], cache_dir: Path) -> np.ndarray:
    """Frozen pair features of every row, one block per encoder (cached by text)."""
    name = "+".join(encoders)
    featurizer = make_featurizers([name], cache_dir)[name]
    return np.asarray(featurizer.transform(rows), dtype=np.float32)


def fit_heads(
    features: np.ndarray,
    targets: np.ndarray,
    mask: np.ndarray,
    *,
    epochs: int = 30,
    weight_decay: float = 1e-4,
    seed: int = 13,
) -> torch.nn.Linear:
    """One linear head per output, trained jointly with a logistic loss weighted by `mask`
    (0: the cell is not used at all), with Adam and L2."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(features)
    y = torch.from_numpy(targets.astype(np.float32))
    m = torch.from_numpy(np.clip(mask, 0, None).astype(np.float32))  # loss weights, as training
    head = torch.nn.Linear(x.shape[1], y.shape[1])
    torch.nn.init.zeros_(head.weight)
    # Start each output at its base rate, so a rare label does not spend its epochs getting there.
    rate = ((y * m).sum(0) + 1) / (m.sum(0) + 2)
    with torch.no_grad():
        head.bias.copy_(torch.log(rate / (1 - rate)))
    optimiser = torch.optim.Adam(head.parameters(), lr=3e-3, weight_decay=weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
    batch = 512
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch):
            index = order[start : start + batch]
            weights = m[index]
            loss = (loss_fn(head(x[index]), y[index]) * weights).sum() / weights.sum().clamp(
                min=1.0
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return head


@torch.inference_mode()
def predict(head: torch.nn.Linear, features: np.ndarray) -> np.ndarray:
    return torch.sigmoid(head(torch.from_numpy(features))).numpy()


def dev_report(
    head: torch.nn.Linear, features: np.ndarray, targets: np.ndarray, mask: np.ndarray
) -> dict[str, float | None]:
    from sklearn.metrics import average_precision_score

    probabilities = predict(head, features)
    report: dict[str, float | None] = {}
    for j, output in enumerate(OUTPUTS):
        kept = mask[:, j] > 0
        labels = targets[kept, j] >= 0.5
        if labels.all() or not labels.any():
            report[output] = None
            continue
        report[output] = round(float(average_precision_score(labels, probabilities[kept, j])), 4)
    return report


def fill_with_teacher(
    targets: np.ndarray,
    mask: np.ndarray,
    teacher_probabilities: np.ndarray,
    weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Cells without a label (mask 0) take the teacher's probability as a soft target, with loss
    weight `weight`; labelled cells are returned as they were."""
    missing = mask <= 0
    filled_targets = np.where(missing, teacher_probabilities, targets).astype(np.float32)
    filled_mask = np.where(missing, np.float32(weight), mask).astype(np.float32)
    return filled_targets, filled_mask


def out_of_fold(
    features: np.ndarray,
    targets: np.ndarray,
    mask: np.ndarray,
    groups: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 13,
) -> np.ndarray:
    """Every row's teacher probabilities from heads fitted without its group (folds by row
    group, so a labelled row is never taught by a head that saw it or another row of its
    conversation or author)."""
    fold_of = np.array([zlib.crc32(f"{seed}:{group}".encode()) % folds for group in groups])
    probabilities = np.zeros(targets.shape, dtype=np.float32)
    for fold in range(folds):
        held = fold_of == fold
        if held.any():
            head = fit_heads(features[~held], targets[~held], mask[~held], seed=seed)
            probabilities[held] = predict(head, features[held])
    return probabilities


def is_public_reply_pair(row: Row) -> bool:
    """A reply read with its parent whose label comes from a public source: the project's own
    readings (annotated pairs) and written rows keep their labels."""
    annotated = row.annotation is not None and row.annotation.hostile is not None
    return row.parent_text is not None and not row.synthetic and not annotated


def blend_pair_labels(
    targets: np.ndarray,
    mask: np.ndarray,
    rows: Sequence[Row],
    teacher_probabilities: np.ndarray,
    blend: dict[str, float],
) -> np.ndarray:
    """Targets with each listed label of the public reply pairs moved towards the teacher:
    (1 - b) * label + b * teacher. Loss weights are unchanged."""
    blended = targets.copy()
    pairs = np.array([is_public_reply_pair(row) for row in rows], dtype=bool)
    for label, share in blend.items():
        j = OUTPUTS.index(label)
        cells = pairs & (mask[:, j] > 0)
        blended[cells, j] = (1 - share) * targets[cells, j] + share * teacher_probabilities[
            cells, j
        ]
    return blended


def teach(
    train_rows: Sequence[Row],
    targets: np.ndarray,
    mask: np.ndarray,
    dev_rows: Sequence[Row],
    dev_targets: np.ndarray,
    dev_mask: np.ndarray,
    *,
    encoders: Sequence[str],
    weight: float,
    cache_dir: Path,
    seed: int,
    pair_blend: dict[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, TeacherFit]:
    """Fit the teacher on the train rows' labelled cells and fill their unlabelled cells; with
    `pair_blend`, also move the public reply pairs' labels towards its out-of-fold predictions."""
    log.info("feature teacher: encoding %d train and %d dev rows", len(train_rows), len(dev_rows))
    train_features = row_features(train_rows, encoders, cache_dir)
    dev_features = row_features(dev_rows, encoders, cache_dir)
    head = fit_heads(train_features, targets, mask, seed=seed)
    report = dev_report(head, dev_features, dev_targets, dev_mask)
    log.info("feature teacher dev PR-AUC %s", report)
    filled_targets, filled_mask = fill_with_teacher(
        targets, mask, predict(head, train_features), weight
    )
    filled = {output: int((mask[:, j] <= 0).sum()) for j, output in enumerate(OUTPUTS)}
    if pair_blend:
        log.info("feature teacher: out-of-fold heads for the reply pairs' %s", sorted(pair_blend))
        groups = [row.group for row in train_rows]
        oof = out_of_fold(train_features, targets, mask, groups, seed=seed)
        filled_targets = blend_pair_labels(filled_targets, mask, train_rows, oof, pair_blend)
        pairs = np.array([is_public_reply_pair(row) for row in train_rows], dtype=bool)
        for label in pair_blend:
            filled[f"{label} (blended pairs)"] = int(
                (pairs & (mask[:, OUTPUTS.index(label)] > 0)).sum()
            )
    return filled_targets, filled_mask, TeacherFit(report, filled)


@dataclass(frozen=True)
class FeatureTeacher:
    """The feature teacher as the trainer uses it: one step of data assembly that fills the
    unlabelled cells of the train targets (after the class-balance weights are fixed, so soft
    targets never shift them)."""

    encoders: tuple[str, ...]
    weight: float
    cache_dir: Path
    seed: int
    tier_annotation_weight: float
    pair_blend: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: TrainArgs) -> FeatureTeacher | None:
        """The config's feature teacher, or None when it names no encoder."""
        if not args.feature_teacher:
            return None
        return cls(
            encoders=args.feature_teacher,
            weight=args.feature_teacher_weight,
            cache_dir=args.feature_cache,
            seed=args.seed,
            tier_annotation_weight=args.tier_annotation_weight,
            pair_blend=dict(args.feature_teacher_pair_blend),
        )

    def fill(
        self,
        train_rows: Sequence[Row],
        targets: np.ndarray,
        mask: np.ndarray,
        dev_rows: Sequence[Row],
    ) -> tuple[np.ndarray, np.ndarray, TeacherFit]:
        """(targets, mask, fit) with the teacher's soft targets in the unlabelled cells."""
        dev_targets, dev_mask = output_matrix(dev_rows, self.tier_annotation_weight)
        return teach(
            train_rows,
            targets,
            mask,
            dev_rows,
            dev_targets,
            dev_mask,
            encoders=self.encoders,
            weight=self.weight,
            cache_dir=self.cache_dir,
            seed=self.seed,
            pair_blend=self.pair_blend,
        )
