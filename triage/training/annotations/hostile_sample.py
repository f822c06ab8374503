"""`triage data annotations sample --kind hostile_pairs`: replies read with their parent, to be
labelled hostile or not (issue 13; guideline docs/annotation/hostile_in_context.md).

Why a sample of its own: the public hostile sets label replies to hate, Wikipedia talk and news
comments, and the shipped model learnt their profanity rather than attacks on a person in the
conversation; replies to a vulnerable poster, where an attack matters most, are thin in them.
So the draw
- takes replies that have a parent (`parent_text`) from the reply-in-context sources;
- gives at least half the sample to vulnerable parents: a post that discloses distress or risk
  (`vulnerable_parent`: the shipped bundle flags it self_harm or distress, read alone, and it is
  a DiaSafety user's post or has first-person disclosure words, and is no question about bodily
  symptoms); the sample fails rather than fall below `min_vulnerable_share`;
- enriches for the hard cases: profane replies (supportive swearing and abuse), dismissal and
  polite invalidation, taunts and goading, and (under a vulnerable parent) cheer that may be
  oblivious or mocking; random strata are drawn first, so each is a simple random sample of its
  pool;
- takes one reply per parent and never two near-duplicate replies;
- aims at 25% test / 20% dev / 55% train by the row's split within each stratum (sample.draw).

Writes `hostile-p1-NN` and blind `hostile-p2-NN` batches and HOSTILE_BRIEF.md to the work
folder, manifest_hostile_pairs.csv and the "hostile_pairs" entry of sample.json to the
annotations folder; every other kind's files are left as they are.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from triage.domain.labels import RISK_LABELS
from triage.training.annotations.files import LABELS_SUFFIX, write_manifest
from triage.training.annotations.sample import (
    SUICIDE_WORDS_V2,
    Candidate,
    SampleConfig,
    SampleResult,
    Stratum,
    assign_batches,
    check_sizes,
    counts,
    draw,
    dump_summary,
    more_words,
    read_summary,
    text_keys,
    words_regex,
    write_batches,
)
from triage.training.data.annotation_labels import KINDS
from triage.training.data.prepare import load_split
from triage.training.data.rows import SPLITS, Row, normalise

log = logging.getLogger(__name__)

KIND = KINDS["hostile_pairs"]
BRIEF_FILE = "HOSTILE_BRIEF.md"
GUIDELINE = "docs/annotation/hostile_in_context.md"
# Every source whose rows are a reply read with the post it answers and labelled for hostility
# (ucc-unhealthy, the sixth hostile set of 2026-12-06, has no parent).
HOSTILE_SOURCES = frozenset(
    {
        "diasafety",
        "counter-context",
        "cat-wiki-context",
        "replies-to-hate",
        "reddit-counterspeech-attacks",
    }
)

# --- heuristics (enrichment only: they choose what to annotate, never a label) ----------------

PROFANITY_WORDS = words_regex(
    r"fuck", r"shit", r"bastard", r"bitch", r"damn", r"crap\b", r"crappy", r"wtf\b", r"piss",
    r"bloody\b", r"arse", r"ass\b", r"asshole", r"dick\b", r"hell\b", r"cunt", r"twat",
    r"bollocks", r"prick\b", r"screw (?:him|her|them|that|you|this)",
)  # fmt: skip
# Minimising, advice that denies the feeling, and polite-sounding invalidation.
DISMISSIVE_WORDS = words_regex(
    r"get over (?:it|yourself|him|her)", r"move on\b", r"grow up", r"man up", r"toughen up",
    r"suck it up", r"stop (?:whining|complaining|crying|moaning|being so|feeling sorry)",
    r"first world", r"(?:others|other people|people) have it (?:so much |much |way )?worse",
    r"could be (?:so much |much |way )?worse", r"at least you",
    r"not (?:that|so|a big) (?:bad|deal)",
    r"every(?:one|body) (?:feels|gets|has|goes through)", r"just (?:cheer up|be happy|smile|"
    r"think positive|get over|relax|calm down|stop)", r"(?:look on|think of) the bright side",
    r"happiness is a choice", r"choose to be happy", r"overreact", r"(?:so|being) dramatic",
    r"(?:all )?in your head", r"overthink", r"calm down", r"no offen[cs]e",
    r"with (?:all )?due respect", r"just saying", r"who cares", r"so what", r"whatever",
    r"selfish", r"lazy\b", r"(?:your|ur) (?:own )?fault", r"you chose", r"deal with it",
    r"you'?ll be fine", r"it'?s not a big deal",
)  # fmt: skip
# Attacks on the person, mockery, and goading towards self-harm.
TAUNT_WORDS = words_regex(
    r"do it\b", r"go ahead", r"go on then", r"no ?(?:one|body) (?:would|will|is going to) "
    r"(?:miss|care|notice)", r"no ?(?:one|body) (?:cares|asked|likes you|wants you)",
    r"(?:for|wants?|seeking|seeker|seek) attention", r"attention[- ]?(?:seek|whor)",
    r"(?:post|say|said|write|whine about) (?:this|that|it) (?:every|all the time|again)",
    r"here we go again", r"if you (?:really|meant|actually|were serious)", r"kill yourself",
    r"kys\b", r"pathetic", r"weak\b", r"loser", r"idiot", r"stupid", r"moron", r"dumb\b",
    r"shut up", r"lol\b", r"lmao", r"haha", r"cry (?:me a river|more|baby)", r"crybaby",
    r"snowflake", r"coward", r"you(?:'re| are) (?:a|an|just|so|being) ", r"get a life",
)  # fmt: skip
# Cheer, praise or light chat: under a disclosure it may be oblivious, invalidating or mocking
# ("that's great!", "good for you", "sounds fun") - the hard case between clumsy and hostile.
UPBEAT_WORDS = words_regex(
    r"great\b", r"good for you", r"nice\b", r"cool\b", r"awesome", r"lucky", r"congrat",
    r"fun\b", r"glad\b", r"love that", r"i like that", r"sounds good", r"interesting",
    r"(?:you need to|just) be happy", r"be positive", r"cheer up", r"smile\b",
)  # fmt: skip
# A first-person disclosure of distress or risk in a parent (with the v2 suicide words).
DISCLOSURE_WORDS = more_words(
    SUICIDE_WORDS_V2,
    r"i(?:'m| am| feel| have been|'ve been)(?: so| really| very| just| always| constantly)? "
    r"(?:depressed|lonely|alone|hopeless|worthless|suicidal|anxious|scared|terrified|broken|"
    r"empty|numb|exhausted|miserable|a failure|a burden|useless|overwhelmed)\b",
    r"i feel (?:so |really )?lost", r"i(?:'m| am) (?:really )?struggling\b(?! to)",
    r"my (?:depression|anxiety|ptsd|bipolar|eating disorder|self[- ]harm|therapist|"
    r"psychiatrist)", r"i can'?t (?:cope|go on|take (?:it|this)|do this|stop crying)",
    r"panic attacks?", r"no reason to live", r"i hate (?:myself|my life)", r"ending it all",
    r"(?:was|been|got) (?:raped|abused|assaulted)", r"i relapsed",
)  # fmt: skip


def is_profane(reply: str) -> bool:
    return bool(PROFANITY_WORDS.search(reply))


def is_dismissive(reply: str) -> bool:
    return bool(DISMISSIVE_WORDS.search(reply))


def is_taunt(reply: str) -> bool:
    return bool(TAUNT_WORDS.search(reply))


def is_upbeat(reply: str) -> bool:
    return bool(UPBEAT_WORDS.search(reply))


def hard_case_score(reply: str) -> int:
    """How many hard-case cue families a reply has: profanity, dismissal, taunt, cheer (0-4)."""
    cues = (is_profane, is_dismissive, is_taunt, is_upbeat)
    return sum(int(cue(reply)) for cue in cues)


# Questions about bodily symptoms (DiaSafety's medical contexts): the model reads the worry as
# distress, but a reply to them is not what a peer-support moderator watches for.
SYMPTOM_WORDS = words_regex(
    r"covid", r"corona", r"pneumonia", r"sore throat", r"cough", r"fever", r"symptoms?\b",
    r"antibiotic", r"sinus", r"flu\b", r"infection", r"headache", r"chest pain", r"tight chest",
    r"rash\b", r"diarrh", r"nausea", r"blood pressure", r"\bdoc(?:tor)?\b",
)  # fmt: skip
# Sources whose parents are their users' own posts, mostly about themselves; the parents of the
# other sources are debate (hate, counter-speech, Wikipedia talk), where the model's flags fire on
# arguments about suicide, rape or depression, so first-person words must confirm them.
OWN_POST_SOURCES = frozenset({"diasafety"})


def discloses_distress(parent: str) -> bool:
    return bool(DISCLOSURE_WORDS.search(parent))


def asks_about_symptoms(parent: str) -> bool:
    return bool(SYMPTOM_WORDS.search(parent)) and not discloses_distress(parent)


def vulnerable_parent(parent: str, source: str, flagged: AbstractSet[str] | None) -> bool:
    """Does the parent disclose distress or risk? `flagged`: the parents the model flags (None:
    no model, disclosure words alone decide)."""
    if flagged is None:
        return discloses_distress(parent)
    if parent not in flagged or asks_about_symptoms(parent):
        return False
    return source in OWN_POST_SOURCES or discloses_distress(parent)


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HostileConfig:
    """Sizes and limits of the hostile-pairs sample; the defaults produced
    manifest_hostile_pairs.csv."""

    seed: int = 20261207
    pairs: int = 600
    double_pairs: int = 150
    batch_size: int = 50
    split_shares: tuple[tuple[str, float], ...] = SampleConfig.split_shares
    max_parent_chars: int = 3000
    max_reply_chars: int = 2500
    min_vulnerable_share: float = 0.5

    def __post_init__(self) -> None:
        check_sizes("pairs", self.pairs, self.double_pairs, self.batch_size, "pairs")
        if not 0 <= self.min_vulnerable_share <= 1:
            raise ValueError(
                f"min_vulnerable_share must be a share, found {self.min_vulnerable_share}"
            )


# --- vulnerable parents -----------------------------------------------------------------------


class ParentFlagger(Protocol):
    """Judges parents vulnerable by a model (BundleFlagger; tests pass their own)."""

    def __call__(self, parents: Sequence[str]) -> set[str]:
        """The parent texts judged vulnerable."""
        ...

    def describe(self) -> dict:
        """How it judges, for sample.json."""
        ...


@dataclass
class BundleFlagger:
    """Flags a parent the bundle flags self_harm or distress, read alone, at its own thresholds.

    onnxruntime only (no torch); about 140 parents a second on one core of the dev machine."""

    bundle_dir: Path
    labels: tuple[str, ...] = RISK_LABELS

    def __post_init__(self) -> None:
        from triage.domain.tier_rules import TierRules
        from triage.paths import DEFAULT_CONFIG_DIR
        from triage.scoring.bundle import load_bundle
        from triage.scoring.scorer import OnnxScorer

        self.bundle = load_bundle(self.bundle_dir)
        rules = TierRules.load(DEFAULT_CONFIG_DIR / "tiers.yaml")
        self.scorer = OnnxScorer(self.bundle, rules, evidence=False, threads=1)

    def __call__(self, parents: Sequence[str]) -> set[str]:
        from triage.domain.labels import LABELS

        texts = list(parents)
        probabilities = self.scorer.probabilities(texts, [None] * len(texts))
        columns = {label: LABELS.index(label) for label in self.labels}
        return {
            text
            for text, row in zip(texts, probabilities, strict=True)
            if any(row[j] >= self.bundle.thresholds[label] for label, j in columns.items())
        }

    def describe(self) -> dict:
        return {
            "bundle": self.bundle.name,
            "version": self.bundle.version,
            "flags": {label: self.bundle.thresholds[label] for label in self.labels},
        }


# --- candidates and strata --------------------------------------------------------------------

VULNERABLE = "vulnerable"  # Candidate.labels key: 1 when the parent is judged vulnerable


def eligible(row: Row, config: HostileConfig) -> bool:
    """A reply with a parent, from a hostile-in-context source, within the length limits."""
    return (
        row.source in HOSTILE_SOURCES
        and bool(row.parent_text)
        and bool(row.text.strip())
        and len(row.text) <= config.max_reply_chars
        and len(row.parent_text or "") <= config.max_parent_chars
    )


def hostile_candidates(
    rows: Iterable[Row], config: HostileConfig, flagged: AbstractSet[str] | None = None
) -> list[Candidate]:
    """One candidate per eligible reply; `flagged`: the parent texts the model flags (None: no
    model), read by `vulnerable_parent`."""
    return [
        Candidate(
            unit_id=row.id,
            source=row.source,
            split=row.split,
            text=row.text,
            record={"parent_text": row.parent_text, "text": row.text},
            labels={VULNERABLE: int(vulnerable_parent(row.parent_text or "", row.source, flagged))},
            score=hard_case_score(row.text),
            # one reply per parent, and never two near-duplicate replies
            keys=("parent:" + normalise(row.parent_text or ""), *text_keys(row.text)),
        )
        for row in rows
        if eligible(row, config)
    ]


def _is_vulnerable(c: Candidate) -> bool:
    return c.labels.get(VULNERABLE) == 1


def _when(
    vulnerable: bool, test: Callable[[str], bool] | None = None
) -> Callable[[Candidate], bool]:
    def admits(c: Candidate) -> bool:
        return _is_vulnerable(c) == vulnerable and (test is None or test(c.text))

    return admits


def _dismissive_or_taunt(reply: str) -> bool:
    return is_dismissive(reply) or is_taunt(reply)


# Vulnerable strata first; their enriched pools are small (tens of replies in the prepared data),
# so vulnerable_remainder, a random draw of what they leave, takes their shortfall and keeps the
# sample at 55% vulnerable, above the 50% floor.
HOSTILE_STRATA = (
    Stratum("vulnerable_random", 0.25, _when(True)),
    Stratum("vulnerable_taunt", 0.08, _when(True, is_taunt)),
    Stratum("vulnerable_profane", 0.03, _when(True, is_profane)),
    Stratum("vulnerable_dismissive", 0.03, _when(True, is_dismissive)),
    Stratum("vulnerable_upbeat", 0.09, _when(True, is_upbeat)),
    Stratum("vulnerable_remainder", 0.07, _when(True)),
    Stratum("other_random", 0.15, _when(False)),
    Stratum("other_profane", 0.15, _when(False, is_profane)),
    Stratum("other_dismissive_taunt", 0.15, _when(False, _dismissive_or_taunt)),
)


# --- the sample -------------------------------------------------------------------------------


def sample_hostile(
    data_dir: Path,
    work_dir: Path,
    annotations_dir: Path,
    config: HostileConfig,
    flag_parents: ParentFlagger | None = None,
    force: bool = False,
) -> SampleResult:
    """Draw the hostile pairs; `flag_parents` judges parents vulnerable (None: disclosure words
    only). Refuses to run over hostile annotator output unless `force`."""
    labelled = sorted(work_dir.glob(f"{KIND.prefix}-*{LABELS_SUFFIX}")) if work_dir.exists() else []
    if labelled and not force:
        raise FileExistsError(
            f"{work_dir} already holds hostile-pairs annotator output ({labelled[0].name}, ...): "
            "a new sample would orphan it. Import it first, or pass --force to sample anyway"
        )
    rows = [row for split in SPLITS for row in load_split(data_dir, split)]
    rows = [row for row in rows if eligible(row, config)]
    parents = sorted({row.parent_text or "" for row in rows})
    flagged = flag_parents(parents) if flag_parents is not None else None
    log.info("hostile pairs: %d parents, %d flagged by the model", len(parents), len(flagged or ()))
    candidates = hostile_candidates(rows, config, flagged)
    drawn, shortfalls = draw(candidates, HOSTILE_STRATA, config.pairs, config, KIND.name)
    vulnerable = sum(_is_vulnerable(d.candidate) for d in drawn)
    if drawn and vulnerable < config.min_vulnerable_share * len(drawn):
        raise ValueError(
            f"only {vulnerable} of {len(drawn)} drawn pairs have a vulnerable parent (at least "
            f"{config.min_vulnerable_share:.0%} wanted): the prepared data holds too few"
        )
    manifest, batches = assign_batches(drawn, KIND.name, config, config.double_pairs)
    write_batches(work_dir, KIND.name, batches)
    write_manifest(annotations_dir / KIND.manifest_file, manifest)
    sizes = {name: len(members) for name, members in batches.items()}
    result = SampleResult({KIND.name: manifest}, sizes, {KIND.name: shortfalls})
    how = flag_parents.describe() if flag_parents is not None else {"bundle": None}
    pools = _pools(candidates, flagged)
    _write_summary(annotations_dir / "sample.json", config, result, how | pools, vulnerable)
    write_hostile_brief(work_dir / BRIEF_FILE, sizes)
    return result


def _pools(candidates: list[Candidate], flagged: AbstractSet[str] | None) -> dict:
    """Candidate counts: parents flagged by the model, with disclosure words, about symptoms,
    judged vulnerable; per stratum's rule."""
    parents = [c.record["parent_text"] for c in candidates]
    return {
        "candidates": len(candidates),
        "flagged_by_model": sum(p in (flagged or ()) for p in parents),
        "disclosure_words": sum(discloses_distress(p) for p in parents),
        "symptom_questions": sum(asks_about_symptoms(p) for p in parents),
        "vulnerable": sum(_is_vulnerable(c) for c in candidates),
        "stratum_pools": {s.name: sum(s.admits(c) for c in candidates) for s in HOSTILE_STRATA},
        "vulnerable_by_source": dict(
            sorted(Counter(c.source for c in candidates if _is_vulnerable(c)).items())
        ),
    }


def _write_summary(
    path: Path, config: HostileConfig, result: SampleResult, vulnerable_how: dict, drawn: int
) -> None:
    """sample.json: every other entry as it is, plus (or replacing) "hostile_pairs"."""
    entry = {
        "config": asdict(config),
        "vulnerable_parents": vulnerable_how | {"drawn": drawn},
        "kinds": {kind: counts(manifest) for kind, manifest in result.manifests.items()},
        "shortfalls": result.shortfalls,
        "batches": result.batch_sizes,
    }
    dump_summary(path, read_summary(path) | {KIND.name: entry})


def write_hostile_brief(path: Path, batch_sizes: dict[str, int]) -> None:
    """What an annotator of hostile pairs reads first: the guideline, the files, the format."""
    rows = [
        f"| `{name}.jsonl` | {size} | `{name}{LABELS_SUFFIX}` |"
        for name, size in batch_sizes.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_BRIEF.format(batches="\n".join(rows), guideline=GUIDELINE), encoding="utf-8")


_BRIEF = """# Annotator brief: hostile replies, read with their parent

You label **replies read with the post they answer**: is the reply hostile to a person in the
conversation?

Read `{guideline}` in full before the first item; it is all you need.
Do not look anything up, and label each item from its two texts only.

## Input

Your batch file is `annotation/work/<batch>.jsonl`, one JSON object per line:

    {{"id": "h-0123456789ab", "parent_text": "the post being answered", "text": "the reply"}}

Label the reply (`text`), read with its parent (`parent_text`). Never label the parent.

## Output

Write `annotation/work/<batch>.labels.jsonl` (the batch name with `.labels.jsonl` for
`.jsonl`): UTF-8, one JSON object per line, one line for every item of the batch, in any
order, nothing else in the file:

    {{"id": "h-0123456789ab", "hostile": "hostile", "evidence_quote": "nobody here would notice"}}
    {{"id": "h-1a2b3c4d5e6f", "hostile": "not_hostile"}}
    {{"id": "h-abcdef012345", "hostile": "skip", "note": "reply is in Portuguese"}}

- `id`: copied from the batch item.
- `hostile`: exactly one of `hostile`, `not_hostile`, `skip` (guideline, Q0 for skip).
- `evidence_quote`: **required for `hostile`, forbidden otherwise**: the shortest phrase of the
  **reply** (`text`, not the parent) that makes it hostile, copied character for character
  (only whitespace may differ). Leave the key out for `not_hostile` and `skip`.
- `note` (optional): a string of at most 200 characters, only when something must be said.

Each line must be valid JSON: write it with a JSON library, or escape `"` and `\\` inside a
quote (`\\"`, `\\\\`); non-ASCII characters may stay as they are. No other keys. An id
labelled twice, an id not in the batch, a missing item, a label outside the three, or a quote
not found in the reply makes the import fail.

Batches named `-p2-` are a blind second pass over items of the `-p1-` batches: whoever labels a
`-p2-` batch must not read any `-p1-` output, and the other way round.

## Checking a file

To check one output file without touching the repository's label files, run from the
repository root (a copy of the annotations folder takes the result):

    tmp=$(mktemp -d) && cp annotation/work/<batch>.jsonl annotation/work/<batch>.labels.jsonl \\
      "$tmp"/ && cp -r annotations "$tmp"/notes && \\
      .venv/bin/triage data annotations import --work "$tmp" --annotations "$tmp"/notes

It prints `imported 1 files` or every problem, with line numbers. Only whoever gathers the
batches runs the real `triage data annotations import`.

## Batches

| batch file | items | output file to write |
|---|---|---|
{batches}
"""
