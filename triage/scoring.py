"""OnnxScorer: items in, calibrated scores, flags, tier, priority and evidence out.

Serving code: imports onnxruntime, tokenizers and numpy only (a test enforces it).

Each item is run through the model on its own (batch of one). Dynamic int8 quantisation picks
its activation scales per call, so in a shared batch one post's scores would shift with its
neighbours' (see ../shared/notes/onnx-cpu.md); a moderation score must not. On 2 CPU cores
batch 1 is also as fast as batching, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort

from triage.bundle import Bundle
from triage.config import TierRules
from triage.encoding import PairEncoder, pad
from triage.labels import LABELS, Tier
from triage.priority import compute_priority
from triage.text import sentence_spans
from triage.tiers import assign_tier

MAX_EVIDENCE_SENTENCES = 24


@dataclass(frozen=True)
class ScoreInput:
    id: str
    text: str
    parent_text: str | None = None


@dataclass(frozen=True)
class Evidence:
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class ScoreResult:
    id: str
    scores: dict[str, float | None]
    flags: list[str]
    tier: Tier
    priority: int
    reasons: tuple[str, ...] = ()
    evidence: list[Evidence] = field(default_factory=list)


class OnnxScorer:
    def __init__(
        self, bundle: Bundle, tier_rules: TierRules, threads: int = 2, evidence: bool = True
    ) -> None:
        self.bundle = bundle
        self.tier_rules = tier_rules
        self.evidence = evidence
        self.encoder = PairEncoder.from_file(bundle.tokenizer_path, bundle.max_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(bundle.model_path), options, providers=["CPUExecutionProvider"]
        )
        self._trained = [label in bundle.trained_labels for label in LABELS]

    # -- model ------------------------------------------------------------------------------
    def logits(self, texts: Sequence[str], parents: Sequence[str | None]) -> np.ndarray:
        """(n, n_labels) raw logits, each row computed alone (batch-invariant)."""
        encoded = self.encoder.encode_batch(list(texts), list(parents))
        rows = [self.session.run(["logits"], pad([enc]))[0][0] for enc in encoded]
        return np.asarray(rows, dtype=np.float32).reshape(len(encoded), len(LABELS))

    def probabilities(self, texts: Sequence[str], parents: Sequence[str | None]) -> np.ndarray:
        """Calibrated probabilities; NaN for labels this bundle was not trained on."""
        logits = self.logits(texts, parents)
        probs = np.full_like(logits, np.nan)
        for j, label in enumerate(LABELS):
            if self._trained[j]:
                calibration = self.bundle.calibration.get(label)
                probs[:, j] = (
                    calibration.apply(logits[:, j]) if calibration else _sigmoid(logits[:, j])
                )
        return probs

    # -- results ----------------------------------------------------------------------------
    def score(self, items: Sequence[ScoreInput]) -> list[ScoreResult]:
        probs = self.probabilities([i.text for i in items], [i.parent_text for i in items])
        return [self._result(item, row) for item, row in zip(items, probs, strict=True)]

    def _result(self, item: ScoreInput, row: np.ndarray) -> ScoreResult:
        scores = {
            label: None if np.isnan(p) else round(float(p), 4)
            for label, p in zip(LABELS, row, strict=True)
        }
        flags = [
            label
            for label in LABELS
            if scores[label] is not None and scores[label] >= self.bundle.thresholds[label]
        ]
        tier = assign_tier(scores, self.tier_rules, self.bundle.thresholds)
        priority = compute_priority(tier, flags, scores)
        evidence = self._evidence(item, flags) if self.evidence and flags else []
        return ScoreResult(item.id, scores, flags, tier, priority.value, priority.reasons, evidence)

    def _evidence(self, item: ScoreInput, flags: list[str]) -> list[Evidence]:
        """For each flag, the sentence that on its own scores highest for that label."""
        spans = sentence_spans(item.text)[:MAX_EVIDENCE_SENTENCES]
        if not spans:
            return []
        if len(spans) == 1:
            return [Evidence(label, *spans[0]) for label in flags]
        sentences = [item.text[start:end] for start, end in spans]
        probs = self.probabilities(sentences, [item.parent_text] * len(sentences))
        found = []
        for label in flags:
            best = int(np.nanargmax(probs[:, LABELS.index(label)]))
            found.append(Evidence(label, *spans[best]))
        return found


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
