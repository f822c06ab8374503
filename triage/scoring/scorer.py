"""OnnxScorer: items in, calibrated scores, flags, tier, priority and evidence out.

Serving code: imports onnxruntime, tokenizers, numpy and py3langid only (a test enforces it).
A post in a language the bundle does not declare keeps its scores but is raised to at least
amber with a reason (language.py): the model cannot read it, a person must. So is a post
flagged self_harm (tiers.floor_for_self_harm). A post that shares a crisis resource keeps its
spam score but is not flagged spam unless it also promotes something (resource_guard.py).

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

from bisect import bisect_right
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import get_args

import numpy as np
import onnxruntime as ort

from triage.domain.labels import LABELS, REPLY_ONLY_LABELS, TIER_CUTS, TIER_OUTPUTS, Tier
from triage.domain.priority import (
    UNCERTAIN_REASON,
    UNREADABLE_LANGUAGE_TIER,
    at_least,
    compute_priority,
    unreadable_language_reason,
)
from triage.domain.text import sentence_spans
from triage.domain.tier_rules import TierRules
from triage.domain.tiers import assign_tier, floor_for_self_harm, ordinal_tier
from triage.scoring.bundle import (
    MODEL_FILE,
    MODEL_UNREADABLE,
    TOKENIZER_FILE,
    TOKENIZER_UNREADABLE,
    Bundle,
    BundleError,
)
from triage.scoring.encoding import Encoded, PairEncoder, pad
from triage.scoring.language import UNDETERMINED, check_language, identifier
from triage.scoring.resource_guard import ResourceGuard
from triage.settings import EvidenceMode

MAX_EVIDENCE_SENTENCES = 24
TOKEN_LOGITS = "token_logits"  # the graph's per-token output (training/export/onnx.py)
EVIDENCE_MODES: tuple[str, ...] = get_args(EvidenceMode)
RED_CUT = TIER_OUTPUTS[TIER_CUTS.index(Tier.RED)]


@dataclass(frozen=True)
class ModelRun:
    """One item's pass: its logits and, when asked for, its per-token logits (seq, outputs)."""

    logits: np.ndarray
    tokens: np.ndarray | None = None


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
    language: str = UNDETERMINED  # ISO 639-1, or "und" when too short or unsure (language.py)
    # in a language the bundle does not declare: tier raised to at least amber, for a person
    language_unsupported: bool = False
    # flagged self_harm but the tier head or rules said green: raised to amber, for a person
    self_harm_floor: bool = False


def _encoder(bundle: Bundle) -> PairEncoder:
    try:
        return PairEncoder.from_file(bundle.tokenizer_path, bundle.max_length)
    except Exception as error:  # tokenizers raises a bare Exception on a corrupt file
        raise BundleError(
            f"bundle {bundle.path}: {TOKENIZER_FILE} cannot be loaded ({error})",
            TOKENIZER_UNREADABLE,
        ) from error


def _session(bundle: Bundle, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(
            str(bundle.model_path), options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime's own types (InvalidProtobuf, Fail, ...)
        raise BundleError(
            f"bundle {bundle.path}: {MODEL_FILE} cannot be loaded ({error})", MODEL_UNREADABLE
        ) from error


class OnnxScorer:
    def __init__(
        self,
        bundle: Bundle,
        tier_rules: TierRules,
        threads: int = 2,
        evidence: bool = True,
        evidence_mode: EvidenceMode = "sentences",
        lanes: int = 1,
        resource_guard: ResourceGuard | None = None,
    ) -> None:
        """`resource_guard`: the crisis resources never flagged spam (Settings.resource_guard);
        None: those of the project's own configs/."""
        if threads < 1 or lanes < 1:
            raise ValueError(f"threads and lanes must be >= 1, found {threads} and {lanes}")
        self.bundle = bundle
        self.tier_rules = tier_rules
        self.resource_guard = resource_guard or ResourceGuard.shipped()
        self.evidence = evidence
        self.encoder = _encoder(bundle)
        self.session = _session(bundle, threads)
        self._trained = [label in bundle.trained_labels for label in LABELS]
        if evidence_mode not in EVIDENCE_MODES:
            raise ValueError(
                f"evidence_mode: expected one of {EVIDENCE_MODES}, found {evidence_mode!r}"
            )
        graph_outputs = {output.name for output in self.session.get_outputs()}
        if "logits" not in graph_outputs:
            raise BundleError(
                f"bundle {bundle.path}: {MODEL_FILE} has no `logits` output", MODEL_UNREADABLE
            )
        # "context" needs a bundle exported with token logits; older ones score sentences.
        self.token_evidence = (
            evidence and evidence_mode == "context" and TOKEN_LOGITS in graph_outputs
        )
        self._output_names = ["logits", *([TOKEN_LOGITS] if self.token_evidence else [])]
        self._lanes = ThreadPoolExecutor(lanes, "scorer-lane") if lanes > 1 else None
        identifier()  # load the language model (about a second) now, not on the first post

    # -- model ------------------------------------------------------------------------------
    def logits(self, texts: Sequence[str], parents: Sequence[str | None]) -> np.ndarray:
        """(n, n_outputs) raw logits (labels, then tier cuts), each row computed alone."""
        return self._stack([run.logits for run in self._runs(texts, parents)])

    def _stack(self, rows: list[np.ndarray]) -> np.ndarray:
        n = len(rows)
        return np.asarray(rows, dtype=np.float32).reshape(n, len(self.bundle.outputs))

    def _runs(self, texts: Sequence[str], parents: Sequence[str | None]) -> list[ModelRun]:
        encoded = self.encoder.encode_batch(list(texts), list(parents))
        if self._lanes is not None and len(encoded) > 1:
            return list(self._lanes.map(self._run_alone, encoded))
        return [self._run_alone(enc) for enc in encoded]

    def _run_alone(self, encoded: Encoded) -> ModelRun:
        outputs = self.session.run(self._output_names, pad([encoded]))
        return ModelRun(outputs[0][0], outputs[1][0] if len(outputs) > 1 else None)

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
        runs = self._runs([i.text for i in items], [i.parent_text for i in items])
        logits = self._stack([run.logits for run in runs])
        probs = self._label_probabilities(logits)
        cuts = self._cut_probabilities(logits)
        return [
            self._result(item, probs[n], None if cuts is None else cuts[n], runs[n].tokens)
            for n, item in enumerate(items)
        ]

    def _result(
        self,
        item: ScoreInput,
        row: np.ndarray,
        cuts: np.ndarray | None,
        tokens: np.ndarray | None = None,
    ) -> ScoreResult:
        scores = {
            label: None if np.isnan(p) else round(float(p), 4)
            for label, p in zip(LABELS, row, strict=True)
        }
        if item.parent_text is None:  # e.g. corumination is a property of a reply to a post
            scores.update(dict.fromkeys(REPLY_ONLY_LABELS))
        flags, resource = self._flags(item.text, scores)
        model_tier, uncertain, tier_scores = self._tier(scores, cuts)
        tier = floor_for_self_harm(model_tier, flags)
        language = check_language(item.text, self.bundle.languages)
        if not language.supported:  # scores kept as they are; a person reads it
            tier = at_least(tier, UNREADABLE_LANGUAGE_TIER)
        priority = compute_priority(tier, flags, scores, tier_scores=tier_scores)
        reasons = priority.reasons
        if uncertain:
            reasons = (*reasons, UNCERTAIN_REASON)
        if not language.supported:
            reasons = (*reasons, unreadable_language_reason(language.language))
        if resource is not None:
            reasons = (*reasons, crisis_resource_reason(resource))
        evidence = self._evidence(item, flags, tier, tokens) if self.evidence else []
        return ScoreResult(
            item.id,
            scores,
            flags,
            tier,
            priority.value,
            reasons,
            evidence,
            tier_scores,
            language.language,
            not language.supported,
            model_tier is Tier.GREEN and "self_harm" in flags,  # floor_for_self_harm raised it
        )

    def _flags(self, text: str, scores: dict[str, float | None]) -> tuple[list[str], str | None]:
        """The labels at or over their threshold, less spam where the text shares a crisis
        resource (resource_guard.py; its score stays in `scores`), and that resource or None."""
        flags = [
            label
            for label in LABELS
            if scores[label] is not None and scores[label] >= self.bundle.thresholds[label]
        ]
        resource = self.resource_guard.withholds_spam(text) if "spam" in flags else None
        if resource is not None:
            flags.remove("spam")
        return flags, resource

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

    def _evidence(
        self, item: ScoreInput, flags: list[str], tier: Tier, tokens: np.ndarray | None
    ) -> list[Evidence]:
        """For each flag (and a crisis or red tier), the sentence of the post that carries it.

        "sentences" (the default): the sentence that scores highest on its own, a second model
        run per sentence. "context" (`tokens`, one row of token logits per input position):
        the sentence holding the token with the highest logit for that output, read in the
        context of the whole post from the pass that scored it; no extra runs, but it found
        the annotators' evidence less often (bench/evidence.py: 0.41 against 0.55 of red and
        crisis test posts). A tier's evidence uses the P(tier >= red) output when the bundle
        has a tier head, else self_harm.
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
        if tokens is not None:
            return self._evidence_in_context(item, spans, targets, tokens)
        return self._evidence_alone(item, spans, flags, urgent, tier)

    def _tier_column(self) -> int:
        """The output a red or crisis tier's evidence is read from."""
        outputs = self.bundle.outputs
        return outputs.index(RED_CUT) if RED_CUT in outputs else LABELS.index("self_harm")

    def _evidence_in_context(
        self,
        item: ScoreInput,
        spans: list[tuple[int, int]],
        targets: list[str],
        tokens: np.ndarray,
    ) -> list[Evidence]:
        positions = self.encoder.text_token_spans(item.text, item.parent_text)
        starts = [start for start, _ in spans]
        members: list[list[int]] = [[] for _ in spans]
        for k, (start, end) in enumerate(positions):
            sentence = bisect_right(starts, start) - 1
            if sentence >= 0 and start < spans[sentence][1] and end > start:
                members[sentence].append(k + 1)  # input position: [CLS] comes first
        found = []
        for target in targets:
            column = LABELS.index(target) if target in LABELS else self._tier_column()
            peaks = [tokens[m, column].max() if m else -np.inf for m in members]
            if np.isfinite(max(peaks)):
                found.append(Evidence(target, *spans[int(np.argmax(peaks))]))
        return found

    def _evidence_alone(
        self,
        item: ScoreInput,
        spans: list[tuple[int, int]],
        flags: list[str],
        urgent: bool,
        tier: Tier,
    ) -> list[Evidence]:
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


def crisis_resource_reason(resource: str) -> str:
    return f"shares a crisis resource ({resource}): not flagged as spam"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
