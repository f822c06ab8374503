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

Round 2 (issue 13, `sample_round2`): tiers only, under guideline v2. Posts of the
rmhd-27-subreddits pools by subreddit and of the unannotated remainder of round 1's sources,
enriched for crisis and amber (farewells and final acts, denials, recovery, third-party risk,
hyperbole and quotes); never a round-1 unit nor a near duplicate of one. Its own manifest
(manifest_tiers_r2.csv) and batches (tiers-r2-p1-01...); sample.json keeps round 1's figures
and gains a "round_2" entry.
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
from typing import Protocol

from triage.domain.labels import SELF_HARM
from triage.training.annotations.files import (
    LABELS_SUFFIX,
    ManifestItem,
    batch_name,
    item_key,
    manifest_file,
    read_manifest,
    round_prefix,
    thread_turns,
    threads_from_rows,
    write_jsonl,
    write_manifest,
)
from triage.training.data.adapters import (
    RMHD_CONTROLS,
    RMHD_LIFE_EVENTS,
    RMHD_MENTAL_HEALTH,
    RMHD_SUICIDE,
    rmhd_subreddit,
)
from triage.training.data.annotation_labels import KINDS
from triage.training.data.prepare import load_split
from triage.training.data.rows import SPLITS, Row, normalise

log = logging.getLogger(__name__)

POST_SOURCES = frozenset({"sdcnl", "irf", "cams", "depseverity", "dreaddit"})
PAIR_SOURCES = frozenset({"epitome", "toxichat", "counselchat"})
THREAD_SOURCES = frozenset({"toxichat"})


def words_regex(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + ")", re.IGNORECASE)


def more_words(words: re.Pattern[str], *patterns: str) -> re.Pattern[str]:
    """`words` (made by words_regex) with more alternatives."""
    return words_regex(words.pattern.removeprefix(r"\b(?:").removesuffix(")"), *patterns)


# --- heuristics (enrichment only: they choose what to annotate, never a label) ----------------

SUICIDE_WORDS = words_regex(
    r"suicid", r"kill (?:my ?self|me)", r"end (?:my life|it all|it\b)", r"take my (?:own )?life",
    r"want(?:ed)? to die", r"wanna die", r"overdos", r"hang my ?self", r"kms\b", r"not wake up",
    r"jump (?:off|from|in front)",
)  # fmt: skip
IMMINENCE_WORDS = words_regex(
    r"tonight", r"tomorrow", r"today", r"this weekend", r"good ?bye", r"last post", r"note\b",
    r"pills", r"bottle", r"rope", r"noose", r"gun\b", r"bridge", r"razor", r"blade", r"stockpil",
    r"saved up", r"my plan", r"i have a plan", r"planned", r"decided", r"i'?m going to",
    r"right now", r"ready",
)  # fmt: skip
HYPERBOLE_WORDS = words_regex(
    r"kill me", r"killing me", r"kms\b", r"want to die", r"wanna die", r"i'?d rather die",
    r"dying", r"dead\b", r"die\b", r"suicid", r"kill myself", r"shoot me", r"end it",
)  # fmt: skip
NEGATIVE_WORDS = words_regex(
    r"sad", r"depress", r"lonel", r"alone", r"hopeless", r"worthless", r"hate", r"awful",
    r"terrible", r"miserable", r"anxi", r"scared", r"afraid", r"hurt", r"pain", r"cry", r"cried",
    r"exhaust", r"tired", r"empty", r"numb", r"upset", r"stress", r"broken", r"useless", r"fail",
    r"ruin", r"unfair", r"suck", r"worst", r"horrible", r"lost", r"struggl",
)  # fmt: skip
ALIGNMENT_WORDS = words_regex(
    r"me too", r"same here", r"same\b", r"i feel the same", r"i feel you", r"i know how you feel",
    r"i know exactly", r"i'?m the same", r"exactly how i feel", r"same thing happen",
    r"i'?ve been there", r"i relate", r"relatable", r"story of my life", r"i also", r"me as well",
    r"so do i", r"i do too", r"i have the same",
)  # fmt: skip
SPECULATION_WORDS = words_regex(
    r"why (?:do|does|would|did|is|are|can'?t|won'?t)", r"it'?s because", r"probably because",
    r"maybe because", r"what if", r"i wonder", r"the worst part",
    r"never (?:ends|stops|changes|gets better)", r"always (?:be|happens)", r"nothing (?:ever|will)",
    r"no ?one (?:cares|understands)", r"nobody (?:cares|understands)",
)  # fmt: skip
COPING_WORDS = words_regex(
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


# Round 2 (guideline v2): the v2 slang, farewells and final acts without suicide words, attempts
# told as a question, minimising, recovery, third-party risk, quotes.
SUICIDE_WORDS_V2 = more_words(
    SUICIDE_WORDS, r"suicidal", r"unalive", r"sewerslide",
    r"ctb\b", r"catch(?:ing)? the bus", r"final exit", r"self[- ]?delet", r"off myself",
    r"not (?:be )?(?:here|around) anymore", r"sleep forever", r"end(?:ing)? things",
    r"not waking up", r"better off dead", r"self[- ]?harm", r"\bcut(?:ting)? myself",
    r"kill(?:ing)? (?:him|her|them)sel", r"end (?:his|her|their) (?:own )?life",
    r"hurt(?:ing)? (?:him|her|them)sel",
)  # fmt: skip
# Farewells, final acts and attempts told as a question: enrich on their own, no suicide word
# needed (guideline v2, section 2).
FINAL_ACT_WORDS = words_regex(
    r"(?:this is|this will be|this'?ll be) (?:my|the) last post", r"last post (?:here|ever)",
    r"final post", r"gave (?:away )?my (?:dog|cat|pets?)\b",
    r"giv(?:e|ing) away my (?:dog|cat|pets?|things|stuff|belongings)",
    r"delet(?:ed|ing) (?:all )?(?:of )?my (?:social media )?accounts?",
    r"took (?:all|\d+|every) (?:of )?my\b", r"took (?:the )?(?:whole|entire) (?:bottle|box|pack)",
    r"how (?:many|much) [\w' ]{1,40}? (?:would it take|does it take|is (?:fatal|lethal|enough)|"
    r"to (?:die|kill|od\b|overdose|be (?:fatal|lethal)))",
    r"railing", r"(?:the|train|railway) tracks", r"letters? to (?:my )?(?:family|mum|mom|dad|"
    r"parents|kids|wife|husband)", r"(?:wrote|written|writing) (?:a|my) (?:note|letters?)\b",
    r"look after each other", r"won'?t be (?:here|around)", r"thank you (?:all )?for everything",
    r"good ?bye (?:everyone|everybody|all|guys|world|reddit)", r"sorting (?:things|everything) out",
)  # fmt: skip
IMMINENCE_WORDS_V2 = more_words(
    IMMINENCE_WORDS, r"farewell", r"final", r"last (?:day|night)",
    r"overdos", r"paracetamol", r"tylenol", r"sleeping pills", r"how (?:many|much)", r"roof",
    r"ledge", r"balcony", r"cliff", r"knife", r"this week", r"(?:mon|tues|wednes|thurs|fri|"
    r"satur|sun)day", r"my birthday", r"letters?\b", r"railing", r"tracks\b",
)  # fmt: skip
DENIAL_WORDS = words_regex(
    r"(?:not|never) (?:going to|gonna) (?:do|try) anything", r"won'?t do anything",
    r"nothing stupid", r"i'?m (?:fine|ok|okay|safe)\b", r"promise", r"don'?t worry",
    r"not suicidal",
)  # fmt: skip
DISTRESS_WORDS = more_words(
    NEGATIVE_WORDS, r"can'?t cope", r"overwhelm", r"panic",
    r"desperate", r"breaking down", r"falling apart",
)  # fmt: skip
RECOVERY_WORDS = words_regex(
    r"clean for", r"(?:days?|weeks?|months?|years?) (?:clean|sober)", r"years? since",
    r"months? since", r"anniversary", r"relaps", r"recover", r"(?:it|things) gets? better",
)  # fmt: skip
THIRD_PARTY_WORDS = words_regex(
    r"my (?:best )?(?:friend|sister|brother|mum|mom|mother|dad|father|partner|boyfriend|"
    r"girlfriend|husband|wife|son|daughter|cousin|roommate|bf|gf)\b",
)  # fmt: skip
QUOTE_WORDS = words_regex(r"lyric", r"song", r"quote", r"poem", r"movie", r"film", r"book")
DEATH_WORDS = more_words(
    HYPERBOLE_WORDS, r"death", r"kill", r"murder", r"funeral",
)  # fmt: skip


def mentions_imminence_v2(text: str) -> bool:
    """v2 suicide words with plan / means / place / timeline / farewell words, or a farewell,
    final act or overdose question on its own."""
    if FINAL_ACT_WORDS.search(text):
        return True
    return bool(SUICIDE_WORDS_V2.search(text)) and bool(IMMINENCE_WORDS_V2.search(text))


def mentions_denial(text: str) -> bool:
    """Minimising or reassurance ("I'm fine", "promise") together with distress words."""
    return bool(DENIAL_WORDS.search(text)) and bool(DISTRESS_WORDS.search(text))


def mentions_recovery(text: str) -> bool:
    return bool(RECOVERY_WORDS.search(text))


def mentions_third_party_risk(text: str) -> bool:
    """A relative, partner or friend together with suicide or self-harm words."""
    return bool(THIRD_PARTY_WORDS.search(text)) and bool(SUICIDE_WORDS_V2.search(text))


def mentions_quoted_death(text: str) -> bool:
    """Lyrics, a song, a quote, a film... together with death words."""
    return bool(QUOTE_WORDS.search(text)) and bool(DEATH_WORDS.search(text))


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


def check_sizes(name: str, total: int, double: int, batch_size: int, unit: str) -> None:
    """A round's sample sizes: counts, a positive batch size, and a double-annotated subset no
    larger than the sample; a ValueError says which."""
    if min(total, double) < 0 or batch_size < 1:
        raise ValueError(
            f"{name} and double_{name} must be counts and batch_size positive, found "
            f"{total}, {double}, {batch_size}"
        )
    if double > total:
        raise ValueError(
            f"the double-annotated subset ({double} {unit}) cannot be larger than "
            f"the sample ({total})"
        )


@dataclass(frozen=True)
class Round2Config:
    """Round 2 of the tiers (issue 13); the defaults produced manifest_tiers_r2.csv."""

    seed: int = 20261206
    tiers: int = 1950  # so that 3,000+ posts of both rounds survive skips
    double_tiers: int = 320
    batch_size: int = 120
    split_shares: tuple[tuple[str, float], ...] = SampleConfig.split_shares
    max_post_chars: int = 4000
    min_post_chars: int = 20

    def __post_init__(self) -> None:
        check_sizes("tiers", self.tiers, self.double_tiers, self.batch_size, "posts")


class DrawConfig(Protocol):
    """What drawing and batching read from a sample's config (every kind and round has one)."""

    @property
    def seed(self) -> int: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def split_shares(self) -> tuple[tuple[str, float], ...]: ...


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
    prefer: Callable[[Candidate], bool] | None = None  # drawn before the rest of the pool


def _is_suicidewatch(c: Candidate) -> bool:
    return c.source in POST_SOURCES and c.labels.get(SELF_HARM) == 1


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


RMHD = "rmhd-27-subreddits"
# Round 2: every source of single posts (r/SuicideWatch, mental-health and control subreddits,
# counsellors' questions); GoEmotions comments only as hyperbole hard negatives.
ROUND2_POSTS = POST_SOURCES | {"counselchat", RMHD}
ROUND2_SOURCES = ROUND2_POSTS | {"goemotions"}


def _subreddit_in(c: Candidate, subreddits: frozenset[str]) -> bool:
    return rmhd_subreddit(c.unit_id) in subreddits


def _hyperbole_or_quote(c: Candidate) -> bool:
    control = c.source == "goemotions" or _subreddit_in(c, RMHD_CONTROLS)
    if control and DEATH_WORDS.search(c.text):
        return True
    return c.source in ROUND2_POSTS and mentions_quoted_death(c.text)


def _enriched(test: Callable[[str], bool]) -> Callable[[Candidate], bool]:
    return lambda c: c.source in ROUND2_POSTS and test(c.text)


ROUND2_TIER_STRATA = (
    Stratum("rmhd_suicidewatch", 0.14, lambda c: _subreddit_in(c, RMHD_SUICIDE)),
    Stratum("rmhd_mental_health", 0.22, lambda c: _subreddit_in(c, RMHD_MENTAL_HEALTH)),
    Stratum("rmhd_controls", 0.06, lambda c: _subreddit_in(c, RMHD_CONTROLS)),
    Stratum(
        "distress_remainder",
        0.04,
        lambda c: c.source in POST_SOURCES | {"counselchat"} or _subreddit_in(c, RMHD_LIFE_EVENTS),
    ),
    Stratum(
        "enriched_imminence_v2",
        0.22,
        _enriched(mentions_imminence_v2),
        prefer=lambda c: bool(FINAL_ACT_WORDS.search(c.text)),  # rare: take every one
    ),
    Stratum("enriched_denial", 0.09, _enriched(mentions_denial)),
    Stratum("enriched_recovery", 0.09, _enriched(mentions_recovery)),
    Stratum("enriched_third_party", 0.09, _enriched(mentions_third_party_risk)),
    Stratum("enriched_hyperbole_quotes", 0.05, _hyperbole_or_quote),
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


def text_keys(text: str) -> tuple[str, ...]:
    """Head and tail of the normalised text: catches a body posted again without its title."""
    key = normalise(text)
    return (key,) if len(key) < 80 else ("head:" + key[:120], "tail:" + key[-120:])


def tier_candidates(
    rows: Iterable[Row],
    config: SampleConfig | Round2Config,
    sources: frozenset[str] = POST_SOURCES | {"counselchat", "goemotions"},
) -> list[Candidate]:
    return [
        Candidate(
            unit_id=row.id,
            source=row.source,
            split=row.split,
            text=row.text,
            record={"text": row.text},
            labels=row.labels,
            keys=text_keys(row.text),
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
    config: DrawConfig,
    kind: str,
    taken: Iterable[str] = (),
) -> tuple[list[Drawn], dict[str, int]]:
    """Draw each stratum in order, by split shares; a stratum's shortfall passes to the next.
    `taken`: near-duplicate keys already used (an earlier round's posts): never drawn again.

    Returns the items and the shortfall per stratum (0 where the pool was big enough).
    """
    strata = list(strata)
    quotas = _quotas(total, ((s.name, s.share) for s in strata))
    ordered = sorted(candidates, key=lambda c: c.unit_id)
    taken_keys: set[str] = set(taken)
    drawn: list[Drawn] = []
    shortfalls: dict[str, int] = {}
    carry = 0
    for stratum in strata:
        want = quotas[stratum.name] + carry
        rng = random.Random(f"{config.seed}:{kind}:{stratum.name}")
        pool = [c for c in ordered if stratum.admits(c) and taken_keys.isdisjoint(c.keys)]
        rng.shuffle(pool)
        if stratum.prefer is not None:  # preferred first, each part still in random order
            first = [c for c in pool if stratum.prefer(c)]
            pool = first + [c for c in pool if not stratum.prefer(c)]
        picked = _draw_by_split(pool, want, config, taken_keys)
        drawn.extend(Drawn(c, stratum.name) for c in picked)
        carry = want - len(picked)
        shortfalls[stratum.name] = carry
        if carry:
            log.warning("%s stratum %s: %d short, passed on", kind, stratum.name, carry)
    return drawn, shortfalls


def _draw_by_split(
    pool: list[Candidate], want: int, config: DrawConfig, taken_keys: set[str]
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
    drawn: list[Drawn],
    kind: str,
    config: DrawConfig,
    double: int,
    round_: int = 1,
) -> tuple[list[ManifestItem], dict[str, list[Drawn]]]:
    """Shuffle into pass-1 batches; a random `double` of them also into pass-2 batches, in
    an order of their own. Returns the manifest and {batch name: items}."""
    items = {d.candidate.unit_id: d for d in drawn}
    prefix = round_prefix(kind, round_)
    first = sorted(items)
    random.Random(f"{config.seed}:{prefix}:order").shuffle(first)
    second = random.Random(f"{config.seed}:{prefix}:double").sample(sorted(items), double)
    batches: dict[str, list[Drawn]] = {}
    where: dict[str, dict[int, str]] = {unit: {} for unit in items}
    for pass_, order in ((1, first), (2, second)):
        for number, chunk in enumerate(_chunks(order, config.batch_size), start=1):
            name = batch_name(kind, pass_, number, round_)
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
        write_batches(work_dir, kind, batches)
        write_manifest(annotations_dir / KINDS[kind].manifest_file, manifest)
        result.manifests[kind] = manifest
        result.batch_sizes |= {name: len(members) for name, members in batches.items()}
    _write_summary(annotations_dir / "sample.json", config, result)
    return result


def write_batches(
    work_dir: Path, kind: str, batches: dict[str, list[Drawn]], round_: int = 1
) -> None:
    for stale in work_dir.glob(f"{round_prefix(kind, round_)}-p*.jsonl"):
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
    # entries of later rounds and of kinds drawn on their own (hostile_pairs) stay as they are
    others = {k: v for k, v in read_summary(path).items() if k not in summary}
    dump_summary(path, summary | others)


def read_summary(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def dump_summary(path: Path, summary: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


# --- round 2 (issue 13): tiers under guideline v2 -------------------------------------------

ROUND = 2
BRIEF_FILE = "ANNOTATOR_BRIEF.md"


def sample_round2(
    data_dir: Path,
    work_dir: Path,
    annotations_dir: Path,
    config: Round2Config,
    force: bool = False,
) -> SampleResult:
    """Draw round 2 of the tiers: never a unit of round 1's manifest nor a near duplicate of one.

    Writes tiers-r2-* batches and ANNOTATOR_BRIEF.md to work_dir, manifest_tiers_r2.csv and the
    "round_2" entry of sample.json to annotations_dir; round 1's files are left as they are.
    Refuses to run over round-2 annotator output unless `force`."""
    kind = KINDS["tiers"]
    prefix = round_prefix(kind.name, ROUND)
    labelled = sorted(work_dir.glob(f"{prefix}-*{LABELS_SUFFIX}")) if work_dir.exists() else []
    if labelled and not force:
        raise FileExistsError(
            f"{work_dir} already holds round-2 annotator output ({labelled[0].name}, ...): a new "
            "sample would orphan it. Import it first, or pass --force to sample anyway"
        )
    rows = [row for split in SPLITS for row in load_split(data_dir, split)]
    earlier = read_manifest(annotations_dir / manifest_file(kind, 1))
    earlier_units, earlier_keys = _earlier_units_and_keys(rows, earlier)
    candidates = tier_candidates(rows, config, ROUND2_SOURCES)
    candidates = [c for c in candidates if c.unit_id not in earlier_units]
    near_duplicates = sum(not earlier_keys.isdisjoint(c.keys) for c in candidates)
    drawn, shortfalls = draw(
        candidates, ROUND2_TIER_STRATA, config.tiers, config, prefix, earlier_keys
    )
    manifest, batches = assign_batches(drawn, kind.name, config, config.double_tiers, ROUND)
    clashes = {m.item_id for m in manifest} & {m.item_id for m in earlier}
    if clashes:
        raise ValueError(f"item ids {sorted(clashes)[:3]} are in round 1's manifest already")
    write_batches(work_dir, kind.name, batches, ROUND)
    write_manifest(annotations_dir / manifest_file(kind, ROUND), manifest)
    sizes = {name: len(members) for name, members in batches.items()}
    result = SampleResult({kind.name: manifest}, sizes, {kind.name: shortfalls})
    excluded = {"round_1_units": len(earlier_units), "near_duplicates_of_round_1": near_duplicates}
    _write_round_summary(annotations_dir / "sample.json", config, result, excluded)
    write_annotator_brief(work_dir / BRIEF_FILE, sizes)
    return result


def _earlier_units_and_keys(
    rows: list[Row], earlier: list[ManifestItem]
) -> tuple[set[str], set[str]]:
    """An earlier round's unit ids and the near-duplicate keys of their texts."""
    texts = {row.id: row.text for row in rows}
    units = {item.unit_id for item in earlier}
    missing = sorted(units - set(texts))
    if missing:
        raise ValueError(
            f"{len(missing)} units of round 1's manifest are not in the prepared data (e.g. "
            f"{missing[0]}): prepare it from every source, as for round 1, so that their near "
            "duplicates can be left out"
        )
    return units, {key for unit in units for key in text_keys(texts[unit])}


def _write_round_summary(
    path: Path, config: Round2Config, result: SampleResult, excluded: dict[str, int]
) -> None:
    """sample.json: round 1's entries as they are, plus (or replacing) the "round_2" entry."""
    entry = {
        "config": asdict(config),
        "excluded": excluded,
        "kinds": {kind: counts(manifest) for kind, manifest in result.manifests.items()},
        "shortfalls": result.shortfalls,
        "batches": result.batch_sizes,
    }
    dump_summary(path, read_summary(path) | {f"round_{ROUND}": entry})


def write_annotator_brief(path: Path, batch_sizes: dict[str, int]) -> None:
    """What an annotator of round 2 reads first: the guideline, the files, the output format."""
    rows = [
        f"| `{name}.jsonl` | {size} | `{name}{LABELS_SUFFIX}` |"
        for name, size in batch_sizes.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_BRIEF.format(batches="\n".join(rows)), encoding="utf-8")


_BRIEF = """# Annotator brief: risk tiers, round 2

Guideline: `docs/annotation/self_harm_tiers.md` (v2). Read it in full before the first item; it
is all you need. Label each post on its own, from its text only.

Each batch file below holds one JSON object per line: `{{"id": "h-...", "text": "..."}}`. For a
batch, write its output file in this folder, one line per item of the batch, in any order:

    {{"id": "h-...", "tier": "crisis", "evidence_quote": "an exact phrase of the post"}}

- `tier`: `crisis`, `red`, `amber`, `green` or `skip` (guideline, Q0);
- `evidence_quote`: for `crisis` and `red` only (guideline, section 6), copied verbatim from the
  post; leave it out for the other tiers;
- `note` (optional): at most 200 characters, only when something about the item must be said.

Every item of a batch needs a line. Batches named `-p2-` are a blind second pass over items of
the `-p1-` batches: whoever labels a `-p2-` batch must not read any `-p1-` output. Then run
`triage data annotations import`, which checks every file and lists every problem.

| batch file | items | output file to write |
|---|---|---|
{batches}
"""
