"""The train and dev rows of a run: the prepared splits mixed as the config says (seeded).

`assemble_train_rows` applies, in order, the per-source caps, the counterfactual rows (near
duplicates of what evaluates dropped), the repeats of the project's own reply pairs, the synthetic
cap, random parents and short crops, so the same config always gives the same rows.
"""

from __future__ import annotations

import dataclasses
import logging
import random

from triage.domain.text import sentence_spans
from triage.training.data.adapters import SYNTHETIC_SOURCE
from triage.training.data.counterfactuals import CounterfactualConfig, counterfactual_rows
from triage.training.data.prepare import casebook_references, load_split
from triage.training.data.rows import Row
from triage.training.data.synthetic import Reference, cap_synthetic, near_duplicate_drops
from triage.training.fit.args import TrainArgs

log = logging.getLogger(__name__)


def cap_sources(rows: list[Row], caps: dict[str, int], seed: int) -> list[Row]:
    """Keep at most caps[source] train rows of each capped source (a seeded random sample)."""
    rng = random.Random(seed)
    kept: list[Row] = []
    by_source: dict[str, list[Row]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(row)
    for source, source_rows in by_source.items():
        cap = caps.get(source)
        if cap is not None and len(source_rows) > cap:
            source_rows = rng.sample(source_rows, cap)
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
    references = casebook_references(args.casebook) + [
        Reference(row.id, split, row.text)
        for split in ("test", "dev")
        for row in load_split(args.data_dir, split)
    ]
    dropped = {drop.id for drop in near_duplicate_drops(rows, references)}
    if dropped:
        log.info(
            "counterfactual rows: %d of %d dropped as near duplicates", len(dropped), len(rows)
        )
    return [row for row in rows if row.id not in dropped]


def is_context_pair(row: Row) -> bool:
    """A reply whose hostile label this project gave reading it with its parent: an annotated
    pair (docs/annotation/hostile_in_context.md) or a written synthetic/ reply pair."""
    if row.parent_text is None or row.labels.get("hostile") is None:
        return False
    annotated = row.annotation is not None and row.annotation.hostile is not None
    return annotated or row.source == SYNTHETIC_SOURCE


def repeat_context_pairs(rows: list[Row], repeats: int) -> list[Row]:
    """Each context pair `repeats` times in all (the copies have their own ids)."""
    extra = [
        dataclasses.replace(row, id=f"{row.id}:repeat{k}")
        for row in rows
        if is_context_pair(row)
        for k in range(1, repeats)
    ]
    return rows + extra


def assemble_train_rows(args: TrainArgs) -> list[Row]:
    """The train split after the per-source caps, the checked counterfactual rows, the context
    pair repeats, the synthetic cap, random parents and short crops, in that order (seeded: the
    same config gives the same rows)."""
    rows = cap_sources(load_split(args.data_dir, "train"), args.per_source_cap, args.seed)
    rows += checked_counterfactual_rows(args)
    rows = repeat_context_pairs(rows, args.context_pair_repeats)
    rows = cap_synthetic(rows, args.max_synthetic_share, args.seed)
    rows = add_random_parents(rows, args.random_parent_rate, args.seed)
    return add_short_crops(rows, args.short_crops, args.seed, args.short_crop_missing)


def assemble_dev_rows(args: TrainArgs) -> list[Row]:
    """The dev split, sampled down to dev_limit rows (seeded)."""
    rows = load_split(args.data_dir, "dev")
    if args.dev_limit and len(rows) > args.dev_limit:
        rows = random.Random(args.seed).sample(rows, args.dev_limit)
    return rows
