"""For each flag (and a crisis or red tier), the sentence of the post that carries it.

"sentences" (the default): the sentence that scores highest on its own, a second model run per
sentence. "context" (token logits, one row per input position): the sentence holding the token
with the highest logit for that output, read in the context of the whole post from the pass that
scored it; no extra runs, but it found the annotators' evidence less often (bench/evidence.py:
0.41 against 0.55 of red and crisis test posts). A tier's evidence uses the P(tier >= red)
output when the bundle has a tier head, else self_harm.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import get_args

import numpy as np

from triage.domain.labels import LABELS, SELF_HARM, TIER_CUTS, TIER_OUTPUTS, Tier
from triage.domain.text import sentence_spans
from triage.scoring.probabilities import cut_probabilities, label_probabilities
from triage.scoring.results import Evidence, ScoreInput
from triage.scoring.session import ModelSession
from triage.settings import EvidenceMode

MAX_EVIDENCE_SENTENCES = 24
EVIDENCE_MODES: tuple[str, ...] = get_args(EvidenceMode)
RED_CUT = TIER_OUTPUTS[TIER_CUTS.index(Tier.RED)]
Span = tuple[int, int]


class EvidenceFinder:
    """Finds evidence sentences with the model session that scored the post."""

    def __init__(self, model: ModelSession) -> None:
        self.model = model

    def find(
        self, item: ScoreInput, flags: list[str], tier: Tier, tokens: np.ndarray | None
    ) -> list[Evidence]:
        """The evidence of each flag, then of an urgent tier; in context when the post's pass
        gave its token logits (`tokens`), else sentence by sentence (see the module's doc)."""
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
            return self.in_context(item, spans, targets, tokens)
        return self.alone(item, spans, flags, urgent, tier)

    def tier_column(self) -> int:
        """The output a red or crisis tier's evidence is read from."""
        outputs = self.model.bundle.outputs
        return outputs.index(RED_CUT) if RED_CUT in outputs else LABELS.index(SELF_HARM)

    def in_context(
        self, item: ScoreInput, spans: list[Span], targets: list[str], tokens: np.ndarray
    ) -> list[Evidence]:
        positions = self.model.encoder.text_token_spans(item.text, item.parent_text)
        starts = [start for start, _ in spans]
        members: list[list[int]] = [[] for _ in spans]
        for k, (start, end) in enumerate(positions):
            sentence = bisect_right(starts, start) - 1
            if sentence >= 0 and start < spans[sentence][1] and end > start:
                members[sentence].append(k + 1)  # input position: [CLS] comes first
        found = []
        for target in targets:
            column = LABELS.index(target) if target in LABELS else self.tier_column()
            peaks = [tokens[m, column].max() if m else -np.inf for m in members]
            if np.isfinite(max(peaks)):
                found.append(Evidence(target, *spans[int(np.argmax(peaks))]))
        return found

    def alone(
        self, item: ScoreInput, spans: list[Span], flags: list[str], urgent: bool, tier: Tier
    ) -> list[Evidence]:
        sentences = [item.text[start:end] for start, end in spans]
        logits = self.model.logits(sentences, [item.parent_text] * len(sentences))
        probs = label_probabilities(self.model.bundle, logits)
        cuts = cut_probabilities(self.model.bundle, logits)
        found = [
            Evidence(label, *spans[int(np.nanargmax(probs[:, LABELS.index(label)]))])
            for label in flags
        ]
        if urgent:
            column = cuts[:, 1] if cuts is not None else probs[:, LABELS.index(SELF_HARM)]
            found.append(Evidence(tier.value, *spans[int(np.nanargmax(column))]))
        return found
