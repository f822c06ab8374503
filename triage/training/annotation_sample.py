"""`triage data annotations sample`: draw the items to annotate from a prepared data folder.

Deterministic (every draw is seeded by the config's seed and a name), stratified by source
stratum and by the row's split (about a quarter in test, so the annotations give a held-out
evaluation). Three kinds:
- tiers: posts, weighted towards r/SuicideWatch and posts with plan / means / timeline words so
  that crisis and red are well represented; controls from everyday comments;
- pairs: (parent, reply) pairs; half drawn at random per source, half from an enriched stratum
  chosen by `pair_score`, a documented keyword heuristic for corumination (rare at random);
- threads: ToxiChat threads (ordered turns), half random, half enriched by the same heuristic.
Random strata are drawn before enriched ones, so each random stratum is a simple random sample
of its pool; the manifest records every item's stratum, and evaluation must report the random
and enriched strata apart. annotations/README.md describes the design in full.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from triage.training.annotations import (
    KINDS,
    LABELS_SUFFIX,
    ManifestItem,
    batch_name,
    item_key,
    thread_turns,
    threads_from_rows,
    write_jsonl,
    write_manifest,
)
from triage.training.prepare import load_split
from triage.training.rows import SPLITS, Row, normalise

log = logging.getLogger(__name__)

POST_SOURCES = frozenset({"sdcnl", "irf", "cams", "depseverity", "dreaddit"})
PAIR_SOURCES = frozenset({"epitome", "toxichat", "counselchat"})
THREAD_SOURCES = frozenset({"toxichat"})


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + ")", re.IGNORECASE)


# --- heuristics (enrichment only: they choose what to annotate, never a label) ----------------

SUICIDE_WORDS = _words(
    r"suicid", r"kill (?:my ?self|me)", r"end (?:my life|it all|it\b)", r"take my (?:own )?life",
    r"want(?:ed)? to die", r"wanna die", r"overdos", r"hang my ?self", r"kms\b", r"not wake up",
    r"jump (?:off|from|in front)",
)  # fmt: skip
IMMINENCE_WORDS = _words(
    r"tonight", r"tomorrow", r"today", r"this weekend", r"good ?bye", r"last post", r"note\b",
    r"pills", r"bottle", r"rope", r"noose", r"gun\b", r"bridge", r"razor", r"blade", r"stockpil",
    r"saved up", r"my plan", r"i have a plan", r"planned", r"decided", r"i'?m going to",
    r"right now", r"ready",
)  # fmt: skip
HYPERBOLE_WORDS = _words(
    r"kill me", r"killing me", r"kms\b", r"want to die", r"wanna die", r"i'?d rather die",
    r"dying", r"dead\b", r"die\b", r"suicid", r"kill myself", r"shoot me", r"end it",
)  # fmt: skip
NEGATIVE_WORDS = _words(
    r"sad", r"depress", r"lonel", r"alone", r"hopeless", r"worthless", r"hate", r"awful",
    r"terrible", r"miserable", r"anxi", r"scared", r"afraid", r"hurt", r"pain", r"cry", r"cried",
    r"exhaust", r"tired", r"empty", r"numb", r"upset", r"stress", r"broken", r"useless", r"fail",
    r"ruin", r"unfair", r"suck", r"worst", r"horrible", r"lost", r"struggl",
)  # fmt: skip
ALIGNMENT_WORDS = _words(
    r"me too", r"same here", r"same\b", r"i feel the same", r"i feel you", r"i know how you feel",
    r"i know exactly", r"i'?m the same", r"exactly how i feel", r"same thing happen",
    r"i'?ve been there", r"i relate", r"relatable", r"story of my life", r"i also", r"me as well",
    r"so do i", r"i do too", r"i have the same",
)  # fmt: skip
SPECULATION_WORDS = _words(
    r"why (?:do|does|would|did|is|are|can'?t|won'?t)", r"it'?s because", r"probably because",
    r"maybe because", r"what if", r"i wonder", r"the worst part",
    r"never (?:ends|stops|changes|gets better)", r"always (?:be|happens)", r"nothing (?:ever|will)",
    r"no ?one (?:cares|understands)", r"nobody (?:cares|understands)",
)  # fmt: skip
COPING_WORDS = _words(
    r"try", r"tried", r"help", r"therap", r"counsel", r"doctor", r"hotline", r"helpline",
    r"talk to", r"reach out", r"you could", r"you should", r"have you", r"recommend", r"suggest",
    r"exercise", r"a walk", r"breath", r"meditat", r"it gets better", r"proud of you",
    r"you can do", r"professional", r"resource", r"plan\b", r"psychiatr", r"gp\b", r"medication",
    r"meds\b",
)  # fmt: skip


def pair_score(reply: str, parent: str) -> int:
    """Corumination enrichment score of a reply: shared negative affect (+1), several negative
    words (+1), "me too" alignment (+1), speculation or dwelling phrases (+1), and -2 for any
    coping, problem-solving or signposting word."""
    negative = {match.group(0).lower() for match in NEGATIVE_WORDS.finditer(reply)}
    score = int(bool(negative) and bool(NEGATIVE_WORDS.search(parent)))
    score += int(len(negative) >= 2)
    score += int(bool(ALIGNMENT_WORDS.search(reply)))
    score += int(bool(SPECULATION_WORDS.search(reply)))
    return score - 2 * int(bool(COPING_WORDS.search(reply)))


def mentions_imminence(text: str) -> bool:
    """Suicide words together with plan / means / timeline / farewell words."""
    return bool(SUICIDE_WORDS.search(text)) and bool(IMMINENCE_WORDS.search(text))


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleConfig:
    """Sizes and limits of one sample; the defaults produced the committed manifests."""

    seed: int = 20261125
    tiers: int = 1150
    pairs: int = 960
    threads: int = 200
    double_tiers: int = 200
    double_pairs: int = 150
    batch_size: int = 125  # batches hold about this many items (100-150)
    split_shares: tuple[tuple[str, float], ...] = (("test", 0.25), ("dev", 0.20), ("train", 0.55))
    max_post_chars: int = 4000
    min_post_chars: int = 20
    max_parent_chars: int = 3000
    max_reply_chars: int = 2500
    max_turn_chars: int = 2000
    enriched_min_score: int = 2  # pairs: "high" stratum; "mid" is exactly 1; threads use 1

    def __post_init__(self) -> None:
        for name in ("tiers", "pairs", "threads", "double_tiers", "double_pairs", "batch_size"):
            if getattr(self, name) < 0 or (name == "batch_size" and self.batch_size < 1):
                raise ValueError(f"{name} must be a positive count, found {getattr(self, name)}")
        if self.double_tiers > self.tiers or self.double_pairs > self.pairs:
            raise ValueError(
                f"the double-annotated subsets ({self.double_tiers} posts, {self.double_pairs} "
                f"pairs) cannot be larger than the samples ({self.tiers}, {self.pairs})"
            )
        splits = [name for name, _ in self.split_shares]
        if sorted(splits) != sorted(SPLITS) or abs(sum(s for _, s in self.split_shares) - 1) > 1e-9:
            raise ValueError(
                f"split_shares must give a share to each of {SPLITS} summing to 1, "
                f"found {self.split_shares}"
            )


# --- candidates and strata --------------------------------------------------------------------


@dataclass
class Candidate:
    unit_id: str
    source: str
    split: str
    text: str  # what the stratum rules read: the post, the reply, or a thread's replies
    record: dict  # the batch item without its id
    labels: dict[str, int | None] = field(default_factory=dict)
    score: int | None = None
    keys: tuple[str, ...] = ()  # near-duplicate keys: two candidates sharing one are not both drawn
    turn_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stratum:
    name: str
    share: float
    admits: Callable[[Candidate], bool]


def _is_suicidewatch(c: Candidate) -> bool:
    return c.source in POST_SOURCES and c.labels.get("self_harm") == 1


TIER_STRATA = (
    Stratum("suicidewatch", 0.30, _is_suicidewatch),
    Stratum("distress", 0.30, lambda c: c.source in POST_SOURCES and not _is_suicidewatch(c)),
    Stratum("counselchat_question", 0.10, lambda c: c.source == "counselchat"),
    Stratum("everyday", 0.12, lambda c: c.source == "goemotions"),
    Stratum(
        "enriched_hyperbole",
        0.06,
        lambda c: c.source == "goemotions" and bool(HYPERBOLE_WORDS.search(c.text)),
    ),
    Stratum(
        "enriched_imminence",
        0.12,
        lambda c: c.source in POST_SOURCES and mentions_imminence(c.text),
    ),
)


def _pair_strata(config: SampleConfig) -> tuple[Stratum, ...]:
    peer = frozenset({"epitome", "toxichat"})  # counselchat answers are therapists': not enriched
    return (
        Stratum("random_epitome", 0.25, lambda c: c.source == "epitome"),
        Stratum("random_toxichat", 0.15, lambda c: c.source == "toxichat"),
        Stratum("random_counselchat", 0.10, lambda c: c.source == "counselchat"),
        Stratum(
            "enriched_high",
            0.25,
            lambda c: c.source in peer and (c.score or 0) >= config.enriched_min_score,
        ),
        Stratum("enriched_mid", 0.25, lambda c: c.source in peer and c.score == 1),
    )


def _thread_strata(config: SampleConfig) -> tuple[Stratum, ...]:
    return (
        Stratum("random", 0.5, lambda c: len(c.turn_ids) >= 2),
        Stratum("enriched", 0.5, lambda c: (c.score or 0) >= 1),
    )


def _text_keys(text: str) -> tuple[str, ...]:
    """Head and tail of the normalised text: catches a body posted again without its title."""
    key = normalise(text)
    return (key,) if len(key) < 80 else ("head:" + key[:120], "tail:" + key[-120:])


def tier_candidates(rows: Iterable[Row], config: SampleConfig) -> list[Candidate]:
    sources = POST_SOURCES | {"counselchat", "goemotions"}
    return [
        Candidate(
            unit_id=row.id,
            source=row.source,
            split=row.split,
            text=row.text,
            record={"text": row.text},
            labels=row.labels,
            keys=_text_keys(row.text),
        )
        for row in rows
        if row.source in sources
        and row.parent_text is None
        and config.min_post_chars <= len(row.text) <= config.max_post_chars
    ]


def pair_candidates(rows: Iterable[Row], config: SampleConfig) -> list[Candidate]:
    return [
        Candidate(
            unit_id=row.id,
            source=row.source,
            split=row.split,
            text=row.text,
            record={"parent_text": row.parent_text, "text": row.text},
            score=pair_score(row.text, row.parent_text),
            keys=(row.id,),
        )
        for row in rows
        if row.source in PAIR_SOURCES
        and row.parent_text
        and row.text.strip()
        and len(row.text) <= config.max_reply_chars
        and len(row.parent_text) <= config.max_parent_chars
    ]


def thread_candidates(rows: Iterable[Row], config: SampleConfig) -> list[Candidate]:
    candidates = []
    for key, replies in threads_from_rows(r for r in rows if r.source in THREAD_SOURCES).items():
        turns = thread_turns(replies)
        if max(len(turn) for turn in turns) > config.max_turn_chars:
            continue
        candidates.append(
            Candidate(
                unit_id=key,
                source=replies[0].source,
                split=replies[0].split,
                text="\n".join(turns[1:]),
                record={"turns": turns},
                score=max(pair_score(r.text, r.parent_text or "") for r in replies),
                keys=(key,),
                turn_ids=tuple(r.id for r in replies),
            )
        )
    return candidates


# --- drawing ----------------------------------------------------------------------------------


def _quotas(total: int, shares: Iterable[tuple[str, float]]) -> dict[str, int]:
    """Largest-remainder rounding: the quotas always sum to `total`."""
    shares = list(shares)
    exact = {name: total * share for name, share in shares}
    quotas = {name: int(value) for name, value in exact.items()}
    leftover = total - sum(quotas.values())
    for name in sorted(exact, key=lambda n: (quotas[n] - exact[n], n))[:leftover]:
        quotas[name] += 1
    return quotas


@dataclass
class Drawn:
    candidate: Candidate
    stratum: str


def draw(
    candidates: list[Candidate],
    strata: Iterable[Stratum],
    total: int,
    config: SampleConfig,
    kind: str,
) -> tuple[list[Drawn], dict[str, int]]:
    """Draw each stratum in order, by split shares; a stratum's shortfall passes to the next.

    Returns the items and the shortfall per stratum (0 where the pool was big enough).
    """
    strata = list(strata)
    quotas = _quotas(total, ((s.name, s.share) for s in strata))
    ordered = sorted(candidates, key=lambda c: c.unit_id)
    taken_keys: set[str] = set()
    drawn: list[Drawn] = []
    shortfalls: dict[str, int] = {}
    carry = 0
    for stratum in strata:
        want = quotas[stratum.name] + carry
        rng = random.Random(f"{config.seed}:{kind}:{stratum.name}")
        pool = [c for c in ordered if stratum.admits(c) and taken_keys.isdisjoint(c.keys)]
        rng.shuffle(pool)
        picked = _draw_by_split(pool, want, config, taken_keys)
        drawn.extend(Drawn(c, stratum.name) for c in picked)
        carry = want - len(picked)
        shortfalls[stratum.name] = carry
        if carry:
            log.warning("%s stratum %s: %d short, passed on", kind, stratum.name, carry)
    return drawn, shortfalls


def _draw_by_split(
    pool: list[Candidate], want: int, config: SampleConfig, taken_keys: set[str]
) -> list[Candidate]:
    picked: list[Candidate] = []
    picked_ids: set[str] = set()

    def take(candidates: Iterable[Candidate], limit: int) -> None:
        for candidate in candidates:
            if limit <= 0:
                return
            if candidate.unit_id in picked_ids or not taken_keys.isdisjoint(candidate.keys):
                continue
            picked.append(candidate)
            picked_ids.add(candidate.unit_id)
            taken_keys.update(candidate.keys)
            limit -= 1

    for split, quota in _quotas(want, config.split_shares).items():
        take((c for c in pool if c.split == split), quota)
    take(pool, want - len(picked))  # a split too small for its share: fill from the others
    return picked


# --- batches and manifests --------------------------------------------------------------------


def _chunks(items: list, size: int) -> list[list]:
    count = max(1, round(len(items) / size)) if items else 0
    return [items[i::count] for i in range(count)] if count else []


def assign_batches(
    drawn: list[Drawn], kind: str, config: SampleConfig, double: int
) -> tuple[list[ManifestItem], dict[str, list[Drawn]]]:
    """Shuffle into pass-1 batches; a random `double` of them also into pass-2 batches, in
    an order of their own. Returns the manifest and {batch name: items}."""
    items = {d.candidate.unit_id: d for d in drawn}
    first = sorted(items)
    random.Random(f"{config.seed}:{kind}:order").shuffle(first)
    second = random.Random(f"{config.seed}:{kind}:double").sample(sorted(items), double)
    batches: dict[str, list[Drawn]] = {}
    where: dict[str, dict[int, str]] = {unit: {} for unit in items}
    for pass_, order in ((1, first), (2, second)):
        for number, chunk in enumerate(_chunks(order, config.batch_size), start=1):
            name = batch_name(kind, pass_, number)
            batches[name] = [items[unit] for unit in chunk]
            for unit in chunk:
                where[unit][pass_] = name
    manifest = [_manifest_item(kind, items[unit], where[unit]) for unit in sorted(items)]
    return manifest, batches


def _manifest_item(kind: str, drawn: Drawn, where: dict[int, str]) -> ManifestItem:
    c = drawn.candidate
    return ManifestItem(
        item_id=item_key(kind, c.unit_id),
        unit_id=c.unit_id,
        source=c.source,
        split=c.split,
        stratum=drawn.stratum,
        batch=where[1],
        double_batch=where.get(2, ""),
        score=c.score,
        turn_ids=c.turn_ids,
    )


def counts(manifest: list[ManifestItem]) -> dict:
    """Counts per stratum, source, split and stratum x split (for sample.json and the CLI)."""
    return {
        "total": len(manifest),
        "double_annotated": sum(bool(m.double_batch) for m in manifest),
        "stratum": dict(sorted(Counter(m.stratum for m in manifest).items())),
        "source": dict(sorted(Counter(m.source for m in manifest).items())),
        "split": dict(sorted(Counter(m.split for m in manifest).items())),
        "stratum_split": {
            f"{s}/{p}": n
            for (s, p), n in sorted(Counter((m.stratum, m.split) for m in manifest).items())
        },
    }


@dataclass
class SampleResult:
    manifests: dict[str, list[ManifestItem]]
    batch_sizes: dict[str, int]
    shortfalls: dict[str, dict[str, int]]


def sample(
    data_dir: Path, work_dir: Path, annotations_dir: Path, config: SampleConfig, force: bool = False
) -> SampleResult:
    """Draw every kind, write batch files to work_dir and manifests + sample.json to
    annotations_dir. Refuses to run over annotator output unless `force`."""
    labelled = sorted(work_dir.glob(f"*{LABELS_SUFFIX}")) if work_dir.exists() else []
    if labelled and not force:
        raise FileExistsError(
            f"{work_dir} already holds annotator output ({labelled[0].name}, ...): a new sample "
            "would orphan it. Import it first, or pass --force to sample anyway"
        )
    rows = [row for split in SPLITS for row in load_split(data_dir, split)]
    plans = {
        "tiers": (tier_candidates(rows, config), TIER_STRATA, config.tiers, config.double_tiers),
        "pairs": (
            pair_candidates(rows, config),
            _pair_strata(config),
            config.pairs,
            config.double_pairs,
        ),
        "threads": (thread_candidates(rows, config), _thread_strata(config), config.threads, 0),
    }
    result = SampleResult({}, {}, {})
    for kind, (candidates, strata, total, double) in plans.items():
        drawn, result.shortfalls[kind] = draw(candidates, strata, total, config, kind)
        manifest, batches = assign_batches(drawn, kind, config, double)
        _write_batches(work_dir, kind, batches)
        write_manifest(annotations_dir / KINDS[kind].manifest_file, manifest)
        result.manifests[kind] = manifest
        result.batch_sizes |= {name: len(members) for name, members in batches.items()}
    _write_summary(annotations_dir / "sample.json", config, result)
    return result


def _write_batches(work_dir: Path, kind: str, batches: dict[str, list[Drawn]]) -> None:
    for stale in work_dir.glob(f"{kind}-p*.jsonl"):
        if not stale.name.endswith(LABELS_SUFFIX):
            stale.unlink()
    for name, members in batches.items():
        records = (
            {"id": item_key(kind, d.candidate.unit_id), **d.candidate.record} for d in members
        )
        write_jsonl(work_dir / f"{name}.jsonl", records)


def _write_summary(path: Path, config: SampleConfig, result: SampleResult) -> None:
    summary = {
        "config": asdict(config),
        "kinds": {kind: counts(manifest) for kind, manifest in result.manifests.items()},
        "shortfalls": result.shortfalls,
        "batches": result.batch_sizes,
    }
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
