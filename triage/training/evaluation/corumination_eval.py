"""`triage evaluate-corumination`: the pair and thread corumination scores on the annotated
held-out data (issue 7), next to a negative-affect overlap baseline.

Pairs: the annotated (parent, reply) pairs of the prepared **test** split (labels from
annotations/corumination_pairs.csv, positive = some or strong). Threads: the annotated ToxiChat
threads of the test split (annotations/corumination_threads.csv), read from the prepared rows
with triage.training.annotations.files.threads_from_rows and scored with triage/scoring/threads.py,
exactly as
POST /v1/threads/score scores them.

Baseline (negative-affect overlap alone): each text scored **on its own** by the same bundle,
negative affect = max(distress, self_harm) (triage.scoring.thread_signals.negative_affect), and a
pair's
baseline score = negative affect of the parent x negative affect of the reply: two people both
being negative, which is what corumination would be if it were only shared sadness. A thread's
baseline is the highest baseline over its (parent, reply) pairs, as the thread score takes the
highest pair score. The model's own heads are used rather than a word list so the comparison
asks one question: does the corumination head add anything beyond negative affect on both sides?

Thresholds come from dev only: the pair model's is the bundle's (max F1 on the dev pairs at
export); the baseline's is the max-F1 threshold on the same dev pairs. Thread scores use the
threshold of their pair score (the queue flags a thread at the model's threshold): the dev split
holds 4 positive threads, too few to choose a threshold on.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triage.domain.labels import CORUMINATION, LABELS, CoruminationLevel
from triage.domain.tier_rules import TierRules
from triage.paths import DEFAULT_CONFIG_DIR
from triage.scoring.bundle import load_bundle
from triage.scoring.scorer import OnnxScorer
from triage.scoring.thread_signals import negative_affect
from triage.scoring.threads import Post, score_posts, score_thread
from triage.training.annotations.files import read_manifest, threads_from_rows
from triage.training.data.annotation_labels import KINDS, attach_annotations, load_labels
from triage.training.data.prepare import load_split
from triage.training.data.rows import Row
from triage.training.fit.calibrate import threshold_max_f1
from triage.training.fit.label_metrics import label_metrics

BOOTSTRAP_RESAMPLES = 1000
SEED = 20261126


class CoruminationEvalError(ValueError):
    """The bundle or the data cannot give this evaluation (says why and what to do)."""


@dataclass(frozen=True)
class Scored:
    """One scoring of a set of units: scores per unit, binary gold, threshold, strata."""

    scores: np.ndarray
    gold: np.ndarray
    threshold: float


# --- model calls -----------------------------------------------------------------------------
def _column(scorer: OnnxScorer, texts: Sequence[str], parents: Sequence[str | None], label: str):
    return scorer.probabilities(list(texts), list(parents))[:, LABELS.index(label)]


def affect_alone(scorer: OnnxScorer, texts: Sequence[str]) -> dict[str, float]:
    """Negative affect of each distinct text scored on its own (0 where the model has none)."""
    distinct = sorted(set(texts))
    probs = scorer.probabilities(distinct, [None] * len(distinct))
    found = {}
    for text, row in zip(distinct, probs, strict=True):
        value = negative_affect(dict(zip(LABELS, map(float, row), strict=True)))
        found[text] = 0.0 if value is None else value
    return found


def pair_baseline(affect: dict[str, float], parent: str, reply: str) -> float:
    return affect[parent] * affect[reply]


# --- pairs -----------------------------------------------------------------------------------
def annotated_pairs(rows: Sequence[Row], annotations_dir: Path) -> list[tuple[Row, str]]:
    """(row, level) for every row of `rows` with a pass-1 pair annotation and a parent."""
    attach_annotations(rows, annotations_dir)
    return [
        (row, row.annotation.corumination)
        for row in rows
        if row.annotation and row.annotation.corumination and row.parent_text is not None
    ]


def score_pairs(scorer: OnnxScorer, pairs: list[tuple[Row, str]]) -> tuple[np.ndarray, np.ndarray]:
    """(model pair scores, baseline scores) for the pairs."""
    rows = [row for row, _ in pairs]
    model = _column(scorer, [r.text for r in rows], [r.parent_text for r in rows], CORUMINATION)
    affect = affect_alone(scorer, [r.text for r in rows] + [r.parent_text or "" for r in rows])
    baseline = np.array([pair_baseline(affect, r.parent_text or "", r.text) for r in rows])
    return model, baseline


def gold(levels: Sequence[str], strong_only: bool = False) -> np.ndarray:
    if strong_only:
        return np.array([level == CoruminationLevel.STRONG.value for level in levels], dtype=int)
    return np.array([CoruminationLevel(level).positive for level in levels], dtype=int)


# --- threads ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThreadResult:
    thread: str
    level: str
    stratum: str
    posts: int
    score: float
    pair_max: float
    baseline: float


def score_threads(
    scorer: OnnxScorer, rows: Sequence[Row], labels: dict[str, str], strata: dict[str, str]
) -> tuple[list[ThreadResult], list[str]]:
    """Each annotated thread found in `rows`, scored; and the annotated ids not found."""
    threads = threads_from_rows(rows)
    wanted = sorted(t for t in labels if t in strata)
    results, missing = [], []
    for key in wanted:
        replies = threads.get(key)
        if replies is None:
            missing.append(key)
            continue
        texts = [replies[0].parent_text or "", *(reply.text for reply in replies)]
        posts = [Post("0", texts[0])] + [
            Post(str(n), text, str(n - 1)) for n, text in enumerate(texts[1:], start=1)
        ]
        result = score_thread(score_posts(scorer, posts))
        affect = affect_alone(scorer, texts)
        baseline = max(
            pair_baseline(affect, a, b) for a, b in zip(texts[:-1], texts[1:], strict=True)
        )
        results.append(
            ThreadResult(
                thread=key,
                level=labels[key],
                stratum=strata[key],
                posts=len(texts),
                score=_or_zero(result.score),
                pair_max=_or_zero(result.signals.pair_level if result.signals else None),
                baseline=baseline,
            )
        )
    return results, missing


def _or_zero(value: float | None) -> float:
    return 0.0 if value is None else float(value)


# --- metrics ---------------------------------------------------------------------------------
def metrics(scores: np.ndarray, targets: np.ndarray, threshold: float) -> dict:
    """PR-AUC, ROC-AUC, F1, precision, recall at `threshold`; prevalence (a random ranker's
    PR-AUC) beside them. NaN metrics (one class only) become None."""
    found = label_metrics(np.asarray(scores, float), np.asarray(targets, int), threshold)
    found["prevalence"] = float(np.mean(targets)) if len(targets) else float("nan")
    keep = ("n", "positives", "prevalence", "pr_auc", "roc_auc", "threshold", "precision")
    report = {k: _clean(found[k]) for k in (*keep, "recall", "f1")}
    report["threshold"] = float(f"{threshold:.4g}")  # baseline products can be tiny
    return report


def _clean(value):
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return value


def bootstrap_pr_auc(
    a: np.ndarray, b: np.ndarray, targets: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES
) -> dict | None:
    """95% percentile intervals of PR-AUC for a, for b, and of a - b (paired resampling)."""
    from sklearn.metrics import average_precision_score

    if targets.sum() < 2 or targets.sum() == len(targets):
        return None
    rng = np.random.default_rng(SEED)
    draws = []
    for _ in range(resamples):
        pick = rng.integers(0, len(targets), len(targets))
        if targets[pick].min() == targets[pick].max():
            continue
        pa = average_precision_score(targets[pick], a[pick])
        pb = average_precision_score(targets[pick], b[pick])
        draws.append((pa, pb, pa - pb))
    values = np.asarray(draws)

    def interval(column: int) -> list[float]:
        low, high = np.percentile(values[:, column], [2.5, 97.5])
        return [round(float(low), 4), round(float(high), 4)]

    return {"model": interval(0), "baseline": interval(1), "difference": interval(2)}


def compare(
    named: dict[str, Scored], strata: Sequence[str] | None = None, random_prefix: str = "random"
) -> dict:
    """Metrics of each scoring, overall, per stratum, and over the random strata pooled."""
    report = {"all": {name: metrics(s.scores, s.gold, s.threshold) for name, s in named.items()}}
    if strata is None:
        return report
    labels = np.asarray(strata)
    groups = {name: labels == name for name in sorted(set(strata))}
    random_strata = [name for name in groups if name.startswith(random_prefix)]
    if len(random_strata) > 1:
        groups[f"{random_prefix} strata pooled"] = np.isin(labels, random_strata)
    for group, where in groups.items():
        report[group] = {
            name: metrics(s.scores[where], s.gold[where], s.threshold) for name, s in named.items()
        }
    return report


# --- the whole evaluation --------------------------------------------------------------------
def _strata(annotations_dir: Path, kind: str) -> dict[str, str]:
    manifest = read_manifest(annotations_dir / KINDS[kind].manifest_file)
    return {item.unit_id: item.stratum for item in manifest}


def _pair_section(scorer: OnnxScorer, dev: list[Row], test: list[Row], annotations_dir: Path):
    dev_pairs = annotated_pairs(dev, annotations_dir)
    test_pairs = annotated_pairs(test, annotations_dir)
    if not test_pairs:
        raise CoruminationEvalError(
            "no annotated corumination pairs in the prepared test split; run `triage data "
            "prepare` with the annotations folder (it keeps the row ids the labels refer to)"
        )
    test_levels = [level for _, level in test_pairs]
    model, baseline = score_pairs(scorer, test_pairs)
    baseline_threshold = 0.5
    if dev_pairs and 0 < gold([lv for _, lv in dev_pairs]).sum() < len(dev_pairs):
        _, dev_baseline = score_pairs(scorer, dev_pairs)
        baseline_threshold = threshold_max_f1(dev_baseline, gold([lv for _, lv in dev_pairs]))
    strata_by_id = _strata(annotations_dir, "pairs")
    strata = [strata_by_id.get(row.id, "unknown") for row, _ in test_pairs]
    model_threshold = scorer.bundle.thresholds[CORUMINATION]
    targets = gold(test_levels)
    named = {
        "pair_model": Scored(model, targets, model_threshold),
        "baseline_negative_overlap": Scored(baseline, targets, baseline_threshold),
    }
    strong = gold(test_levels, strong_only=True)
    return {
        "levels": dict(Counter(test_levels)),
        "dev_pairs": len(dev_pairs),
        "metrics": compare(named, strata),
        "strong_only": compare(
            {
                "pair_model": Scored(model, strong, model_threshold),
                "baseline_negative_overlap": Scored(baseline, strong, baseline_threshold),
            }
        )["all"],
        "bootstrap_pr_auc": bootstrap_pr_auc(model, baseline, targets),
        "thresholds": {"pair_model": model_threshold, "baseline": baseline_threshold},
    }


def _thread_section(
    scorer: OnnxScorer, rows_by_split: dict[str, list[Row]], annotations_dir: Path, thresholds
) -> dict:
    labels = {k: r.label for k, r in load_labels(annotations_dir, "threads").items()}
    manifest = read_manifest(annotations_dir / KINDS["threads"].manifest_file)
    report: dict = {}
    for name, splits in (("test", ("test",)), ("dev_and_test", ("dev", "test"))):
        strata = {i.unit_id: i.stratum for i in manifest if i.split in splits}
        rows = [row for split in splits for row in rows_by_split[split]]
        results, missing = score_threads(scorer, rows, labels, strata)
        report[name] = _thread_metrics(results, missing, thresholds, with_strata=name == "test")
    return report


def _thread_metrics(results: list[ThreadResult], missing: list[str], thresholds, with_strata):
    if not results:
        return {"threads": 0, "missing": len(missing)}
    targets = gold([r.level for r in results])
    model_threshold, baseline_threshold = thresholds["pair_model"], thresholds["baseline"]
    named = {
        "thread_score": Scored(np.array([r.score for r in results]), targets, model_threshold),
        "pair_max_only": Scored(np.array([r.pair_max for r in results]), targets, model_threshold),
        "baseline_negative_overlap": Scored(
            np.array([r.baseline for r in results]), targets, baseline_threshold
        ),
    }
    strata = [r.stratum for r in results] if with_strata else None
    return {
        "threads": len(results),
        "missing": len(missing),
        "levels": dict(Counter(r.level for r in results)),
        "posts_median": float(np.median([r.posts for r in results])),
        "metrics": compare(named, strata),
        "bootstrap_pr_auc": bootstrap_pr_auc(
            named["thread_score"].scores, named["baseline_negative_overlap"].scores, targets
        ),
    }


def evaluate_corumination(
    bundle_dir: Path,
    data_dir: Path,
    annotations_dir: Path,
    out_dir: Path,
    config_dir: Path = DEFAULT_CONFIG_DIR,
) -> dict:
    """Score the annotated test pairs and threads; write corumination.json and CORUMINATION.md."""
    from triage.training.evaluation.corumination_report import markdown_report

    bundle = load_bundle(bundle_dir)
    if CORUMINATION not in bundle.trained_labels:
        raise CoruminationEvalError(
            f"bundle {bundle_dir} ({bundle.name} {bundle.version}) has no trained corumination "
            "head: train with the annotated pairs (`triage data prepare` attaches them) and "
            "re-export, then evaluate again"
        )
    scorer = OnnxScorer(bundle, TierRules.load(config_dir / "tiers.yaml"), evidence=False)
    rows = {split: load_split(data_dir, split) for split in ("dev", "test")}
    pairs = _pair_section(scorer, rows["dev"], rows["test"], annotations_dir)
    report = {
        "bundle": {"name": bundle.name, "version": bundle.version},
        "data": str(data_dir),
        "pairs": pairs,
        "threads": _thread_section(scorer, rows, annotations_dir, pairs["thresholds"]),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "corumination.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "CORUMINATION.md").write_text(markdown_report(report))
    return report
