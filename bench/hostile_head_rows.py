"""Which training rows teach a hostile head to read attacks in context (frozen features).

    .venv/bin/python bench/hostile_head_rows.py [--cache data/features-hostile] [--cap 1500]

The fine-tuned hostile output learnt profanity (issue 13: hostile replies vs supportive replies
that swear, casebook ROC-AUC 0.547 for 1.1.0), although 1.1.0 trained on ~400 written hostile
and supportive-swearing replies and 338 annotated reply pairs. Its hostile rows are mostly tweets
and news comments with no parent (OLID, Davidson, UCC) where swearing and offence go together.

This measures, without fine-tuning, what the choice of rows does to a hostile head. Features are
the frozen MiniLM+USE pair features ([reply, parent, reply*parent] per encoder, as in
leave-one-source-out and the feature teacher); a logistic regression (C chosen per recipe on the
annotated dev pairs' PR-AUC) is fitted on each recipe's train rows:

- all: every train row with a hostile label (at most --cap per source), synthetic rows included
- context: only rows read with a parent (reply pairs) and synthetic rows
- reweighted: all rows, with replies-with-parent and synthetic rows weighted up so that they
  carry as much total weight as the rows without a parent

and scored on dev only: the project's annotated dev pairs (hostile read in context,
docs/annotation/hostile_in_context.md), each in-context source's dev rows, the rows without a
parent. No test split and no casebook row is read.

--written-contrast adds one question the dev split cannot answer (it has almost no supportive
replies that swear): do the frozen features separate the written hostile replies from the written
supportive replies that swear (synthetic/ categories hostile_reply and supportive_swearing, train
rows) (a) when the head never saw a written row of either kind, and (b) when it saw the others,
in five folds grouped by parent, so a parent answered both ways sits in one fold. The fine-tuned
models train on all of them, so only the frozen head can be asked this without the casebook.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import GroupKFold

from triage.domain.labels import HOSTILE
from triage.paths import DEFAULT_PREPARED, PROJECT_ROOT
from triage.training.data.prepare import load_split
from triage.training.data.rows import Row
from triage.training.fit.frozen_features import make_featurizers

C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
RECIPES = ("all", "context", "reweighted")
SYNTHETIC_ROWS = PROJECT_ROOT / "synthetic" / "training_rows.jsonl"
WRITTEN_CONTRAST = ("hostile_reply", "supportive_swearing")


def labelled(rows: Sequence[Row]) -> list[Row]:
    return [r for r in rows if r.labels[HOSTILE] is not None]


def capped(rows: Sequence[Row], cap: int, seed: int) -> list[Row]:
    by_source: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_source[row.source].append(row)
    kept: list[Row] = []
    for source in sorted(by_source):
        group = by_source[source]
        if not group[0].synthetic and len(group) > cap:
            group = random.Random(f"{seed}:{source}").sample(group, cap)
        kept += group
    return kept


def in_context(row: Row) -> bool:
    return row.synthetic or row.parent_text is not None


def recipe_rows(rows: Sequence[Row], recipe: str) -> tuple[list[Row], np.ndarray]:
    if recipe == "all":
        return list(rows), np.ones(len(rows))
    if recipe == "context":
        kept = [r for r in rows if in_context(r)]
        return kept, np.ones(len(kept))
    context = np.array([in_context(r) for r in rows])
    weights = np.where(context, (~context).sum() / max(context.sum(), 1), 1.0)
    return list(rows), weights


def dev_groups(dev: Sequence[Row]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(dev):
        if row.annotation is not None and row.annotation.hostile:
            groups["annotated dev pairs"].append(i)
        if row.parent_text is not None:
            groups[f"{row.source} (with parent)"].append(i)
        else:
            groups["rows without a parent"].append(i)
        groups["all dev rows"].append(i)
    return dict(groups)


def scores(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    if len(set(y.tolist())) < 2:
        return float("nan"), float("nan")
    return roc_auc_score(y, p), average_precision_score(y, p)


def written_contrast_ids(path: Path = SYNTHETIC_ROWS) -> set[str]:
    """Prepared ids of the written rows of the two categories whose contrast the casebook tests."""
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return {f"synthetic:{r['id']}" for r in rows if r["category"] in WRITTEN_CONTRAST}


def written_contrast(train: Sequence[Row], x_train: np.ndarray, c: float) -> None:
    """ROC-AUC of a frozen "all"-recipe head on the written contrast rows, never seen and 5-fold."""
    ids = written_contrast_ids()
    written = np.array([r.id in ids for r in train])
    y = np.array([r.labels[HOSTILE] for r in train])
    rest = np.flatnonzero(~written)
    held = np.flatnonzero(written)
    print(f"\nwritten contrast: {len(held)} train rows ({int(y[held].sum())} hostile), C={c}")

    model = LogisticRegression(C=c, max_iter=2000).fit(x_train[rest], y[rest])
    never = model.predict_proba(x_train[held])[:, 1]
    print(
        "(a) head never saw a written row of either kind: ROC-AUC {:.3f}, PR-AUC {:.3f}".format(
            *scores(y[held], never)
        )
    )

    folds = np.zeros(len(held))
    groups = [train[i].parent_text or train[i].id for i in held]
    for seen, unseen in GroupKFold(n_splits=5).split(held, groups=groups):
        fit = np.concatenate([rest, held[seen]])
        model = LogisticRegression(C=c, max_iter=2000).fit(x_train[fit], y[fit])
        folds[unseen] = model.predict_proba(x_train[held[unseen]])[:, 1]
    print(
        "(b) 5 folds by parent, the other written rows seen: ROC-AUC {:.3f}, PR-AUC {:.3f}".format(
            *scores(y[held], folds)
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_PREPARED)
    parser.add_argument("--cache", type=Path, default=Path("data/features-hostile"))
    parser.add_argument("--cap", type=int, default=1500, help="train rows per source")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--written-contrast",
        action="store_true",
        help="also score the written hostile / supportive-swearing rows (see above)",
    )
    args = parser.parse_args()

    train = capped(labelled(load_split(args.data, "train")), args.cap, args.seed)
    dev = labelled(load_split(args.data, "dev"))
    featurizer = make_featurizers(["minilm+use"], args.cache)["minilm+use"]
    x_train = featurizer.transform(train)
    x_dev = featurizer.transform(dev)
    y_dev = np.array([r.labels[HOSTILE] for r in dev])
    groups = dev_groups(dev)
    pairs = groups["annotated dev pairs"]
    print(f"train rows {len(train)} (with a parent or synthetic: {sum(map(in_context, train))})")
    print(f"dev rows {len(dev)}; annotated dev pairs {len(pairs)} ({y_dev[pairs].sum()} hostile)")

    results: dict[str, dict[str, tuple[float, float]]] = {}
    chosen_c: dict[str, float] = {}
    for recipe in RECIPES:
        rows, weights = recipe_rows(train, recipe)
        index = {id(r): i for i, r in enumerate(train)}
        x = x_train[[index[id(r)] for r in rows]]
        y = np.array([r.labels[HOSTILE] for r in rows])
        best = None
        for c in C_GRID:
            model = LogisticRegression(C=c, max_iter=2000).fit(x, y, sample_weight=weights)
            p = model.predict_proba(x_dev)[:, 1]
            pr = scores(y_dev[pairs], p[pairs])[1]
            if best is None or pr > best[0]:
                best = (pr, c, p)
        assert best is not None
        _, c, p = best
        print(f"{recipe}: {len(rows)} train rows, C={c}")
        results[recipe] = {name: scores(y_dev[idx], p[idx]) for name, idx in groups.items()}
        chosen_c[recipe] = c

    print("\n| dev rows | n | hostile | " + " | ".join(f"{r} ROC / PR" for r in RECIPES) + " |")
    print("|---|---|---|" + "---|" * len(RECIPES))
    for name, idx in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        cells = " | ".join("{:.3f} / {:.3f}".format(*results[r][name]) for r in RECIPES)
        print(f"| {name} | {len(idx)} | {int(y_dev[idx].sum())} | {cells} |")
    if args.written_contrast:
        written_contrast(train, x_train, chosen_c["all"])


if __name__ == "__main__":
    main()
