"""Turning rows into tensors: label matrices with a missing-label mask, length-bucketed batches."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import numpy as np

from triage.domain.labels import LABELS
from triage.scoring.encoding import Encoded, PairEncoder, pad
from triage.training.data.rows import Row


def label_matrix(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
    """(targets, mask), both (n_rows, n_labels) float32; mask is 0 where a label is missing."""
    targets = np.zeros((len(rows), len(LABELS)), dtype=np.float32)
    mask = np.zeros_like(targets)
    for i, row in enumerate(rows):
        for j, name in enumerate(LABELS):
            value = row.labels[name]
            if value is not None:
                targets[i, j] = value
                mask[i, j] = 1.0
    return targets, mask


def output_matrix(
    rows: Sequence[Row], tier_annotation_weight: float = 1.0, synthetic_tier_weight: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(targets, mask) over every model output (LABELS then TIER_OUTPUTS); mask = loss weight."""
    from triage.training.fit.tier_targets import tier_matrix

    label_targets, label_mask = label_matrix(rows)
    tier_targets, tier_mask = tier_matrix(list(rows), tier_annotation_weight, synthetic_tier_weight)
    return (
        np.concatenate([label_targets, tier_targets], axis=1),
        np.concatenate([label_mask, tier_mask], axis=1),
    )


def encode_rows(encoder: PairEncoder, rows: Sequence[Row]) -> list[Encoded]:
    return encoder.encode_batch([r.text for r in rows], [r.parent_text for r in rows])


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, pool: int = 50
) -> list[list[int]]:
    """Shuffled batches of similar-length rows: sort within pools of `pool` batches, then shuffle.

    Dynamic padding then wastes little (tweets and SMS next to long Reddit posts would otherwise
    pad every batch to the longest), while batch order stays random.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    span = batch_size * pool
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lengths.__getitem__)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def sorted_batches(encoded: Sequence[Encoded], batch_size: int) -> Iterator[list[int]]:
    """Batches for inference: by length, so padding is minimal; callers restore the order."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def stack(encoded: Sequence[Encoded], indices: Sequence[int]) -> dict[str, np.ndarray]:
    return pad([encoded[i] for i in indices])
