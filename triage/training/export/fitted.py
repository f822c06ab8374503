"""`Fitted`: what the export fits before any ONNX file is written, handed to the later phases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from triage.domain.calibration import Calibration
from triage.domain.labels import LABELS
from triage.domain.tiers import OrdinalTierModel
from triage.scoring.encoding import PairEncoder
from triage.training.data.rows import Row
from triage.training.fit.calibrate import ThresholdPolicy
from triage.training.fit.model import LabelOutputsOnly, MultiLabelModel


@dataclass
class Fitted:
    """The model, its calibration and thresholds, the tier head and the parity texts."""

    model: MultiLabelModel | LabelOutputsOnly
    encoder: PairEncoder
    max_length: int
    splits: tuple[list[Row], list[Row], list[Row]]  # train, dev, test
    labels: tuple[str, ...]  # the trained labels
    calibration: dict[str, Calibration]
    thresholds: dict[str, float]
    policy: ThresholdPolicy
    parity_batches: list[dict[str, np.ndarray]]
    outputs: tuple[str, ...] = LABELS
    tier_model: OrdinalTierModel | None = None
