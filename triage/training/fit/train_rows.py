"""The train and dev rows of a run: the prepared splits mixed as the config says (seeded).

`assemble_train_rows` applies, in order, the per-source caps, the repeats of the project's own
reply pairs, the synthetic cap (which counts the counterfactual rows, near duplicates of what
evaluates dropped), random parents and short crops, then appends the counterfactual rows, so the
same config always gives the same rows.
"""

from __future__ import annotations

import dataclasses
import logging
import random

from triage.domain.labels import HOSTILE
from triage.domain.text import sentence_spans
from triage.training.data.adapters import SYNTHETIC_SOURCE
from triage.training.data.counterfactuals import SOURCE as COUNTERFACTUAL_SOURCE
from triage.training.data.counterfactuals import CounterfactualConfig, counterfactual_rows
from triage.training.data.prepare import casebook_references, load_split
from triage.training.data.rows import Row
from triage.training.data.synthetic import (
    HELD_OUT_SPLITS,
    cap_synthetic,
    held_out_references,
    near_duplicate_drops,
)
from triage.training.fit.args import TrainArgs

log = logging.getLogger(__name__)


def cap_sources(rows: list[Row], caps: dict[str, int], seed: int) -> list[Row]:
    """Keep at most caps[source] train rows of each capped source (a seeded random sample).

    The project's annotated rows are kept first and count towards the cap; the sample fills the
    rest. (Until 2026-12-07 they were sampled like any row, so 1.0.0 to 1.2.0 fine-tuned on
    1,296 of the 1,823 annotated train posts and 126 of the 338 annotated reply pairs.) A cap of
    0 still drops the whole source, annotated rows included: it holds a source out."""
    rng = random.Random(seed)
    kept: list[Row] = []
    by_source: dict[str, list[Row]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(row)
    for source, source_rows in by_source.items():
        cap = caps.get(source)
        if cap is not None and len(source_rows) > cap:
            annotated = [r for r in source_rows if r.annotation is not None][:cap]
            rest = [r for r in source_rows if r.annotation is None]
            source_rows = annotated + rng.sample(rest, min(len(rest), cap - len(annotated)))
        kept.extend(source_rows)
    return kept


def add_random_parents(rows: list[Row], rates: dict[str, float], seed: int) -> list[Row]:
    """Give a share of each listed source's parentless rows a parent post from another source.

    Reply pairs in the data (ToxiChat) are mostly not hostile, while most hostile examples
    (OLID tweets) have no parent; without this the model learns that a parent means "not
    hostile". An insult aimed at "you" stays an insult whatever it replies to, so labels hold.
    """
    if not rates:
        return rows
    rng = random.Random(seed)
    pool = [r.text[:600] for r in rows if r.parent_text is None and r.source not in rates]
    if not pool:
        return rows
    return [
        dataclasses.replace(row, parent_text=rng.choice(pool))
        if row.parent_text is None and rng.random() < rates.get(row.source, 0.0)
        else row
        for row in rows
    ]


def add_short_crops(
    rows: list[Row], crops: dict[str, int], seed: int, missing: tuple[str, ...] = ()
) -> list[Row]:
    """Add `crops[source]` short excerpts (1-3 consecutive sentences) of each multi-sentence post.

    All self-harm positives (SDCNL) are long Reddit posts while most negatives (GoEmotions, SMS)
    are short, so without this a model learns "short means safe" and misses a one-line
    disclosure. Excerpts keep the post's labels: noisy (a sentence of a SuicideWatch post need
    not disclose anything), like the subreddit label itself; labels in `missing` are dropped
    (a property of the whole post, such as marked distress, that one sentence may not show).
    """
    rng = random.Random(seed)
    extra: list[Row] = []
    for row in rows:
        spans = sentence_spans(row.text)
        for k in range(crops.get(row.source, 0) if len(spans) > 3 else 0):
            width = rng.randint(1, 3)
            first = rng.randrange(0, len(spans) - width + 1)
            text = row.text[spans[first][0] : spans[first + width - 1][1]]
            if len(text.split()) >= 5:
                labels = {n: None if n in missing else v for n, v in row.labels.items()}
                extra.append(
                    dataclasses.replace(row, id=f"{row.id}:crop{k}", text=text, labels=labels)
                )
    return rows + extra


def checked_counterfactual_rows(args: TrainArgs) -> list[Row]:
    """The config's counterfactual rows less those that are near duplicates of a casebook case or
    a test or dev row: the check `triage data prepare` runs on synthetic/ rows (these rows are
    made from templates at training time, so it runs here)."""
    if not args.counterfactuals:
        return []
    rows = counterfactual_rows(CounterfactualConfig.load(args.counterfactuals))
    held_out = [row for split in HELD_OUT_SPLITS for row in load_split(args.data_dir, split)]
    references = casebook_references(args.casebook) + held_out_references(held_out)
    dropped = {drop.id for drop in near_duplicate_drops(rows, references)}
    if dropped:
        log.info(
            "counterfactual rows: %d of %d dropped as near duplicates", len(dropped), len(rows)
        )
    return [row for row in rows if row.id not in dropped]


def is_context_pair(row: Row) -> bool:
    """A reply whose hostile label this project gave reading it with its parent: an annotated
    pair (docs/annotation/hostile_in_context.md) or a written synthetic/ reply pair."""
    if row.parent_text is None or row.labels.get(HOSTILE) is None:
        return False
    annotated = row.annotation is not None and row.annotation.hostile is not None
    return annotated or row.source == SYNTHETIC_SOURCE


def repeat_context_pairs(rows: list[Row], repeats: int) -> list[Row]:
    """Each context pair `repeats` times in all (the copies have their own ids). The synthetic
    cap comes after, so copies of a written pair count towards it and, were it to bind, would be
    sampled one by one (it does not: 7.4% of the rows in the 1.2.0 run)."""
    extra = [
        dataclasses.replace(row, id=f"{row.id}:repeat{k}")
        for row in rows
        if is_context_pair(row)
        for k in range(1, repeats)
    ]
    return rows + extra


def assemble_train_rows(args: TrainArgs) -> list[Row]:
    """The train split after the per-source caps, the context pair repeats, the synthetic cap
    (counting the checked counterfactual rows), random parents and short crops, then the
    counterfactual rows, in that order (seeded: the same config gives the same rows). The
    counterfactual rows go last and take no part in random parents, as before they were capped."""
    rows = cap_sources(load_split(args.data_dir, "train"), args.per_source_cap, args.seed)
    rows = repeat_context_pairs(rows, args.context_pair_repeats)
    rows = cap_synthetic(
        rows + checked_counterfactual_rows(args), args.max_synthetic_share, args.seed
    )
    counterfactual = [row for row in rows if row.source == COUNTERFACTUAL_SOURCE]
    rows = [row for row in rows if row.source != COUNTERFACTUAL_SOURCE]
    rows = add_random_parents(rows, args.random_parent_rate, args.seed)
    rows = add_short_crops(rows, args.short_crops, args.seed, args.short_crop_missing)
    return rows + counterfactual


def assemble_dev_rows(args: TrainArgs) -> list[Row]:
    """The dev split, sampled down to dev_limit rows (seeded)."""
    rows = load_split(args.data_dir, "dev")
    if args.dev_limit and len(rows) > args.dev_limit:
        rows = random.Random(args.seed).sample(rows, args.dev_limit)
    return rows
