"""`triage evaluate`: a bundle's test-split report next to the TF-IDF + LR baseline.

Writes evaluation.json, EVALUATION.md and one reliability diagram per label (PNG) to the output
folder. The same `compare` produces the metrics that `triage export` puts in bundle.json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from triage.domain.labels import LABELS
from triage.domain.tier_rules import TierRules
from triage.paths import DEFAULT_CONFIG_DIR
from triage.scoring.bundle import load_bundle
from triage.scoring.scorer import OnnxScorer
from triage.training.data.prepare import load_split
from triage.training.data.rows import Row
from triage.training.evaluation.baseline import TfidfBaseline
from triage.training.evaluation.tables import metrics_table, source_table, tier_section
from triage.training.evaluation.tier_eval import tier_report
from triage.training.fit.calibrate import ThresholdPolicy, choose_threshold, known_both_classes
from triage.training.fit.label_metrics import all_label_metrics
from triage.training.fit.tensor_batches import label_matrix

Scored = tuple[np.ndarray, Mapping[str, float]]  # probabilities (n, labels), thresholds


def scorer_probabilities(scorer: OnnxScorer, rows: Sequence[Row], chunk: int = 64) -> np.ndarray:
    parts = []
    for start in tqdm(range(0, len(rows), chunk), desc="scoring test (int8 ONNX)", leave=False):
        part = rows[start : start + chunk]
        parts.append(scorer.probabilities([r.text for r in part], [r.parent_text for r in part]))
    return np.concatenate(parts)


def baseline_probabilities(splits, policy: ThresholdPolicy) -> Scored:
    """TF-IDF + LR fitted on train, thresholds by the same policy on dev; test probabilities."""
    train_rows, dev_rows, test_rows = splits
    baseline = TfidfBaseline().fit(list(train_rows))
    dev_targets, dev_mask = label_matrix(dev_rows)
    dev_probs = baseline.predict(list(dev_rows))
    thresholds = {}
    for j, label in enumerate(LABELS):
        known = known_both_classes(dev_targets, dev_mask, j)
        if known is not None and label in baseline.models:
            thresholds[label] = choose_threshold(
                label, dev_probs[known, j], dev_targets[known, j], policy
            )
    return baseline.predict(list(test_rows)), thresholds


def compare(rows: Sequence[Row], models: Mapping[str, Scored], trained: Sequence[str]) -> dict:
    """Metrics of each model over all rows and over each source's rows, for trained labels."""
    targets, mask = label_matrix(rows)
    sources = np.array([row.source for row in rows])

    def report(probs: np.ndarray, cuts: Mapping[str, float], where=slice(None)) -> dict:
        full = all_label_metrics(np.nan_to_num(probs[where]), targets[where], mask[where], cuts)
        return {k: v for k, v in full.items() if k in trained}

    result: dict = {"split": "test"}
    result.update({name: report(p, cuts) for name, (p, cuts) in models.items()})
    result["by_source"] = {
        source: {name: report(p, cuts, sources == source) for name, (p, cuts) in models.items()}
        for source in sorted(set(sources))
    }
    return result


def reliability_diagram(probs: np.ndarray, targets: np.ndarray, label: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(probs, edges[1:-1]), 0, 9)
    mean_score = [probs[which == b].mean() for b in range(10) if (which == b).any()]
    observed = [targets[which == b].mean() for b in range(10) if (which == b).any()]
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.plot(mean_score, observed, marker="o", label="int8 bundle")
    ax.set(
        xlabel="mean score in bin",
        ylabel="observed positive rate",
        title=label,
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown_report(bundle_name: str, version: str, metrics: dict, plots: list[str]) -> str:
    images = "\n".join(f"![reliability {name}]({name})" for name in plots)
    return (
        f"# Evaluation: {bundle_name} {version} (test split)\n\n"
        f"{metrics_table(metrics)}\n\nPer source:\n\n{source_table(metrics)}\n\n"
        f"## Risk tiers (annotated test posts)\n\n{tier_section(metrics.get('tiers'))}\n"
        f"## Reliability diagrams\n\n{images}\n"
    )


def evaluate_bundle(
    bundle_dir: Path, data_dir: Path, out_dir: Path, config_dir: Path = DEFAULT_CONFIG_DIR
) -> dict:
    bundle = load_bundle(bundle_dir)
    rules = TierRules.load(config_dir / "tiers.yaml")
    scorer = OnnxScorer(bundle, rules, evidence=False)
    splits = tuple(load_split(data_dir, s) for s in ("train", "dev", "test"))
    policy = ThresholdPolicy.load(config_dir / "thresholds.yaml")
    test_rows = splits[2]
    int8 = scorer_probabilities(scorer, test_rows)
    metrics = compare(
        test_rows,
        {
            "int8_onnx": (int8, bundle.thresholds),
            "tfidf_lr_baseline": baseline_probabilities(splits, policy),
        },
        trained=bundle.trained_labels,
    )
    metrics["tiers"] = tier_report(scorer, test_rows, rules)
    out_dir.mkdir(parents=True, exist_ok=True)
    targets, mask = label_matrix(test_rows)
    plots = []
    for j, label in enumerate(LABELS):
        known = known_both_classes(targets, mask, j)
        if label in bundle.trained_labels and known is not None:
            name = f"reliability_{label}.png"
            reliability_diagram(int8[known, j], targets[known, j], label, out_dir / name)
            plots.append(name)
    (out_dir / "evaluation.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out_dir / "EVALUATION.md").write_text(
        markdown_report(bundle.name, bundle.version, metrics, plots)
    )
    return metrics
