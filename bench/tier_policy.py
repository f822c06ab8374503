"""Tier cut-offs for several urgent-recall targets, measured on the annotated dev posts.

    .venv/bin/python bench/tier_policy.py --bundle models/triage-minilm [--targets 0.95,0.9]
        [--everyday-shares off,0.015]

Issue 13, point 5 asks for amber to be reachable while crisis and red posts are still called
crisis or red. The cut-off on P(tier >= red) is the highest that keeps `tier_urgent_recall` of
the annotated dev posts urgent (configs/thresholds.yaml); a higher target pushes more amber posts
up to red. This prints, for each target, what `triage export` would choose on dev and what it
does to dev's own posts (in-sample: these are the posts the cut-offs are fitted on), so the
policy in configs/thresholds.yaml is chosen on dev, never on the test split or the casebook.

It also prints what the bundle's own tier head does to everyday dev posts: unannotated posts
whose self_harm and distress labels are both known to be 0 (the green pool of
bench/community_day.py, but from dev). A tier-cut probe that was never fitted on such posts can
lift them into the uncertain band (docs/evaluation/1.3.0/README.md), which the annotated dev
posts, all from mental-health subreddits, do not show. `--everyday-shares` compares the floor
that configs/thresholds.yaml `tier_everyday_uncertain_share` puts under the uncertain band: the
figures show what it costs the annotated urgent posts (their share at or above the band) and what
it saves the everyday ones (in-sample for the floor: it is fitted on these same everyday posts).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path = [
    p for p in sys.path if not p.endswith("bench")
]  # bench/queue_views.py is not stdlib queue

from triage.domain.labels import LABELS, TIERS, URGENT_TIERS
from triage.domain.tier_rules import TierRules
from triage.domain.tiers import OrdinalTierModel, ordinal_tier
from triage.paths import DEFAULT_BUNDLE, DEFAULT_CONFIG_DIR, DEFAULT_PREPARED
from triage.scoring.bundle import load_bundle
from triage.scoring.scorer import OnnxScorer
from triage.training.data.prepare import load_split
from triage.training.data.rows import Row
from triage.training.fit.calibrate import ThresholdPolicy
from triage.training.fit.tier_fit import fit_tier_model
from triage.training.fit.tier_targets import gold_tiers, is_everyday_post


def confusion(gold: list[str], predicted: list[str]) -> dict[str, dict[str, int]]:
    table = {g: dict.fromkeys(TIERS, 0) for g in TIERS}
    for g, p in zip(gold, predicted, strict=True):
        table[g][p] += 1
    return table


def figures(table: dict[str, dict[str, int]]) -> dict[str, float]:
    def share(gold: tuple[str, ...], predicted: tuple[str, ...]) -> float:
        total = sum(table[g][p] for g in gold for p in TIERS)
        return sum(table[g][p] for g in gold for p in predicted) / total if total else float("nan")

    called_urgent = sum(table[g][p] for g in TIERS for p in URGENT_TIERS)
    truly_urgent = sum(table[g][p] for g in URGENT_TIERS for p in URGENT_TIERS)
    return {
        "urgent recall": share(URGENT_TIERS, URGENT_TIERS),
        "urgent PPV": truly_urgent / called_urgent if called_urgent else float("nan"),
        "crisis -> crisis": share(("crisis",), ("crisis",)),
        "amber -> amber": share(("amber",), ("amber",)),
        "amber -> red/crisis": share(("amber",), URGENT_TIERS),
        "green -> red/crisis": share(("green",), URGENT_TIERS),
    }


def everyday_raised(model: OrdinalTierModel, cut_logits: np.ndarray) -> tuple[int, int]:
    """(posts at amber or above, of them through the uncertain band) under this tier head."""
    decisions = [ordinal_tier(p, model) for p in model.cut_probabilities(cut_logits)]
    return sum(d.tier.value != "green" for d in decisions), sum(d.uncertain for d in decisions)


def everyday_report(scorer: OnnxScorer, model: OrdinalTierModel, rows: list[Row]) -> str:
    """How many everyday posts the tier head sends to amber or above, and how many of those
    only through the uncertain band."""
    if not rows:
        return "no everyday dev posts (self_harm 0 and distress 0) in this data"
    logits = scorer.logits([r.text for r in rows], [r.parent_text for r in rows])
    raised, uncertain = everyday_raised(model, logits[:, len(LABELS) :])
    return (
        f"everyday dev posts (unannotated, self_harm 0 and distress 0) at amber or above with "
        f"the bundle's own tier head: {raised} of {len(rows)} ({raised / len(rows):.1%}), "
        f"{uncertain} of them through the uncertain band"
    )


def parse_shares(text: str) -> list[float | None]:
    """ "off,0.015" -> [None, 0.015]: tier_everyday_uncertain_share values to compare."""
    return [None if s.strip() == "off" else float(s) for s in text.split(",") if s.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--data", type=Path, default=DEFAULT_PREPARED)
    parser.add_argument("--targets", default="0.95,0.925,0.9")
    parser.add_argument(
        "--everyday-shares",
        default="off",
        help="tier_everyday_uncertain_share values to compare, 'off' for none (e.g. off,0.015)",
    )
    args = parser.parse_args()

    bundle = load_bundle(args.bundle)
    rules = TierRules.load(DEFAULT_CONFIG_DIR / "tiers.yaml")
    scorer = OnnxScorer(bundle, rules, evidence=False)
    dev = load_split(args.data, "dev")
    rows = [r for r in dev if r.annotation and r.annotation.tier]
    everyday = [r for r in dev if is_everyday_post(r)]
    gold = [t for t in gold_tiers(rows) if t]
    both = rows + everyday
    logits = scorer.logits([r.text for r in both], [r.parent_text for r in both])
    cut_logits = logits[: len(rows), len(LABELS) :]
    everyday_logits = logits[len(rows) :, len(LABELS) :]
    base = ThresholdPolicy.load(DEFAULT_CONFIG_DIR / "thresholds.yaml")
    counts = dict(zip(*np.unique(gold, return_counts=True), strict=True))
    print(f"{args.bundle} on {len(rows)} annotated dev posts {counts}")
    print(f"and {len(everyday)} everyday dev posts (unannotated, self_harm 0 and distress 0)")
    urgent = np.isin(gold, URGENT_TIERS)
    for target in (float(t) for t in args.targets.split(",")):
        for share in parse_shares(args.everyday_shares):
            update = {"tier_urgent_recall": target, "tier_everyday_uncertain_share": share}
            model = fit_tier_model(
                np.concatenate([cut_logits, everyday_logits]),
                rows + everyday,
                base.model_copy(update=update),
            )
            if model is None:
                print(f"urgent recall target {target}: no tier head (too few annotated dev posts)")
                continue
            probabilities = model.cut_probabilities(cut_logits)
            predicted = [ordinal_tier(p, model).tier.value for p in probabilities]
            table = confusion(gold, predicted)
            shown = ", ".join(f"{k} {v:.3f}" for k, v in figures(table).items())
            band_recall = float(np.mean(probabilities[urgent, 1] >= model.uncertain))
            raised, through_band = everyday_raised(model, everyday_logits)
            print(
                f"target {target}, everyday share {share or 'off'}: cut-offs red {model.red:.3f} "
                f"amber {model.amber:.3f} uncertain {model.uncertain:.4f}"
            )
            print(f"    {shown}")
            print(
                f"    urgent posts at or above the uncertain cut-off {band_recall:.3f}; "
                f"everyday posts at amber or above {raised} of {len(everyday)} "
                f"({raised / max(len(everyday), 1):.1%}), {through_band} through the band"
            )
            for g in TIERS:
                print(f"    {g:>6} -> " + " ".join(f"{p} {table[g][p]:>3}" for p in TIERS))
    if bundle.tier_model is not None:
        print(everyday_report(scorer, bundle.tier_model, everyday))


if __name__ == "__main__":
    main()
