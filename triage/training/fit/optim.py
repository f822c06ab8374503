"""The optimisation of a run: class-balance weights, AdamW with two rates, a linear schedule."""

from __future__ import annotations

import numpy as np
import torch

from triage.training.fit.args import TrainArgs
from triage.training.fit.model import MultiLabelModel


def positive_weights(targets: np.ndarray, mask: np.ndarray, cap: float | np.ndarray) -> np.ndarray:
    """negatives / positives per label, clipped to [1, cap] (cap: one value or one per label)."""
    positives = (targets * mask).sum(axis=0)
    negatives = ((1 - targets) * mask).sum(axis=0)
    return np.clip(negatives / np.maximum(positives, 1.0), 1.0, cap).astype(np.float32)


def make_optimizer(model: MultiLabelModel, args: TrainArgs) -> torch.optim.Optimizer:
    """AdamW: the pretrained encoder at learning_rate, the fresh head at head_learning_rate."""
    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    return torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": args.learning_rate},
            {"params": model.head.parameters(), "lr": args.head_learning_rate},
        ],
        weight_decay=args.weight_decay,
    )


def linear_schedule(
    optimizer: torch.optim.Optimizer, warmup: int, total: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over `warmup` steps, then linear decay to 0 at `total`."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
