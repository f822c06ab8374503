"""Scoring rows with a torch model: the dev evaluation, calibration and export all use this."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from triage.scoring.encoding import Encoded
from triage.training.fit.device import to_device
from triage.training.fit.model import LabelOutputsOnly, MultiLabelModel
from triage.training.fit.tensor_batches import sorted_batches, stack


@torch.inference_mode()
def predict_logits(
    model: MultiLabelModel | LabelOutputsOnly,
    encoded: Sequence[Encoded],
    batch_size: int = 64,
    progress: bool = False,
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
