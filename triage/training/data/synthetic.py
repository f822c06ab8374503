"""Synthetic training rows (synthetic/, issue 13): kept away from what evaluates, and capped.

`filter_synthetic` runs in `triage data prepare` after the real rows are split. It drops every
synthetic row whose text is a near duplicate of an evaluation text: a casebook case, a test row,
or a dev row (dev chooses thresholds, so it is kept clean too). Synthetic posts are short, and a
short text has few word 5-grams, so besides the project's 5-gram rules (`near_dups`) two looser
checks apply: word-3-gram Jaccard >= 0.3, or word-set Jaccard >= 0.5. A synthetic row that
copies a real train row, or another synthetic row, is dropped as a duplicate.

`cap_synthetic` runs in training after the per-source caps: synthetic rows at most
`max_synthetic_share` (<= MAX_SYNTHETIC_SHARE) of the training rows, a seeded sample.

Candidates come from prefix filtering (as in `near_dups`, here on both sides, with a size
bound), so the checks are exact and take a few seconds against the ~40,000 held-out rows.
"""

from __future__ import annotations

import logging
import math
import random
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from triage.training.data.near_dups import SHINGLE_WORDS, NearDupRules, _is_near_duplicate
from triage.training.data.rows import Row, normalise

log = logging.getLogger(__name__)

MAX_SYNTHETIC_SHARE = 0.15
WORD_TRIGRAM_MIN_JACCARD = 0.3
WORD_SET_MIN_JACCARD = 0.5
# What a dropped row matched, most serious first: a drop is reported under the first that applies.
REFERENCE_KINDS = ("casebook", "test", "dev")
HELD_OUT_SPLITS = ("test", "dev")  # the splits that evaluate or choose thresholds
RULES = ("word_5gram", "word_3gram_jaccard", "word_set_jaccard")
DUPLICATE = "duplicate"  # same normalised text as a real train row or an earlier synthetic row


@dataclass(frozen=True)
class Reference:
    """A text that evaluates: a casebook case, or a test or dev row."""

    id: str
    kind: str  # one of REFERENCE_KINDS
    text: str


@dataclass(frozen=True)
class Drop:
    """Why a synthetic row was dropped (ids only: text never goes into logs or summaries)."""

    id: str
    reason: str  # a REFERENCE_KINDS entry, or DUPLICATE
    match: str  # the id of the reference or row it duplicates
    rule: str  # one of RULES, or DUPLICATE


@dataclass
class SyntheticReport:
    read: int = 0
    drops: list[Drop] = field(default_factory=list)
    made_by: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "read": self.read,
            "kept": self.read - len(self.drops),
            "dropped": {
                reason: sum(d.reason == reason for d in self.drops)
                for reason in (*REFERENCE_KINDS, DUPLICATE)
            },
            "dropped_by_rule": {
                rule: sum(d.rule == rule for d in self.drops) for rule in (*RULES, DUPLICATE)
            },
            "drops": [vars(drop) for drop in self.drops],
            "made_by": self.made_by,
        }


@dataclass(frozen=True)
class TextFeatures:
    """What the three checks compare, from one pass of `normalise` over a text."""

    five_grams: frozenset[int]  # as near_dups.shingles
    trigrams: frozenset[str]
    words: frozenset[str]

    @classmethod
    def of(cls, text: str) -> TextFeatures:
        words = normalise(text).split()
        return cls(
            five_grams=_ngrams(words, SHINGLE_WORDS, hashed=True),
            trigrams=_ngrams(words, 3),
            words=frozenset(words),
        )


def _ngrams(words: list[str], size: int, hashed: bool = False) -> frozenset:
    grams = (" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
    return frozenset(map(hash, grams) if hashed else grams)


def jaccard_matches(
    queries: Sequence[frozenset], references: Sequence[frozenset], min_jaccard: float
) -> list[set[int]]:
    """For each query, the indices of the references with Jaccard >= min_jaccard (exact).

    A pair with Jaccard >= t shares a token of both texts' prefixes, the first n - ceil(t * n) + 1
    of its n tokens under one order of all tokens. The order puts tokens no query has first (so
    they fill a reference's prefix without being indexed), then the others rarest first."""
    vocabulary = set().union(*queries) if queries else set()
    shared = [reference & vocabulary for reference in references]
    frequency = Counter(token for tokens in shared for token in tokens)

    def prefix(tokens: frozenset, size: int) -> list:
        """The prefix's tokens a query can have, of a text with `size` tokens in all."""
        rarest = sorted(tokens, key=lambda token: (frequency[token], str(token)))
        unshared = size - len(tokens)
        return rarest[: max(0, size - math.ceil(min_jaccard * size - 1e-9) + 1 - unshared)]

    postings: dict[object, list[int]] = defaultdict(list)  # reference indices, smallest first
    for index in sorted(range(len(references)), key=lambda i: len(references[i])):
        for token in prefix(shared[index], len(references[index])):
            postings[token].append(index)
    sizes = {token: [len(references[i]) for i in found] for token, found in postings.items()}
    matches = []
    for query in queries:
        # a reference with Jaccard >= t has between t * |query| and |query| / t tokens
        low, high = min_jaccard * len(query) - 1e-9, len(query) / min_jaccard + 1e-9
        candidates: set[int] = set()
        for token in prefix(query, len(query)) if query else ():
            lengths = sizes.get(token, [])
            candidates.update(
                postings[token][bisect_left(lengths, low) : bisect_right(lengths, high)]
            )
        matches.append(
            {i for i in candidates if _jaccard_at_least(query, references[i], min_jaccard)}
        )
    return matches


def _jaccard_at_least(a: frozenset, b: frozenset, threshold: float) -> bool:
    shared = len(a & b)
    return shared >= threshold * (len(a) + len(b) - shared) - 1e-9


def five_gram_matches(
    queries: Sequence[frozenset], references: Sequence[frozenset], rules: NearDupRules
) -> list[set[int]]:
    """For each query, the references it is a near duplicate of by the project's 5-gram rules."""
    vocabulary = set().union(*queries) if queries else set()
    postings: dict[int, list[int]] = defaultdict(list)
    for index, reference in enumerate(references):
        for shingle in reference & vocabulary:
            postings[shingle].append(index)
    return [
        {
            i
            for i in {i for s in query for i in postings[s]}
            if _is_near_duplicate(query, references[i], rules)
        }
        for query in queries
    ]


def _rule_matches(
    texts: Sequence[str], references: Sequence[Reference], rules: NearDupRules
) -> dict[str, list[set[int]]]:
    queries = [TextFeatures.of(text) for text in texts]
    targets = [TextFeatures.of(reference.text) for reference in references]

    def matches(feature: Callable[[TextFeatures], frozenset], threshold: float) -> list[set[int]]:
        return jaccard_matches(
            [feature(q) for q in queries], [feature(t) for t in targets], threshold
        )

    return {
        "word_5gram": five_gram_matches(
            [q.five_grams for q in queries], [t.five_grams for t in targets], rules
        ),
        "word_3gram_jaccard": matches(lambda f: f.trigrams, WORD_TRIGRAM_MIN_JACCARD),
        "word_set_jaccard": matches(lambda f: f.words, WORD_SET_MIN_JACCARD),
    }


def near_duplicate_drops(
    synthetic: Sequence[Row], references: Sequence[Reference], rules: NearDupRules | None = None
) -> list[Drop]:
    """A Drop for each synthetic row whose text is a near duplicate of a reference's."""
    by_rule = _rule_matches([row.text for row in synthetic], references, rules or NearDupRules())
    drops = []
    for index, row in enumerate(synthetic):
        found = [
            (REFERENCE_KINDS.index(references[i].kind), references[i].id, rule)
            for rule in RULES
            for i in by_rule[rule][index]
        ]
        if found:
            kind, match, rule = min(found)
            drops.append(Drop(row.id, REFERENCE_KINDS[kind], match, rule))
    return drops


def _duplicate_drops(synthetic: Sequence[Row], train_rows: Sequence[Row]) -> list[Drop]:
    first_with: dict[str, str] = {normalise(row.text): row.id for row in train_rows}
    drops = []
    for row in synthetic:
        key = normalise(row.text)
        if key in first_with:
            drops.append(Drop(row.id, DUPLICATE, first_with[key], DUPLICATE))
        else:
            first_with[key] = row.id
    return drops


def held_out_references(rows: Sequence[Row]) -> list[Reference]:
    """The rows of HELD_OUT_SPLITS, as references a synthetic row must not resemble."""
    return [Reference(r.id, r.split, r.text) for r in rows if r.split in HELD_OUT_SPLITS]


def filter_synthetic(
    synthetic: Sequence[Row],
    real_rows: Sequence[Row],
    casebook: Sequence[Reference],
    rules: NearDupRules | None = None,
) -> tuple[list[Row], SyntheticReport]:
    """The synthetic rows that duplicate nothing that evaluates, nor a train row; and a report."""
    drops = near_duplicate_drops(synthetic, [*casebook, *held_out_references(real_rows)], rules)
    dropped = {drop.id for drop in drops}
    train_rows = [row for row in real_rows if row.split == "train"]
    drops += _duplicate_drops([r for r in synthetic if r.id not in dropped], train_rows)
    dropped = {drop.id for drop in drops}
    kept = [row for row in synthetic if row.id not in dropped]
    for drop in drops:
        log.info(
            "synthetic row %s dropped: %s %s (%s)", drop.id, drop.reason, drop.match, drop.rule
        )
    report = SyntheticReport(
        read=len(synthetic),
        drops=drops,
        made_by=sorted({row.made_by for row in kept if row.made_by}),
    )
    log.info("synthetic rows: %d read, %d kept", report.read, len(kept))
    return kept, report


def max_synthetic_rows(real_rows: int, max_share: float) -> int:
    """The most synthetic rows s with s / (real_rows + s) <= max_share (exact arithmetic)."""
    share = Fraction(str(max_share))
    return math.floor(share * real_rows / (1 - share))


def cap_synthetic(rows: list[Row], max_share: float, seed: int) -> list[Row]:
    """Keep at most `max_share` of the rows synthetic: a seeded sample, the same for any order."""
    synthetic = sorted((row for row in rows if row.synthetic), key=lambda row: row.id)
    allowed = max_synthetic_rows(len(rows) - len(synthetic), max_share)
    if len(synthetic) <= allowed:
        return rows
    kept = {row.id for row in random.Random(seed).sample(synthetic, allowed)}
    log.info("synthetic rows capped at %d of %d (%.0f%%)", allowed, len(synthetic), 100 * max_share)
    return [row for row in rows if not row.synthetic or row.id in kept]


def synthetic_share(rows: Sequence[Row]) -> float:
    return sum(row.synthetic for row in rows) / len(rows) if rows else 0.0
