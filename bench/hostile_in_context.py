"""The shipped bundles' hostile head against the project's own reading of replies in context.

    .venv/bin/python bench/hostile_in_context.py [--bundles models/triage-minilm,models/...]
        [--data data/prepared] [--annotations annotations] [--bootstrap 1000]

Issue 13 says the hostile head "learnt tweet profanity, not attacks on a person in the
conversation". annotations/hostile_pairs.csv is the project's answer key: 600 real (parent,
reply) pairs read together under docs/annotation/hostile_in_context.md. This scores the pass-1
labels (skips left out) with the serving scorer (OnnxScorer, Settings().tier_rules, the reply
with its parent_text, evidence off) and prints, for the test split, the dev split and for all
splits together:
ROC-AUC (with a bootstrap 95% interval) and PR-AUC of the hostile score against the
annotation, precision / recall / F1 of the served hostile flag (the bundle's own threshold),
all pairs and by parent kind (the manifest's vulnerable_* strata answer a vulnerable parent).
It also prints how well each source dataset's own hostile label agrees with the annotation
(ROC-AUC of the 0/1 label, i.e. balanced accuracy), where the prepared row still has it.

Only the test split is unseen: train and dev rows' SOURCE labels were trained on (train, up
to the per-source caps) or chose the checkpoint and threshold (dev) for any bundle whose
training data held that source (1.0.0: diasafety, counter-context, cat-wiki-context and
replies-to-hate; reddit-counterspeech-attacks is evaluation-only, all test; the 0.5.0 student
had none of them). Since 1.1.0 annotated train pairs train with their annotated label (1.1.0 and
1.2.0: the 126 of 338 the per-source caps kept), so for those bundles "all splits" holds rows
they learnt; dev pairs only choose a checkpoint and the threshold, and the test pairs are unseen.
The sample is
stratified, enriched in profane, dismissive and taunting replies and in vulnerable parents, so
the figures describe these strata, not a community's base rates. The pair texts come from
`triage data prepare --out data/prepared-annotation`, which the sample was drawn from, and
`make data` (data/prepared, the default here) is the same command on the same datasets, so it
holds the same pairs (2026-12-08: the same 597 pairs and the same figures for 1.1.1); the
source-label table also shows each bundle's ROC-AUC on the same rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path = [
    p for p in sys.path if not p.endswith("bench")
]  # bench/queue_views.py is not stdlib queue

from triage.domain.labels import HOSTILE, HOSTILE_IN_CONTEXT
from triage.paths import DEFAULT_ANNOTATIONS, DEFAULT_PREPARED, PROJECT_ROOT
from triage.scoring.bundle import load_bundle
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.settings import Settings
from triage.training.data.rows import SPLITS, Row

DEFAULT_DATA = DEFAULT_PREPARED
DEFAULT_BUNDLES = ",".join(
    str(PROJECT_ROOT / "models" / name) for name in ("triage-minilm", "triage-minilm-l3")
)
VULNERABLE_PREFIX = "vulnerable_"


@dataclass(frozen=True)
class Pair:
    """One annotated reply: the row as prepared, the annotation, and where it was drawn."""

    row: Row
    hostile: int  # the annotation: 1 hostile, 0 not_hostile
    vulnerable_parent: bool
    source_label: int | None  # the source dataset's hostile label; None where it has none


def read_annotations(annotations_dir: Path) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    """Pass-1 labels by row id (skips left out), and the manifest's entry by row id."""
    with (annotations_dir / "hostile_pairs.csv").open(encoding="utf-8") as handle:
        labels = {
            r["id"]: HOSTILE_IN_CONTEXT.index(r["hostile"])
            for r in csv.DictReader(handle)
            if r["pass"] == "1" and r["hostile"] != "skip"
        }
    with (annotations_dir / "manifest_hostile_pairs.csv").open(encoding="utf-8") as handle:
        manifest = {r["unit_id"]: r for r in csv.DictReader(handle)}
    return labels, manifest


def read_rows(data_dir: Path, ids: set[str]) -> dict[str, Row]:
    """The prepared rows with these ids (only those are parsed into Rows: train is 60 MB)."""
    rows = {}
    for split in SPLITS:
        with (data_dir / f"{split}.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                data = json.loads(line) if line.strip() else None
                if data and data["id"] in ids:
                    rows[data["id"]] = Row.from_json(data)
    return rows


def source_label(row: Row) -> int | None:
    """The source's own label; gone where `prepare` replaced it with a hostile annotation."""
    if row.annotation is not None and row.annotation.hostile is not None:
        return None
    return row.labels[HOSTILE]


def load_pairs(data_dir: Path, annotations_dir: Path) -> list[Pair]:
    labels, manifest = read_annotations(annotations_dir)
    rows = read_rows(data_dir, set(labels))
    missing = sorted(set(labels) - set(rows))
    if missing:
        raise SystemExit(f"{len(missing)} annotated ids not in {data_dir}, e.g. {missing[:3]}")
    moved = [i for i in labels if rows[i].split != manifest[i]["split"]]
    if moved:
        raise SystemExit(f"{len(moved)} rows changed split since the sample, e.g. {moved[:3]}")
    return [
        Pair(
            rows[i],
            label,
            manifest[i]["stratum"].startswith(VULNERABLE_PREFIX),
            source_label(rows[i]),
        )
        for i, label in labels.items()
    ]


def bootstrap_roc_auc(
    targets: np.ndarray, scores: np.ndarray, rounds: int, seed: int = 0
) -> tuple[float, float] | None:
    """A percentile 95% interval, resampling pairs (small strata: read the width, not only
    the point)."""
    from sklearn.metrics import roc_auc_score

    if rounds <= 0:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        pick = rng.integers(0, len(targets), len(targets))
        if 0 < targets[pick].sum() < len(pick):
            values.append(roc_auc_score(targets[pick], scores[pick]))
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def figures_row(
    name: str, targets: np.ndarray, scores: np.ndarray, flagged: np.ndarray, rounds: int
) -> str:
    from sklearn.metrics import average_precision_score, roc_auc_score

    positives = int(targets.sum())
    both = 0 < positives < len(targets)
    auc, ap, interval = "-", "-", ""
    if both:
        auc = f"{roc_auc_score(targets, scores):.3f}"
        ap = f"{average_precision_score(targets, scores):.3f}"
        bounds = bootstrap_roc_auc(targets, scores, rounds)
        interval = f" ({bounds[0]:.2f}-{bounds[1]:.2f})" if bounds else ""
    tp = int((flagged & (targets == 1)).sum())
    precision = tp / flagged.sum() if flagged.sum() else float("nan")
    recall = tp / positives if positives else float("nan")
    f1 = 2 * tp / (flagged.sum() + positives) if flagged.sum() + positives else float("nan")
    return (
        f"| {name} | {len(targets)} | {positives} | {auc}{interval} | {ap} | "
        f"{int(flagged.sum())} | {precision:.3f} | {recall:.3f} | {f1:.3f} |"
    )


def scopes(pairs: list[Pair]) -> list[tuple[str, np.ndarray]]:
    """(name, mask over pairs): test, dev and all splits, each all / vulnerable / other."""
    test = np.array([p.row.split == "test" for p in pairs])
    dev = np.array([p.row.split == "dev" for p in pairs])
    vulnerable = np.array([p.vulnerable_parent for p in pairs])
    everything = np.ones(len(pairs), dtype=bool)
    return [
        (f"{scope}, {parent}", where & kind)
        for scope, where in (("test", test), ("dev", dev), ("all splits", everything))
        for parent, kind in (
            ("all parents", everything),
            ("vulnerable parent", vulnerable),
            ("other parent", ~vulnerable),
        )
    ]


def score_bundle(
    bundle_dir: Path, pairs: list[Pair], settings: Settings, rounds: int
) -> tuple[str, np.ndarray]:
    """Print the bundle's figures; return its name and hostile scores (for the source table)."""
    bundle = load_bundle(bundle_dir)
    scorer = OnnxScorer(
        bundle, settings.tier_rules, evidence=False, resource_guard=settings.resource_guard
    )
    results = scorer.score([ScoreInput(p.row.id, p.row.text, p.row.parent_text) for p in pairs])
    scores = np.array([r.scores[HOSTILE] for r in results], dtype=float)
    flagged = np.array([HOSTILE in r.flags for r in results])
    targets = np.array([p.hostile for p in pairs])
    print(
        f"\n{bundle.name} {bundle.version}: hostile score against the annotation "
        f"(flag at {bundle.thresholds[HOSTILE]})\n"
    )
    print("| pairs | n | hostile | ROC-AUC (95% CI) | PR-AUC | flagged | P | R | F1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, mask in scopes(pairs):
        print(figures_row(name, targets[mask], scores[mask], flagged[mask], rounds))
    return f"{bundle.name} {bundle.version}", scores


def source_agreement(pairs: list[Pair], bundle_scores: dict[str, np.ndarray]) -> None:
    """The public datasets' own hostile labels read against the annotation, beside each
    bundle's score on the same rows (the rows whose source label is known)."""
    from sklearn.metrics import roc_auc_score

    print(
        "\nSource datasets' own hostile label against the annotation (ROC-AUC of a 0/1 label), "
        "and each bundle's ROC-AUC on the same rows\n"
    )
    names = list(bundle_scores)
    print(
        "| pairs | with a source label | source hostile | annotated hostile | both | "
        "source P / R | source ROC-AUC | " + " | ".join(names) + " |"
    )
    print("|---" * (7 + len(names)) + "|")
    known = np.array([p.source_label is not None for p in pairs])
    labels = np.array([-1 if p.source_label is None else p.source_label for p in pairs])
    targets = np.array([p.hostile for p in pairs])
    for name, mask in scopes(pairs):
        mask = mask & known
        both = 0 < targets[mask].sum() < mask.sum()
        aucs = [
            f"{roc_auc_score(targets[mask], values[mask]):.3f}" if both else "-"
            for values in (labels, *bundle_scores.values())
        ]
        called, hostile = int(labels[mask].sum()), int(targets[mask].sum())
        agreed = int(((labels == 1) & (targets == 1))[mask].sum())
        precision = f"{agreed / called:.2f}" if called else "-"
        recall = f"{agreed / hostile:.2f}" if hostile else "-"
        print(
            f"| {name} | {int(mask.sum())} | {called} | {hostile} | {agreed} | "
            f"{precision} / {recall} | " + " | ".join(aucs) + " |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--bundles", default=DEFAULT_BUNDLES, help="comma-separated folders")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--annotations", type=Path, default=DEFAULT_ANNOTATIONS)
    parser.add_argument("--bootstrap", type=int, default=1000, help="0: no ROC-AUC interval")
    args = parser.parse_args()

    pairs = load_pairs(args.data, args.annotations)
    by_split = {s: sum(p.row.split == s for p in pairs) for s in SPLITS}
    print(
        f"{len(pairs)} pass-1 pairs (skips left out) from {args.data}: {by_split}; "
        f"{sum(p.vulnerable_parent for p in pairs)} with a vulnerable parent, "
        f"{sum(p.hostile for p in pairs)} annotated hostile."
    )
    print(
        "Only the test split is unseen: train/dev rows' SOURCE labels were trained on (or chose "
        "the checkpoint) wherever a bundle's training data held that source."
    )
    settings = Settings()
    bundle_scores = dict(
        score_bundle(Path(bundle_dir), pairs, settings, args.bootstrap)
        for bundle_dir in args.bundles.split(",")
    )
    source_agreement(pairs, bundle_scores)


if __name__ == "__main__":
    main()
