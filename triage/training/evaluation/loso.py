"""`triage evaluate-loso`: leave-one-source-out figures for frozen features + logistic regression.

The test split says how a model does on the platforms it was trained on; a community that adopts
it is another platform. For each label and each source carrying that label (both classes, at
least MIN_PER_CLASS of each), a class-balanced logistic regression is trained on the train rows of
every OTHER source carrying the label and scored on the held-out source: its test rows, or all its
rows when its test rows lack a class. Next to it, the in-domain figure: the same head trained on
all those sources' train rows (the held-out one included) and scored on the same test rows.

Features are frozen (no fine-tuning): TF-IDF and sentence embeddings of a reply with its parent,
cached on disk (triage/training/fit/frozen_features.py, shared with the feature teacher).
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triage.domain.labels import HOSTILE, SPAM
from triage.paths import DEFAULT_LOSO_CACHE
from triage.training.data.rows import Row
from triage.training.fit.frozen_features import ConcatFeatures, EmbeddingFeatures, Featurizer

log = logging.getLogger(__name__)

MIN_PER_CLASS = 10  # a source "carries" a label with at least this many positives and negatives
KEEP_MARKER = "<!-- hand-written notes below this line are kept when the report is regenerated -->"


# ---------------------------------------------------------------- rows and folds


@dataclass(frozen=True)
class LosoConfig:
    data_dir: Path
    labels: tuple[str, ...] = (HOSTILE, SPAM)
    features: tuple[str, ...] = ("tfidf", "minilm", "use")
    max_rows_per_source: int = 3000
    cache_dir: Path = DEFAULT_LOSO_CACHE
    seed: int = 13


@dataclass
class SourceRows:
    """One source's rows for one label: sampled train rows and the rows it is evaluated on."""

    source: str
    train: list[Row]
    evaluation: list[Row]
    eval_on: str  # "test split" or "all rows" (its test split lacks a class)


def has_label(row: Row, label: str) -> bool:
    return row.labels.get(label) is not None


def class_counts(rows: Iterable[Row], label: str) -> tuple[int, int]:
    """(positives, negatives) among rows where `label` is known."""
    values = [row.labels[label] for row in rows if has_label(row, label)]
    positives = sum(1 for v in values if v == 1)
    return positives, len(values) - positives


def sample_rows(rows: Sequence[Row], limit: int, seed: int, key: str) -> list[Row]:
    """At most `limit` rows, the same ones for the same (rows, seed, key) in any file order.

    Samples are nested (a smaller limit takes a subset of a larger one's rows), so runs at
    different sizes share the embedding cache.
    """
    ordered = sorted(rows, key=lambda r: r.id)
    if len(ordered) <= limit:
        return ordered
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    picked = np.sort(rng.permutation(len(ordered))[:limit])
    return [ordered[i] for i in picked]


def carrying_sources(rows: Iterable[Row], label: str) -> list[str]:
    """Sources with at least MIN_PER_CLASS positives and negatives for `label` (all splits).
    Synthetic rows are no platform: they are neither held out nor trained on here."""
    by_source: dict[str, list[Row]] = {}
    for row in rows:
        if has_label(row, label) and not row.synthetic:
            by_source.setdefault(row.source, []).append(row)
    return sorted(
        source
        for source, known in by_source.items()
        if min(class_counts(known, label)) >= MIN_PER_CLASS
    )


def source_rows(rows: Sequence[Row], label: str, source: str, limit: int, seed: int) -> SourceRows:
    known = [r for r in rows if r.source == source and has_label(r, label)]
    train = [r for r in known if r.split == "train"]
    test = [r for r in known if r.split == "test"]
    eval_on, evaluation = "test split", test
    if min(class_counts(test, label)) == 0:
        eval_on, evaluation = "all rows", known
    return SourceRows(
        source=source,
        train=sample_rows(train, limit, seed, f"train:{label}:{source}"),
        evaluation=sample_rows(evaluation, limit, seed, f"eval:{label}:{source}"),
        eval_on=eval_on,
    )


# ---------------------------------------------------------------- fitting and scoring


def targets(rows: Sequence[Row], label: str) -> np.ndarray:
    return np.array([row.labels[label] for row in rows], dtype=int)


def fit_and_score(
    featurizer: Featurizer, label: str, train: Sequence[Row], evaluation: Sequence[Row]
) -> dict[str, float] | None:
    """ROC-AUC and PR-AUC of a class-balanced LR head; None when train or eval lacks a class."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, roc_auc_score

    y_train, y_eval = targets(train, label), targets(evaluation, label)
    if len(set(y_train)) < 2 or len(set(y_eval)) < 2:
        return None
    model = LogisticRegression(max_iter=2000, C=featurizer.regularisation, class_weight="balanced")
    model.fit(featurizer.fit_transform(train), y_train)
    scores = model.predict_proba(featurizer.transform(evaluation))[:, 1]
    return {
        "roc_auc": float(roc_auc_score(y_eval, scores)),
        "pr_auc": float(average_precision_score(y_eval, scores)),
    }


def label_report(
    label: str, pools: Sequence[SourceRows], featurizers: Mapping[str, Featurizer]
) -> dict:
    """In-domain and held-out figures of every feature set, per source, for one label."""
    all_train = [row for pool in pools for row in pool.train]
    report: dict = {"sources": {}}
    for pool in pools:
        positives, negatives = class_counts(pool.evaluation, label)
        others = [row for other in pools if other is not pool for row in other.train]
        entry: dict = {
            "eval_on": pool.eval_on,
            "positives": positives,
            "negatives": negatives,
            "train_rows_in_domain": len(all_train),
            "train_rows_held_out": len(others),
            "own_train_rows": len(pool.train),
            "in_domain": {},
            "held_out": {},
        }
        for name, featurizer in featurizers.items():
            started = time.perf_counter()
            if pool.eval_on == "test split":  # all rows would include rows it was trained on
                entry["in_domain"][name] = fit_and_score(
                    featurizer, label, all_train, pool.evaluation
                )
            entry["held_out"][name] = fit_and_score(featurizer, label, others, pool.evaluation)
            seconds = time.perf_counter() - started
            log.info("%s / %s / %s: fitted in %.1f s", label, pool.source, name, seconds)
        report["sources"][pool.source] = entry
    return report


def run_loso(
    rows: Sequence[Row], config: LosoConfig, featurizers: Mapping[str, Featurizer]
) -> dict:
    """The full report (JSON-able): per label, per held-out source, per feature set."""
    report: dict = {
        "labels": {},
        "features": list(featurizers),
        "max_rows_per_source": config.max_rows_per_source,
        "seed": config.seed,
        "min_per_class": MIN_PER_CLASS,
    }
    pools_by_label = {
        label: [
            source_rows(rows, label, source, config.max_rows_per_source, config.seed)
            for source in carrying_sources(rows, label)
        ]
        for label in config.labels
    }
    needed = {
        row.id: row
        for pools in pools_by_label.values()
        for pool in pools
        for row in pool.train + pool.evaluation
    }
    for featurizer in featurizers.values():
        if isinstance(featurizer, EmbeddingFeatures | ConcatFeatures):
            featurizer.precompute(list(needed.values()))
    for label, pools in pools_by_label.items():
        if len(pools) < 2:
            log.warning("%s: fewer than two sources carry it; no held-out figures", label)
        report["labels"][label] = label_report(label, pools, featurizers)
    return report


# ---------------------------------------------------------------- the report


def _auc(result: dict | None, metric: str) -> str:
    return "—" if not result else f"{result[metric]:.3f}"


def label_table(entry: dict, features: Sequence[str]) -> str:
    head = (
        ["held-out source", "evaluated on", "pos / neg"]
        + [f"in-domain ROC {f}" for f in features]
        + [f"held-out ROC {f}" for f in features]
        + [f"held-out PR-AUC {f}" for f in features]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for source, figures in entry["sources"].items():
        note = "" if figures["own_train_rows"] else " (no train rows)"
        counts = f"{figures['positives']} / {figures['negatives']}"
        cells = [source + note, figures["eval_on"], counts]
        cells += [_auc(figures["in_domain"].get(f), "roc_auc") for f in features]
        cells += [_auc(figures["held_out"].get(f), "roc_auc") for f in features]
        cells += [_auc(figures["held_out"].get(f), "pr_auc") for f in features]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mean_figures(entry: dict, features: Sequence[str]) -> str:
    """Mean held-out ROC-AUC per feature set over the sources every feature set scored."""
    scored = [
        figures
        for figures in entry["sources"].values()
        if all(figures["held_out"].get(f) for f in features)
    ]
    if not scored:
        return "No source was scored by every feature set."
    means = ", ".join(
        f"{f} {np.mean([s['held_out'][f]['roc_auc'] for s in scored]):.3f}" for f in features
    )
    return f"Mean held-out ROC-AUC over {len(scored)} sources: {means}."


def markdown_report(report: dict, command: str) -> str:
    features = report["features"]
    parts = [
        "# Leave-one-source-out evaluation (frozen features + logistic regression)\n",
        "Generated by `triage evaluate-loso` (triage/training/evaluation/loso.py). For each "
        "label and "
        "each "
        f"source carrying it (at least {report['min_per_class']} positives and negatives), a "
        "class-balanced logistic regression is trained on the train rows of every other source "
        "carrying the label and scored on the held-out source (held-out columns); the in-domain "
        "columns train on all those sources' train rows, the held-out one included. A source is "
        "evaluated on its test split, or on all its rows when its test split lacks a class (no "
        "in-domain figure then: it would score rows it was trained on). Replies are read with "
        "their parent: embeddings [reply, parent, reply*parent], TF-IDF a prefixed parent field. "
        "— : not computed (a class missing, or not run).\n",
        f"Command: `{command}`\n",
        f"Sizes: at most {report['max_rows_per_source']} train rows and "
        f"{report['max_rows_per_source']} evaluation rows per source, sampled with seed "
        f"{report['seed']}.\n",
    ]
    for label, entry in report["labels"].items():
        parts.append(f"## {label}\n")
        if not entry["sources"]:
            parts.append("No source carries this label with both classes.\n")
            continue
        parts.append(label_table(entry, features) + "\n")
        parts.append(mean_figures(entry, features) + "\n")
    parts.append(KEEP_MARKER + "\n")
    return "\n".join(parts)


def kept_notes(path: Path) -> str:
    """What follows KEEP_MARKER in an earlier report (the hand-written reading), if any."""
    if not path.exists():
        return ""
    _, marker, tail = path.read_text(encoding="utf-8").partition(KEEP_MARKER)
    return tail.lstrip("\n") if marker else ""


def write_report(report: dict, out: Path, command: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    notes = kept_notes(out)
    out.write_text(markdown_report(report, command) + notes, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def load_rows(data_dir: Path) -> list[Row]:
    from triage.training.data.prepare import load_split

    return [row for split in ("train", "dev", "test") for row in load_split(data_dir, split)]
