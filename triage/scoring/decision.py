"""One item's calibrated probabilities -> scores, flags, tier, priority and their reasons.

The rules are the domain's (triage/domain/tiers.py, priority.py); this module applies them with
what the bundle and the deployment set: thresholds, tier head, declared languages, tier rules and
the crisis resources never flagged spam.

A post in a language the bundle does not declare keeps its scores but is raised to at least
amber with a reason (language.py): the model cannot read it, a person must. So is a post
flagged self_harm (tiers.floor_for_self_harm). A post that shares a crisis resource keeps its
spam score but is not flagged spam unless it also promotes something (resource_guard.py).
"""

from __future__ import annotations

import numpy as np

from triage.domain.labels import LABELS, REPLY_ONLY_LABELS, SELF_HARM, SPAM, TIER_CUTS, Tier
from triage.domain.priority import (
    UNCERTAIN_REASON,
    UNREADABLE_LANGUAGE_TIER,
    at_least,
    compute_priority,
    crisis_resource_reason,
    unreadable_language_reason,
)
from triage.domain.resource_guard import ResourceGuard
from triage.domain.tier_rules import TierRules
from triage.domain.tiers import TierDecision, assign_tier, floor_for_self_harm, ordinal_tier
from triage.scoring.bundle import Bundle
from triage.scoring.language import check_language
from triage.scoring.results import ScoreInput, ScoreResult


class Decider:
    """The decisions on one scored item, without its evidence (evidence.py adds that)."""

    def __init__(
        self, bundle: Bundle, tier_rules: TierRules, resource_guard: ResourceGuard
    ) -> None:
        self.bundle, self.tier_rules, self.resource_guard = bundle, tier_rules, resource_guard

    def decide(self, item: ScoreInput, row: np.ndarray, cuts: np.ndarray | None) -> ScoreResult:
        """`row`: the item's label probabilities (NaN: untrained); `cuts`: its P(tier >= amber,
        red, crisis), or None without a tier head."""
        scores = {
            label: None if np.isnan(p) else round(float(p), 4)
            for label, p in zip(LABELS, row, strict=True)
        }
        if item.parent_text is None:  # e.g. corumination is a property of a reply to a post
            scores.update(dict.fromkeys(REPLY_ONLY_LABELS))
        flags, resource = self.flags(item.text, scores)
        decision, tier_scores = self.model_tier(scores, cuts)
        tier = floor_for_self_harm(decision.tier, flags)
        language = check_language(item.text, self.bundle.languages)
        if not language.supported:  # scores kept as they are; a person reads it
            tier = at_least(tier, UNREADABLE_LANGUAGE_TIER)
        priority = compute_priority(
            tier, flags, scores, tier_scores=tier_scores, points=self.tier_rules.priority
        )
        reasons = priority.reasons
        if decision.uncertain:
            reasons = (*reasons, UNCERTAIN_REASON)
        if not language.supported:
            reasons = (*reasons, unreadable_language_reason(language.language))
        if resource is not None:
            reasons = (*reasons, crisis_resource_reason(resource))
        return ScoreResult(
            item.id,
            scores,
            flags,
            tier,
            priority.value,
            reasons,
            tier_scores=tier_scores,
            language=language.language,
            language_unsupported=not language.supported,
            # floor_for_self_harm raised it
            self_harm_floor=decision.tier is Tier.GREEN and SELF_HARM in flags,
            tier_uncertain=decision.uncertain,
            spam_withheld_by=resource,
        )

    def flags(self, text: str, scores: dict[str, float | None]) -> tuple[list[str], str | None]:
        """The labels at or over their threshold, less spam where the text shares a crisis
        resource (resource_guard.py; its score stays in `scores`), and that resource or None."""
        flags = [
            label
            for label in LABELS
            if (score := scores[label]) is not None and score >= self.bundle.thresholds[label]
        ]
        resource = self.resource_guard.withholds_spam(text) if SPAM in flags else None
        if resource is not None:
            flags.remove(SPAM)
        return flags, resource

    def model_tier(
        self, scores: dict[str, float | None], cuts: np.ndarray | None
    ) -> tuple[TierDecision, dict[str, float] | None]:
        """The tier head's decision and its rounded cut probabilities; without a tier head, the
        tier rules' (never uncertain) and None."""
        if cuts is None or self.bundle.tier_model is None:
            tier = assign_tier(scores, self.tier_rules, self.bundle.thresholds)
            return TierDecision(tier, uncertain=False), None
        tier_scores = {
            cut.value: round(float(p), 4) for cut, p in zip(TIER_CUTS, cuts, strict=True)
        }
        return ordinal_tier(cuts.tolist(), self.bundle.tier_model), tier_scores
