"""OnnxScorer: items in, calibrated scores, flags, tier, priority and evidence out.

Serving code: imports onnxruntime, tokenizers and numpy only (a test enforces it).

Each item is run through the model on its own (batch of one). Dynamic int8 quantisation picks
its activation scales per call, so in a shared batch one post's scores would shift with its
neighbours' (see ../shared/notes/onnx-cpu.md); a moderation score must not. On 2 CPU cores
batch 1 is also as fast as batching, so nothing is lost.

`lanes` > 1 runs that many items of one call at once, each still alone, on its own thread
(ONNX Runtime releases the GIL while it runs). With `threads=1` per run, two lanes keep both
cores busy on two items instead of splitting each item's small matrix products across two
threads: bench/inference.py measured about 1.3x the texts/s of one item on two threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort

from triage.bundle import Bundle
from triage.config import TierRules
from triage.encoding import Encoded, PairEncoder, pad
from triage.labels import LABELS, REPLY_ONLY_LABELS, TIER_CUTS, Tier
from triage.priority import UNCERTAIN_REASON, compute_priority
from triage.text import sentence_spans
from triage.tiers import assign_tier, ordinal_tier

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
    tier_scores: dict[str, float] | None = None  # P(tier >= amber / red / crisis), tier head only


class OnnxScorer:
    def __init__(
        self,
        bundle: Bundle,
        tier_rules: TierRules,
        threads: int = 2,
        evidence: bool = True,
        lanes: int = 1,
    ) -> None:
        if threads < 1 or lanes < 1:
            raise ValueError(f"threads and lanes must be >= 1, found {threads} and {lanes}")
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
        self._lanes = ThreadPoolExecutor(lanes, "scorer-lane") if lanes > 1 else None

    # -- model ------------------------------------------------------------------------------
    def logits(self, texts: Sequence[str], parents: Sequence[str | None]) -> np.ndarray:
        """(n, n_outputs) raw logits (labels, then tier cuts), each row computed alone."""
        encoded = self.encoder.encode_batch(list(texts), list(parents))
        if self._lanes is not None and len(encoded) > 1:
            rows = list(self._lanes.map(self._run_alone, encoded))
        else:
            rows = [self._run_alone(enc) for enc in encoded]
        return np.asarray(rows, dtype=np.float32).reshape(len(encoded), len(self.bundle.outputs))

    def _run_alone(self, encoded: Encoded) -> np.ndarray:
        return self.session.run(["logits"], pad([encoded]))[0][0]

    def probabilities(self, texts: Sequence[str], parents: Sequence[str | None]) -> np.ndarray:
        """Calibrated label probabilities; NaN for labels this bundle was not trained on."""
        return self._label_probabilities(self.logits(texts, parents))

    def _label_probabilities(self, logits: np.ndarray) -> np.ndarray:
        probs = np.full((len(logits), len(LABELS)), np.nan, dtype=np.float64)
        for j, label in enumerate(LABELS):
            if self._trained[j]:
                calibration = self.bundle.calibration.get(label)
                probs[:, j] = (
                    calibration.apply(logits[:, j]) if calibration else _sigmoid(logits[:, j])
                )
        return probs

    def _cut_probabilities(self, logits: np.ndarray) -> np.ndarray | None:
        """(n, 3) monotone P(tier >= amber, red, crisis), or None without a tier head."""
        model = self.bundle.tier_model
        return model.cut_probabilities(logits[:, len(LABELS) :]) if model else None

    # -- results ----------------------------------------------------------------------------
    def score(self, items: Sequence[ScoreInput]) -> list[ScoreResult]:
        logits = self.logits([i.text for i in items], [i.parent_text for i in items])
        probs = self._label_probabilities(logits)
        cuts = self._cut_probabilities(logits)
        return [
            self._result(item, probs[n], None if cuts is None else cuts[n])
            for n, item in enumerate(items)
        ]

    def _result(self, item: ScoreInput, row: np.ndarray, cuts: np.ndarray | None) -> ScoreResult:
        scores = {
            label: None if np.isnan(p) else round(float(p), 4)
            for label, p in zip(LABELS, row, strict=True)
        }
        if item.parent_text is None:  # e.g. corumination is a property of a reply to a post
            scores.update(dict.fromkeys(REPLY_ONLY_LABELS))
        flags = [
            label
            for label in LABELS
            if scores[label] is not None and scores[label] >= self.bundle.thresholds[label]
        ]
        tier, uncertain, tier_scores = self._tier(scores, cuts)
        priority = compute_priority(tier, flags, scores)
        reasons = priority.reasons
        if uncertain:
            reasons = (*reasons, UNCERTAIN_REASON)
        evidence = self._evidence(item, flags, tier) if self.evidence else []
        return ScoreResult(
            item.id, scores, flags, tier, priority.value, reasons, evidence, tier_scores
        )

    def _tier(
        self, scores: dict[str, float | None], cuts: np.ndarray | None
    ) -> tuple[Tier, bool, dict[str, float] | None]:
        if cuts is None or self.bundle.tier_model is None:
            return assign_tier(scores, self.tier_rules, self.bundle.thresholds), False, None
        decision = ordinal_tier(cuts, self.bundle.tier_model)
        tier_scores = {
            cut.value: round(float(p), 4) for cut, p in zip(TIER_CUTS, cuts, strict=True)
        }
        return decision.tier, decision.uncertain, tier_scores

    def _evidence(self, item: ScoreInput, flags: list[str], tier: Tier) -> list[Evidence]:
        """For each flag (and a crisis or red tier), the sentence that on its own scores highest.

        A tier's evidence is the sentence with the highest P(tier >= red) when the bundle has a
        tier head, else the one with the highest self_harm score.
        """
        urgent = tier in (Tier.CRISIS, Tier.RED)
        if not flags and not urgent:
            return []
        spans = sentence_spans(item.text)[:MAX_EVIDENCE_SENTENCES]
        if not spans:
            return []
        targets = [*flags, *([tier.value] if urgent else [])]
        if len(spans) == 1:
            return [Evidence(target, *spans[0]) for target in targets]
        sentences = [item.text[start:end] for start, end in spans]
        logits = self.logits(sentences, [item.parent_text] * len(sentences))
        probs = self._label_probabilities(logits)
        cuts = self._cut_probabilities(logits)
        found = [
            Evidence(label, *spans[int(np.nanargmax(probs[:, LABELS.index(label)]))])
            for label in flags
        ]
        if urgent:
            column = cuts[:, 1] if cuts is not None else probs[:, LABELS.index("self_harm")]
            found.append(Evidence(tier.value, *spans[int(np.nanargmax(column))]))
        return found


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
