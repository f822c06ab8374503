"""Thread-level signals of corumination from the literature (issue 7), as plain functions.

Rose (2002) and later work on corumination online describe three things beyond a single reply:
- **repetition**: the same problem gone over again and again (message similarity between turns
  is the usual proxy for repetitive thinking);
- **negative affect that persists or grows** across turns;
- **no coping, problem-solving or signposting move** by the peers.

These are features, not labels: nothing here was fitted to the annotations. Serving code: the
standard library and the label names only (the model's scores come in from outside).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence

from triage.domain.labels import RISK_LABELS

_WORD = re.compile(r"[a-z0-9']+")

# Function words carry no topic: two turns that share only these do not repeat a problem.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    im i'm ive i've id i'd dont don't doesnt doesn't didnt didn't cant can't wont won't isnt
    isn't its it's thats that's youre you're theyre they're really also even get got like one
    know think much still lot lots thing things something anything everything way well yeah oh
    ok okay just gonna wanna
    """.split()
)

# Coping, problem-solving and signposting cues in a reply (cf. the redirect moves of
# docs/annotation/corumination.md). A short, hand-written list: it misses paraphrases and ignores
# negation ("therapy didn't help" counts), so it is one weak signal among three, never a label.
COPING_CUES = (
    # problem solving, suggestions
    r"have you tried",
    r"you could",
    r"you might",
    r"maybe try",
    r"try to",
    r"try and",
    r"worth (?:a )?try",
    r"what if you",
    r"what has helped",
    r"what helps",
    r"have you thought about",
    r"one step at a time",
    r"make a plan",
    r"write (?:it|things|them) down",
    r"journal",
    # coping that worked for the writer
    r"(?:it|that|this) helped me",
    r"helps me",
    r"what got me (?:out|through)",
    r"go for a walk",
    r"went for a walk",
    r"exercise",
    r"breath(?:e|ing)",
    r"meditat\w*",
    r"grounding",
    r"self[- ]care",
    # signposting: support elsewhere
    r"therap(?:y|ist)",
    r"counsel(?:l?or|l?ing)",
    r"psychiatrist",
    r"psychologist",
    r"doctor",
    r"\bgp\b",
    r"helpline",
    r"hotline",
    r"crisis (?:line|text|team)",
    r"samaritans",
    r"lifeline",
    r"\b988\b",
    r"support group",
    r"reach out",
    r"talk to (?:someone|somebody|a |your |them|him|her)",
    r"professional help",
    r"(?:get|seek|find) help",
)
_COPING = re.compile(r"\b(?:" + "|".join(COPING_CUES) + r")", re.IGNORECASE)


def content_words(text: str) -> frozenset[str]:
    """The distinct words of a text that can carry a topic (lower case, no stop words)."""
    return frozenset(
        word
        for word in _WORD.findall(text.lower())
        if len(word) > 2 and word not in STOPWORDS and not word.isdigit()
    )


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Cosine similarity of two binary bag-of-words vectors (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def repetition(texts: Sequence[str]) -> list[tuple[float, int | None]]:
    """Per turn: the highest similarity to any earlier turn, and that turn's index.

    Turn 0 has no earlier turn: (0.0, None). An inverted index counts shared words, so only
    turns that share a word are compared (a 200-post thread takes a few milliseconds).
    """
    words = [content_words(text) for text in texts]
    turns_with: dict[str, list[int]] = defaultdict(list)
    found: list[tuple[float, int | None]] = []
    for i, current in enumerate(words):
        shared: dict[int, int] = defaultdict(int)
        for word in current:
            for j in turns_with[word]:
                shared[j] += 1
            turns_with[word].append(i)
        best, where = 0.0, None
        for j in sorted(shared):
            value = shared[j] / math.sqrt(len(current) * len(words[j]))
            if value > best:
                best, where = value, j
        found.append((best, where))
    return found


def has_coping_cue(text: str) -> bool:
    """True when the text has a coping, problem-solving or signposting cue (COPING_CUES)."""
    return _COPING.search(text) is not None


def negative_affect(scores: Mapping[str, float | None]) -> float | None:
    """A turn's negative affect: the higher of the model's distress and self_harm scores.

    Both, because `distress` is defined as distress *without* self-harm content: a post about
    wanting to die may score low on it. None when the model gave neither.
    """
    values = [scores.get(label) for label in RISK_LABELS]
    known = [v for v in values if v is not None and not math.isnan(v)]
    return max(known) if known else None


def affect_trend(values: Sequence[float]) -> float:
    """Mean of the later half of the turns minus mean of the earlier half (0 for < 2 turns).

    Positive: negative affect grows as the thread goes on; negative: it eases.
    """
    if len(values) < 2:
        return 0.0
    half = len(values) // 2
    earlier, later = values[:half], values[half:]
    return sum(later) / len(later) - sum(earlier) / len(earlier)
