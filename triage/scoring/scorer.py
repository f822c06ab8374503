"""OnnxScorer: items in, calibrated scores, flags, tier, priority and evidence out.

Serving code: imports onnxruntime, tokenizers, numpy and py3langid only (a test enforces it).
A facade over the parts that do the work, each in its own module:

- session.py: the bundle's tokenizer and ONNX session, each item run alone (and why);
- probabilities.py: logits -> calibrated label and tier-cut probabilities;
- decision.py: probabilities -> scores, flags, tier, priority and reasons (the domain's rules);
- evidence.py: the sentence of the post behind each flag and an urgent tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from triage.domain.resource_guard import ResourceGuard
from triage.domain.tier_rules import TierRules
from triage.scoring.bundle import Bundle
from triage.scoring.decision import Decider
from triage.scoring.encoding import PairEncoder
from triage.scoring.evidence import EVIDENCE_MODES, EvidenceFinder
from triage.scoring.language import identifier
from triage.scoring.probabilities import cut_probabilities, label_probabilities
from triage.scoring.results import ScoreInput, ScoreResult
from triage.scoring.session import ModelSession
from triage.settings import EvidenceMode, Int8Weights


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
        int8_weights: Int8Weights = "auto",
    ) -> None:
        """`resource_guard`: the crisis resources never flagged spam (Settings.resource_guard);
        None: those of the project's own configs/. `int8_weights`: Settings.int8_weights."""
        if evidence_mode not in EVIDENCE_MODES:
            raise ValueError(
                f"evidence_mode: expected one of {EVIDENCE_MODES}, found {evidence_mode!r}"
            )
        self.bundle = bundle
        self.tier_rules = tier_rules
        self.resource_guard = resource_guard or ResourceGuard.shipped()
        self.evidence = evidence
        # "context" needs a bundle exported with token logits; older ones score sentences.
        self.model = ModelSession(
            bundle, threads, lanes, evidence and evidence_mode == "context", int8_weights
        )
        self.decider = Decider(bundle, tier_rules, self.resource_guard)
        self.evidence_finder = EvidenceFinder(self.model)
        identifier()  # load the language model (about a second) now, not on the first post

    @property
    def encoder(self) -> PairEncoder:
        return self.model.encoder

    @property
    def token_evidence(self) -> bool:
        """Evidence comes from the token logits of the scoring pass (evidence_mode "context")."""
        return self.model.token_logits

    def logits(self, texts: Sequence[str], parents: Sequence[str | None]) -> np.ndarray:
        """(n, n_outputs) raw logits (labels, then tier cuts), each row computed alone."""
        return self.model.logits(texts, parents)

    def probabilities(self, texts: Sequence[str], parents: Sequence[str | None]) -> np.ndarray:
        """Calibrated label probabilities; NaN for labels this bundle was not trained on."""
        return label_probabilities(self.bundle, self.logits(texts, parents))

    def score(self, items: Sequence[ScoreInput]) -> list[ScoreResult]:
        runs = self.model.runs([i.text for i in items], [i.parent_text for i in items])
        logits = self.model.stack([run.logits for run in runs])
        probs = label_probabilities(self.bundle, logits)
        cuts = cut_probabilities(self.bundle, logits)
        return [
            self._result(item, probs[n], None if cuts is None else cuts[n], runs[n].tokens)
            for n, item in enumerate(items)
        ]

    def _result(
        self, item: ScoreInput, row: np.ndarray, cuts: np.ndarray | None, tokens: np.ndarray | None
    ) -> ScoreResult:
        result = self.decider.decide(item, row, cuts)
        if not self.evidence:
            return result
        return replace(
            result, evidence=self.evidence_finder.find(item, result.flags, result.tier, tokens)
        )
