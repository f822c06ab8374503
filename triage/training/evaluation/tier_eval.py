"""The tier report (issue 6): the bundle's tiers against the annotated test posts, next to the
walking skeleton's rule over the binary self_harm flag (configs/tiers.yaml) as the baseline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from triage.domain.labels import TIERS, URGENT_TIERS, Tier
from triage.domain.tier_rules import TierRules
from triage.domain.tiers import assign_tier
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.training.data.rows import Row
from triage.training.fit.tier_targets import gold_tiers

NON_GREEN = (Tier.CRISIS.value, Tier.RED.value, Tier.AMBER.value)


def tier_metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict:
    """Confusion matrix (rows: annotated, columns: predicted, in TIERS order), per-tier F1,
    macro-F1 over all four tiers and over the non-green ones (CLPsych 2016's measure), and
    urgent recall / PPV (crisis + red called crisis or red)."""
    gold_a, pred_a = np.asarray(gold), np.asarray(predicted)
    matrix = [[int(((gold_a == g) & (pred_a == p)).sum()) for p in TIERS] for g in TIERS]
    f1 = {}
    for tier in TIERS:
        tp = int(((gold_a == tier) & (pred_a == tier)).sum())
        fp = int(((gold_a != tier) & (pred_a == tier)).sum())
        fn = int(((gold_a == tier) & (pred_a != tier)).sum())
        f1[tier] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    gold_urgent, pred_urgent = np.isin(gold_a, URGENT_TIERS), np.isin(pred_a, URGENT_TIERS)
    hits = int((gold_urgent & pred_urgent).sum())
    return {
        "posts": len(gold_a),
        "confusion": {"order": list(TIERS), "rows_annotated_cols_predicted": matrix},
        "f1": {k: round(v, 4) for k, v in f1.items()},
        "macro_f1": round(float(np.mean(list(f1.values()))), 4),
        "macro_f1_non_green": round(float(np.mean([f1[t] for t in NON_GREEN])), 4),
        "urgent_recall": round(hits / max(int(gold_urgent.sum()), 1), 4),
        "urgent_ppv": round(hits / max(int(pred_urgent.sum()), 1), 4),
        "urgent_posts": int(gold_urgent.sum()),
        "predicted_urgent": int(pred_urgent.sum()),
    }


def tier_report(scorer: OnnxScorer, rows: Sequence[Row], rules: TierRules) -> dict | None:
    """The tier head (if the bundle has one) and the rule baseline on the annotated rows."""
    annotated = [
        (row, tier) for row, tier in zip(rows, gold_tiers(list(rows)), strict=True) if tier
    ]
    if not annotated:
        return None
    results = scorer.score([ScoreInput(r.id, r.text, r.parent_text) for r, _ in annotated])
    gold = [tier for _, tier in annotated]
    rule = [assign_tier(r.scores, rules, scorer.bundle.thresholds).value for r in results]
    report = {"baseline_binary_flag_rule": tier_metrics(gold, rule)}
    if scorer.bundle.tier_model is not None:
        report["tier_head"] = tier_metrics(gold, [r.tier.value for r in results])
        report["tier_head"]["uncertain_routed_to_amber"] = sum(
            1 for r in results if any(reason.startswith("uncertain") for reason in r.reasons)
        )
    return report
