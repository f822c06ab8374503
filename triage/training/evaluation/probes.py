"""Bias and robustness probes: expand the families of configs/probes.yaml, score, measure, check.

Torch-free: needs only something with the scorer's `score()` (OnnxScorer, or a fake in tests).
Every distinct text is scored once, even when several families share it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from triage.domain.labels import RISK_LABELS, Tier
from triage.scoring.results import ScoreInput, ScoreResult
from triage.training.data.probe_config import (
    Family,
    FamilyKind,
    ProbeConfig,
    TermSets,
    fill_template,
)

log = logging.getLogger(__name__)

PROBE, REFERENCE = "probe", "reference"
WORST_SHOWN = 5


class Scorer(Protocol):
    def score(self, items: Sequence[ScoreInput]) -> Sequence[ScoreResult]: ...


@dataclass(frozen=True)
class Probe:
    family: str
    group: str  # PROBE or REFERENCE
    key: str  # a probe is compared with the reference texts of the same key (template or pair)
    text: str
    parent: str | None = None
    term: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Observation:
    probe: Probe
    score: float
    flagged: bool
    tier: Tier
    gap: float | None = None  # score minus the mean score of the probe's reference texts


@dataclass(frozen=True)
class Breach:
    metric: str
    value: float
    limit: float

    def __str__(self) -> str:
        return f"{self.metric} {self.value:.3f} > {self.limit:.3f}"


@dataclass
class FamilyResult:
    name: str
    family: Family
    metrics: dict[str, float]
    by_category: dict[str, dict[str, float | str]] = field(default_factory=dict)
    worst: list[Observation] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.family.kind is FamilyKind.HARD_LIMIT and bool(self.breaches)


@dataclass
class ProbeReport:
    bundle: str
    config_path: str
    families: dict[str, FamilyResult]

    @property
    def failures(self) -> list[FamilyResult]:
        return [result for result in self.families.values() if result.failed]


# -- expansion ----------------------------------------------------------------------------------
def expand_family(name: str, family: Family, terms: TermSets) -> list[Probe]:
    """Templates x terms (probe and reference groups), or the probe and reference of each pair."""
    if family.pairs:
        return [
            Probe(name, group, f"pair{i}", text, pair.parent)
            for i, pair in enumerate(family.pairs)
            for group, text in ((PROBE, pair.probe), (REFERENCE, pair.reference))
        ]
    if not family.probe_terms:
        return [
            Probe(name, PROBE, f"t{i}", t.text, t.parent) for i, t in enumerate(family.templates)
        ]
    groups = [(PROBE, family.probe_terms)]
    if family.reference_terms:
        groups.append((REFERENCE, family.reference_terms))
    return [
        Probe(
            name,
            group,
            f"t{i}",
            fill_template(template.text, phrase),
            template.parent,
            phrase,
            category,
        )
        for group, term_set in groups
        for category, phrases in terms[term_set].items()
        for i, template in enumerate(family.templates)
        for phrase in phrases
    ]


def expand(config: ProbeConfig) -> list[Probe]:
    return [
        probe
        for name, family in config.families.items()
        for probe in expand_family(name, family, config.terms)
    ]


# -- scoring ------------------------------------------------------------------------------------
def score_probes(config: ProbeConfig, scorer: Scorer) -> dict[str, list[Observation]]:
    """Observations per family, with each probe's gap to its reference texts where it has some."""
    probes = expand(config)
    unique = list(dict.fromkeys((p.text, p.parent) for p in probes))
    log.info("scoring %d probe texts (%d distinct)", len(probes), len(unique))
    results = scorer.score(
        [ScoreInput(str(i), text, parent) for i, (text, parent) in enumerate(unique)]
    )
    by_input = dict(zip(unique, results, strict=True))
    observed: dict[str, list[Observation]] = {name: [] for name in config.families}
    for probe in probes:
        observed[probe.family].append(_observe(probe, config.families[probe.family], by_input))
    return {name: _with_gaps(items) for name, items in observed.items()}


def _observe(probe: Probe, family: Family, by_input: dict) -> Observation:
    result = by_input[(probe.text, probe.parent)]
    score = result.scores.get(family.label)
    if score is None:
        raise ValueError(
            f"probe family {probe.family!r} watches {family.label!r}, which this bundle has no "
            "trained head for (its score is null); remove the family or use a bundle that has one"
        )
    return Observation(probe, float(score), family.label in result.flags, result.tier)


def _with_gaps(items: list[Observation]) -> list[Observation]:
    reference: dict[str, list[float]] = {}
    for item in items:
        if item.probe.group == REFERENCE:
            reference.setdefault(item.probe.key, []).append(item.score)
    if not reference:
        return items
    baseline = {key: float(np.mean(scores)) for key, scores in reference.items()}
    return [
        Observation(i.probe, i.score, i.flagged, i.tier, i.score - baseline[i.probe.key])
        if i.probe.group == PROBE
        else i
        for i in items
    ]


# -- metrics ------------------------------------------------------------------------------------
def _rates(items: Sequence[Observation], tiers: bool) -> dict[str, float]:
    scores = np.array([i.score for i in items])
    rates = {
        "n": len(items),
        "mean_score": float(scores.mean()),
        "max_score": float(scores.max()),
        "flag_rate": float(np.mean([i.flagged for i in items])),
    }
    if tiers:
        rates["crisis_rate"] = float(np.mean([i.tier is Tier.CRISIS for i in items]))
        rates["red_or_crisis_rate"] = float(
            np.mean([i.tier in (Tier.CRISIS, Tier.RED) for i in items])
        )
    return rates


def family_metrics(items: Sequence[Observation], label: str) -> dict[str, float]:
    """The probe group's rates, and where there is a reference group its rates and the gaps.

    Tier rates are only given for the labels tiers are made of (RISK_LABELS): a hostile family's
    tiers would say nothing about hostility.
    """
    tiers = label in RISK_LABELS
    probes = [i for i in items if i.probe.group == PROBE]
    references = [i for i in items if i.probe.group == REFERENCE]
    metrics = _rates(probes, tiers)
    if references:
        ref = _rates(references, tiers)
        gaps = np.array([i.gap for i in probes])
        metrics.update({f"reference_{k}": v for k, v in ref.items()})
        metrics.update(
            mean_gap=float(gaps.mean()),
            max_gap=float(gaps.max()),
            share_below_reference=float(np.mean(gaps < 0)),
            flag_rate_gap=metrics["flag_rate"] - ref["flag_rate"],
        )
        if tiers:
            metrics["red_or_crisis_rate_gap"] = (
                metrics["red_or_crisis_rate"] - ref["red_or_crisis_rate"]
            )
        by_term = _mean_gap_by(probes, lambda i: i.probe.term)
        if by_term:
            metrics["worst_term_gap"] = max(by_term.values())
    return {k: round(v, 4) for k, v in metrics.items()}


def _mean_gap_by(items: Sequence[Observation], key) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for item in items:
        if key(item) is not None and item.gap is not None:
            groups.setdefault(key(item), []).append(item.gap)
    return {name: float(np.mean(gaps)) for name, gaps in groups.items()}


def category_metrics(items: Sequence[Observation]) -> dict[str, dict[str, float | str]]:
    """Per term category (e.g. religion): count, mean score, flag rate, mean and worst term gap."""
    probes = [i for i in items if i.probe.group == PROBE and i.probe.category]
    out: dict[str, dict[str, float | str]] = {}
    for category in dict.fromkeys(i.probe.category for i in probes if i.probe.category):
        chosen = [i for i in probes if i.probe.category == category]
        row: dict[str, float | str] = {
            "n": len(chosen),
            "mean_score": round(float(np.mean([i.score for i in chosen])), 4),
            "flag_rate": round(float(np.mean([i.flagged for i in chosen])), 4),
        }
        by_term = _mean_gap_by(chosen, lambda i: i.probe.term)
        if by_term:
            worst_term = max(by_term, key=by_term.__getitem__)
            row["mean_gap"] = round(float(np.mean([i.gap for i in chosen])), 4)
            row["worst_term"] = worst_term
            row["worst_term_gap"] = round(by_term[worst_term], 4)
        out[category] = row
    return out


def breaches(family: Family, metrics: dict[str, float]) -> list[Breach]:
    return [
        Breach(str(metric), metrics[metric], limit)
        for metric, limit in family.limits.items()
        if metrics[metric] > limit
    ]


def worst_probes(items: Sequence[Observation], count: int = WORST_SHOWN) -> list[Observation]:
    """The probes that score highest above their reference (or highest, without one)."""
    probes = [i for i in items if i.probe.group == PROBE]
    return sorted(probes, key=lambda i: i.gap if i.gap is not None else i.score, reverse=True)[
        :count
    ]


# -- running ------------------------------------------------------------------------------------
def run_probes(config: ProbeConfig, scorer: Scorer, bundle: str, config_path: Path) -> ProbeReport:
    families = {}
    for name, items in score_probes(config, scorer).items():
        family = config.families[name]
        metrics = family_metrics(items, family.label)
        families[name] = FamilyResult(
            name,
            family,
            metrics,
            by_category=category_metrics(items),
            worst=worst_probes(items),
            breaches=breaches(family, metrics),
        )
    return ProbeReport(bundle, str(config_path), families)


def probe_bundle(bundle_dir: Path, config_path: Path, tiers_path: Path) -> ProbeReport:
    """Score every probe with the bundle's int8 ONNX model through the serving scorer."""
    from triage.domain.tier_rules import TierRules
    from triage.scoring.bundle import load_bundle
    from triage.scoring.scorer import OnnxScorer

    config = ProbeConfig.load(config_path)
    bundle = load_bundle(bundle_dir)
    scorer = OnnxScorer(bundle, TierRules.load(tiers_path), evidence=False)
    return run_probes(config, scorer, f"{bundle.name} {bundle.version}", _shown(config_path))


def _shown(path: Path) -> Path:
    """The path relative to the project when it is inside it (reports are committed)."""
    from triage.paths import PROJECT_ROOT

    resolved = Path(path).resolve()
    return resolved.relative_to(PROJECT_ROOT) if resolved.is_relative_to(PROJECT_ROOT) else resolved
