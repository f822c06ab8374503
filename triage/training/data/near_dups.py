"""Near-duplicate groups: edited copies and crops of one text, across sources.

Exact copies are merged by `prepare.deduplicate`; this finds what is left: CAMS and IRF posts
that re-annotate SDCNL with small edits (or without SDCNL's title), Dreaddit segments that are
crops of a longer copy, a spam mail resent with another link. Every member of a group then goes
to the group's most held-out split, so the model is never tested on a text it was trained on.

Each text becomes the set of its word 5-grams (after `rows.normalise`). Two texts are near
duplicates when either
- they share at least `min_jaccard` of their 5-grams (an edited copy), or
- at least `min_containment` of the shorter text's 5-grams are in the longer one (a crop), and
  the shorter has at least `min_crop_shingles` of them. The floor keeps a stock phrase ("I don't
  want to be here anymore") from joining every long post that contains it into one group.
Groups are the connected components of that relation.

Candidate pairs come from prefix filtering (as in set-similarity joins): if a shares at least
t of its n 5-grams with b, then b holds one of a's n - ceil(t * n) + 1 rarest 5-grams, so each
text probes only those (both rules bound the overlap by a share of the shorter text, so the
probe from the shorter side finds every pair). Rare 5-grams have short postings, so the search
is close to linear in the corpus and exact for the rules above (timing: see the README).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from triage.training.data.rows import normalise

SHINGLE_WORDS = 5


@dataclass(frozen=True)
class NearDupRules:
    min_jaccard: float = 0.5
    min_containment: float = 0.8
    min_crop_shingles: int = 10

    def __post_init__(self) -> None:
        for name in ("min_jaccard", "min_containment"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"NearDupRules.{name} must be in (0, 1], found {value}")
        if self.min_crop_shingles < 1:
            raise ValueError(
                f"NearDupRules.min_crop_shingles must be >= 1, found {self.min_crop_shingles}"
            )


def shingles(text: str) -> frozenset[int]:
    """Hashes of the word 5-grams of the normalised text (empty under five words)."""
    words = normalise(text).split()
    return frozenset(
        hash(" ".join(words[i : i + SHINGLE_WORDS])) for i in range(len(words) - SHINGLE_WORDS + 1)
    )


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def _is_near_duplicate(a: frozenset[int], b: frozenset[int], rules: NearDupRules) -> bool:
    shared = len(a & b)
    if shared >= rules.min_jaccard * (len(a) + len(b) - shared):
        return True
    shorter = min(len(a), len(b))
    return shorter >= rules.min_crop_shingles and shared >= rules.min_containment * shorter


def _probe_size(size: int, rules: NearDupRules) -> int:
    """How many of a text's rarest 5-grams a near duplicate must hit at least one of.

    The weakest rule decides: a crop needs `min_containment` of the shorter text's 5-grams; an
    edited copy with Jaccard j shares at least j of the shorter one's too."""
    weakest = min(rules.min_jaccard, rules.min_containment)
    return size - math.ceil(weakest * size) + 1


def near_duplicate_groups(texts: Sequence[str], rules: NearDupRules | None = None) -> list[int]:
    """A group number per text (the smallest index in its group); singletons get their own."""
    rules = rules or NearDupRules()
    sets = [shingles(text) for text in texts]
    frequency: Counter[int] = Counter()
    for shingle_set in sets:
        frequency.update(shingle_set)
    prefixes = [_rarest(shingle_set, frequency, rules) for shingle_set in sets]
    probed = set().union(*prefixes) if prefixes else set()
    postings: dict[int, list[int]] = defaultdict(list)
    for index, shingle_set in enumerate(sets):
        for shingle in shingle_set & probed:
            postings[shingle].append(index)

    groups = _UnionFind(len(texts))
    for index, prefix in enumerate(prefixes):
        candidates = {other for s in prefix for other in postings[s]}
        candidates.discard(index)
        for other in candidates:
            if groups.find(index) != groups.find(other) and _is_near_duplicate(
                sets[index], sets[other], rules
            ):
                groups.union(index, other)
    return [groups.find(index) for index in range(len(texts))]


def _rarest(shingle_set: frozenset[int], frequency: Counter[int], rules: NearDupRules) -> set[int]:
    """The text's rarest 5-grams that any near duplicate of it must hit (prefix filtering)."""
    rarest = sorted(shingle_set, key=lambda s: (frequency[s], s))
    return set(rarest[: _probe_size(len(rarest), rules)])


def join_by_key(groups: Sequence[int], keys: Sequence[str]) -> list[int]:
    """Merge the groups of items that share a key (a source's author, thread or post group)."""
    joined = _UnionFind(len(groups))
    first_with: dict[object, int] = {}
    for index, (group, key) in enumerate(zip(groups, keys, strict=True)):
        joined.union(index, group)
        joined.union(index, first_with.setdefault(key, index))
    return [joined.find(index) for index in range(len(groups))]
