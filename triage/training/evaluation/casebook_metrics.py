"""The casebook's figures (issue 13): per category, overall, and against the issue's targets.

`casebook_report` turns scored cases into a typed CasebookReport; `evaluate_casebook` scores the
casebook with a bundle first (OnnxScorer, no torch). Reporting only: nothing here is fitted or
chosen on the casebook.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from triage.domain.labels import HOSTILE, SPAM, TIERS, URGENT_TIERS, Tier
from triage.domain.tier_rules import TierRules
from triage.paths import DEFAULT_CONFIG_DIR
from triage.scoring.bundle import load_bundle
from triage.scoring.scorer import OnnxScorer
from triage.training.data.casebook_file import CASEBOOK_LABELS, Case, load_casebook
from triage.training.evaluation.casebook import Prediction, predict, shown_path

HOSTILE_CATEGORY, SUPPORTIVE_CATEGORY = "hostile_reply", "supportive_profanity"
SPAM_CATEGORY, SERVICES_CATEGORY = "forum_spam", "crisis_line_and_services"


@dataclass(frozen=True)
class LabelFlags:
    """One label in one group of cases: how many a moderator would flag, and the bundle did."""

    expected: int  # cases labelled 1
    flagged: int  # cases the bundle flagged (score at or over its threshold)
    hits: int  # labelled 1 and flagged
    expected_rate: float
    flag_rate: float


@dataclass(frozen=True)
class CategoryReport:
    category: str
    n: int
    expected_tiers: dict[str, int]
    predicted_tiers: dict[str, int]
    confusion: dict[str, dict[str, int]]  # expected tier -> predicted tier -> cases
    at_expected_tier: int
    share_at_expected_tier: float
    flags: dict[str, LabelFlags]


@dataclass(frozen=True)
class Missed:
    id: str
    got: str  # the predicted tier, or the label's score


@dataclass(frozen=True)
class TargetResult:
    name: str
    description: str
    kind: Literal["share", "count", "roc_auc"]
    direction: Literal[">=", "<="]
    target: float
    value: float | None  # None when the casebook has no case to measure it on
    count: int  # share: the numerator; count: the count; roc_auc: positive cases
    total: int  # share: the denominator; count: the cases looked at; roc_auc: negative cases
    met: bool | None
    missed: list[Missed] = field(default_factory=list)
    missed_means: str = ""


@dataclass(frozen=True)
class CasebookReport:
    bundle: str
    version: str
    casebook: str
    n: int
    replies: int
    confusion: dict[str, dict[str, int]]  # expected tier -> predicted tier -> cases, all cases
    uncertain: int
    language_raised: int
    categories: list[CategoryReport]
    targets: list[TargetResult]


Pair = tuple[Case, Prediction]


def casebook_report(
    cases: Sequence[Case],
    predictions: Sequence[Prediction],
    bundle: str = "",
    version: str = "",
    casebook: str = "",
) -> CasebookReport:
    """Per-category and overall figures, and the issue-13 targets, for scored cases."""
    by_id = {p.id: p for p in predictions}
    missing = [c.id for c in cases if c.id not in by_id]
    if missing:
        raise ValueError(f"no prediction for {len(missing)} cases, e.g. {missing[:3]}")
    pairs = [(case, by_id[case.id]) for case in cases]
    categories = list(dict.fromkeys(case.category for case in cases))  # file order
    return CasebookReport(
        bundle=bundle,
        version=version,
        casebook=casebook,
        n=len(cases),
        replies=sum(1 for case in cases if case.parent_text is not None),
        confusion=confusion(pairs),
        uncertain=sum(1 for _, p in pairs if p.uncertain),
        language_raised=sum(1 for _, p in pairs if p.language_raised),
        categories=[
            category_report(c, [x for x in pairs if x[0].category == c]) for c in categories
        ],
        targets=targets(pairs),
    )


def confusion(pairs: Sequence[Pair]) -> dict[str, dict[str, int]]:
    """Rows: every expected tier present; columns: all four tiers (TIERS order)."""
    present = [tier for tier in TIERS if any(case.tier == tier for case, _ in pairs)]
    return {
        expected: {
            got: sum(1 for c, p in pairs if c.tier == expected and p.tier == got) for got in TIERS
        }
        for expected in present
    }


def category_report(category: str, pairs: Sequence[Pair]) -> CategoryReport:
    n = len(pairs)
    at_expected = sum(1 for case, p in pairs if p.tier == case.tier)
    return CategoryReport(
        category=category,
        n=n,
        expected_tiers=_tier_counts(case.tier for case, _ in pairs),
        predicted_tiers=_tier_counts(p.tier for _, p in pairs),
        confusion=confusion(pairs),
        at_expected_tier=at_expected,
        share_at_expected_tier=_share(at_expected, n),
        flags={label: label_flags(label, pairs) for label in CASEBOOK_LABELS},
    )


def _tier_counts(tiers: Iterable[str]) -> dict[str, int]:
    listed = list(tiers)
    return {tier: listed.count(tier) for tier in TIERS if tier in listed}


def label_flags(label: str, pairs: Sequence[Pair]) -> LabelFlags:
    expected = sum(case.labels[label] for case, _ in pairs)
    flagged = sum(1 for _, p in pairs if label in p.flags)
    hits = sum(1 for case, p in pairs if case.labels[label] and label in p.flags)
    n = len(pairs)
    return LabelFlags(expected, flagged, hits, _share(expected, n), _share(flagged, n))


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


# -- targets --------------------------------------------------------------------------------------
Select = Callable[[Case], bool]
Hit = Callable[[Prediction], bool]


def targets(pairs: Sequence[Pair]) -> list[TargetResult]:
    """The casebook targets of issue 13, in its order."""

    def tier_is(*tiers: str) -> Select:
        return lambda case: case.tier in tiers

    def category_is(name: str) -> Select:
        return lambda case: case.category == name

    def predicted(*tiers: str) -> Hit:
        return lambda p: p.tier in tiers

    def flagged(label: str) -> Hit:
        return lambda p: label in p.flags

    crisis, amber, green = Tier.CRISIS.value, Tier.AMBER.value, Tier.GREEN.value
    return [
        share_target(
            pairs, "crisis_as_crisis", "crisis cases predicted crisis",
            tier_is(crisis), predicted(crisis), ">=", 0.6,
        ),
        count_target(
            pairs, "crisis_as_green", "crisis cases predicted green",
            tier_is(crisis), predicted(green), 0,
        ),
        share_target(
            pairs, "urgent_recall", "crisis and red cases predicted crisis or red",
            tier_is(*URGENT_TIERS), predicted(*URGENT_TIERS), ">=", 0.9,
        ),
        share_target(
            pairs, "amber_as_amber", "amber cases predicted amber",
            tier_is(amber), predicted(amber), ">=", 0.5,
        ),
        share_target(
            pairs, "green_as_urgent", "green cases predicted crisis or red",
            tier_is(green), predicted(*URGENT_TIERS), "<=", 0.1,
        ),
        hostile_auc_target(pairs),
        share_target(
            pairs, "forum_spam_recall", f"{SPAM_CATEGORY} cases flagged spam",
            category_is(SPAM_CATEGORY), flagged(SPAM), ">=", 0.8, SPAM,
        ),
        count_target(
            pairs, "crisis_line_as_spam", f"{SERVICES_CATEGORY} cases flagged spam",
            category_is(SERVICES_CATEGORY), flagged(SPAM), 0, SPAM,
        ),
    ]  # fmt: skip


def share_target(
    pairs: Sequence[Pair],
    name: str,
    description: str,
    select: Select,
    hit: Hit,
    direction: Literal[">=", "<="],
    target: float,
    score_label: str | None = None,
) -> TargetResult:
    """The share of the selected cases that `hit`; missed = those on the wrong side."""
    chosen = [(case, p) for case, p in pairs if select(case)]
    hits = sum(1 for _, p in chosen if hit(p))
    value = round(hits / len(chosen), 4) if chosen else None
    wrong = (lambda p: not hit(p)) if direction == ">=" else hit
    return TargetResult(
        name=name,
        description=description,
        kind="share",
        direction=direction,
        target=target,
        value=value,
        count=hits,
        total=len(chosen),
        met=_met(value, direction, target),
        missed=[_missed(p, score_label) for _, p in chosen if wrong(p)],
        missed_means="not hit" if direction == ">=" else "hit (these count against the target)",
    )


def count_target(
    pairs: Sequence[Pair],
    name: str,
    description: str,
    select: Select,
    hit: Hit,
    most: int,
    score_label: str | None = None,
) -> TargetResult:
    """How many selected cases `hit`, against a maximum; missed = every case that hit."""
    chosen = [p for case, p in pairs if select(case)]
    hits = [p for p in chosen if hit(p)]
    value = float(len(hits)) if chosen else None
    return TargetResult(
        name=name,
        description=description,
        kind="count",
        direction="<=",
        target=most,
        value=value,
        count=len(hits),
        total=len(chosen),
        met=_met(value, "<=", most),
        missed=[_missed(p, score_label) for p in hits],
        missed_means="hit (each counts against the target)",
    )


def hostile_auc_target(pairs: Sequence[Pair], target: float = 0.85) -> TargetResult:
    """ROC-AUC of the hostile score, hostile_reply (positive) against supportive_profanity.

    An AUC has no misses of its own: the missed cases listed are those on the wrong side of the
    bundle's hostile threshold (hostile replies not flagged, supportive ones flagged)."""
    hostile = [p for case, p in pairs if case.category == HOSTILE_CATEGORY]
    supportive = [p for case, p in pairs if case.category == SUPPORTIVE_CATEGORY]
    positive = [s for p in hostile if (s := p.scores.get(HOSTILE)) is not None]
    negative = [s for p in supportive if (s := p.scores.get(HOSTILE)) is not None]
    scored = len(positive) + len(negative) == len(hostile) + len(supportive)
    value = roc_auc(positive, negative) if scored and positive and negative else None
    wrong = [p for p in hostile if HOSTILE not in p.flags]
    wrong += [p for p in supportive if HOSTILE in p.flags]
    return TargetResult(
        name="hostile_vs_supportive_roc_auc",
        description=f"hostile score: {HOSTILE_CATEGORY} against {SUPPORTIVE_CATEGORY}, ROC-AUC",
        kind="roc_auc",
        direction=">=",
        target=target,
        value=value,
        count=len(hostile),
        total=len(supportive),
        met=_met(value, ">=", target),
        missed=[_missed(p, HOSTILE) for p in wrong],
        missed_means=f"on the wrong side of the bundle's hostile threshold ({HOSTILE_CATEGORY} "
        f"not flagged, {SUPPORTIVE_CATEGORY} flagged)",
    )


def roc_auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """P(a positive scores above a negative), ties counting one half (Mann-Whitney U)."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return round(wins / (len(positive) * len(negative)), 4)


def _met(value: float | None, direction: str, target: float) -> bool | None:
    if value is None:
        return None
    return value >= target if direction == ">=" else value <= target


def _missed(prediction: Prediction, score_label: str | None) -> Missed:
    if score_label is None:
        return Missed(prediction.id, prediction.tier)
    score = prediction.scores.get(score_label)
    return Missed(prediction.id, f"{score_label} {'n/a' if score is None else f'{score:.3f}'}")


def wilson_interval(count: int, total: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95% Wilson score interval of a share (small categories: report it with the share)."""
    if total == 0:
        return None
    share = count / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    half /= 1 + z * z / total
    return round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)


def evaluate_casebook(
    bundle_dir: Path, casebook_path: Path, config_dir: Path = DEFAULT_CONFIG_DIR
) -> CasebookReport:
    """Load the casebook, score it with the bundle through OnnxScorer, and measure it."""
    cases = load_casebook(casebook_path)
    bundle = load_bundle(bundle_dir)
    scorer = OnnxScorer(bundle, TierRules.load(config_dir / "tiers.yaml"), evidence=False)
    return casebook_report(
        cases, predict(scorer, cases), bundle.name, bundle.version, shown_path(casebook_path)
    )
