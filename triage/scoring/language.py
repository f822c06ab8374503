"""Which language a post is in, and whether the model can read it (issue 12).

A post in a language the bundle was not trained on gets meaningless scores: "Je ne veux plus
vivre. Je vais me suicider ce soir." scored self_harm 0.01, green. Such a post goes to a person
(decision.py raises its tier to amber) instead of being trusted.

Identification is py3langid: naive Bayes over byte n-grams, its model inside its wheel (no
download), numpy only, deterministic; probabilities normalised per text. Routing must not flap on
what every community is full of ("lol", "ok thanks", emoji, links), so a post is routed only when
- it is long enough to tell: MIN_LETTERS letters and MIN_WORDS words once links, mentions,
  numbers and chat words that every language writes alike ("lol", "haha", "ok") are removed
  (MIN_LETTERS_OTHER_SCRIPT letters in a non-Latin script, where CJK writes no spaces);
  shorter posts are "und" (undetermined) and readable;
- the readable languages together have a probability under MAX_READABLE_PROBABILITY, and the best
  guess at least MIN_CONFIDENCE (in a non-Latin script the script is enough: the guess may waver
  between Russian and Ukrainian, never towards English); otherwise "und", readable;
- its identifiable sentences are not mostly (READABLE_SHARE of their letters) in a readable
  language: "I can't cope. Je suis fatigué. Nobody notices..." is English.
Candidates are the CANDIDATES below, not all 140 of the identifier's languages: the rare ones
(Volapuk, Nigerian Pidgin, Sesotho...) are what short English chatter gets mistaken for. The
cut-offs were set on the texts in tests/scoring/test_language.py, not on a dataset.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from triage.domain.text import sentence_spans

UNDETERMINED = "und"  # ISO 639-2: too short, too unsure, or no language at all
MIN_LETTERS = 20
MIN_WORDS = 3
MIN_LETTERS_OTHER_SCRIPT = 6
MIN_CONFIDENCE = 0.9
MAX_READABLE_PROBABILITY = 0.01
READABLE_SHARE = 0.5

# 58 widely written languages, among which an unreadable post's language is named. A
# post in a language outside the list is still named as the closest one in it, and routed.
CANDIDATES: tuple[str, ...] = (
    "af", "ar", "az", "be", "bg", "bn", "bs", "ca", "cs", "cy", "da", "de", "el", "en", "es",
    "et", "eu", "fa", "fi", "fr", "ga", "gl", "he", "hi", "hr", "hu", "hy", "id", "is", "it",
    "ja", "ka", "kk", "ko", "lt", "lv", "mk", "ms", "nl", "no", "pl", "pt", "ro", "ru", "sk",
    "sl", "sq", "sr", "sv", "sw", "ta", "th", "tl", "tr", "uk", "ur", "vi", "zh",
)  # fmt: skip

_NOT_LANGUAGE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[@#]\w+|\d+", re.IGNORECASE)
# Chat words written the same in every language: no evidence of one, and "c'est la vie lol lol"
# must not turn French by its padding
_CHAT_WORDS = re.compile(
    r"\b(?:lo+l[lo]*|lmf?ao+|rofl|(?:ha|he|hi|ah|ja|je){2,}h?|x+d+|omg|wtf|idk|tbh|ngl|brb|ikr|"
    r"smh|fml|ok+|okay|k+)\b",
    re.IGNORECASE,
)
_NOT_LETTERS = re.compile(r"[^\w'’]|[\d_]")
_identifier: LanguageIdentifier | None = None
_identifier_lock = threading.Lock()


@dataclass(frozen=True)
class LanguageGuess:
    """The identifier's best candidate and its probability (0..1); "und" when no letters."""

    code: str
    confidence: float


@dataclass(frozen=True)
class LanguageCheck:
    """The language a post is reported in, and whether the model reads it."""

    language: str  # an ISO 639-1 code, or "und"
    supported: bool


def identifier() -> LanguageIdentifier:
    """The shared identifier, loaded once (about a second); classify() only reads it."""
    global _identifier
    if _identifier is not None:
        return _identifier
    with _identifier_lock:
        if _identifier is None:
            loaded = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            loaded.set_languages(CANDIDATES)
            _identifier = loaded
        return _identifier


def identify(text: str) -> LanguageGuess:
    """The most likely candidate language of `text`, its words only (see _words)."""
    ranked = _ranked(_words(text))
    if not ranked:
        return LanguageGuess(UNDETERMINED, 0.0)
    code = max(ranked, key=ranked.__getitem__)
    return LanguageGuess(code, round(ranked[code], 4))


def check_language(text: str, readable: Sequence[str]) -> LanguageCheck:
    """Whether a model that reads the `readable` languages can read `text` (see the module)."""
    words = _words(text)
    if not _long_enough(words):
        return LanguageCheck(UNDETERMINED, True)
    ranked = _ranked(words)
    code = max(ranked, key=ranked.__getitem__)
    if code in readable:
        return LanguageCheck(code, True)
    if not _surely_unreadable(words, ranked, readable):
        return LanguageCheck(UNDETERMINED, True)
    mostly = _mostly_readable(text, readable)
    if mostly is not None:
        return LanguageCheck(mostly, True)
    return LanguageCheck(code, False)


def _words(text: str) -> str:
    """The words that carry language, one space apart: no links, numbers, chat words, emoji or
    punctuation, so that decorating a post changes neither its features nor its length (which
    sets how sure the identifier is)."""
    words = _CHAT_WORDS.sub(" ", _NOT_LANGUAGE.sub(" ", text))
    return " ".join(_NOT_LETTERS.sub(" ", words).split())


def _ranked(words: str) -> dict[str, float]:
    """Each candidate's probability; empty when `words` has no letters."""
    if not any(char.isalpha() for char in words):
        return {}
    return {code: float(p) for code, p in identifier().rank(words)}


def _letters(text: str) -> int:
    return sum(char.isalpha() for char in text)


def _other_script(words: str) -> bool:
    """Most letters are outside the Latin script (Cyrillic, Arabic, CJK...)."""
    letters = [char for char in words if char.isalpha()]
    latin = sum(unicodedata.name(char, "").startswith("LATIN") for char in letters)
    return latin < len(letters) / 2


def _long_enough(words: str) -> bool:
    if _other_script(words):  # CJK writes no spaces, and a few of its letters say a lot
        return _letters(words) >= MIN_LETTERS_OTHER_SCRIPT
    return _letters(words) >= MIN_LETTERS and len(words.split()) >= MIN_WORDS


def _surely_unreadable(words: str, ranked: dict[str, float], readable: Sequence[str]) -> bool:
    """The readable languages are all but ruled out, and the best guess is confident; in another
    script the script is enough (the guess may waver between Russian and Ukrainian)."""
    if sum(ranked.get(code, 0.0) for code in readable) >= MAX_READABLE_PROBABILITY:
        return False
    return max(ranked.values()) >= MIN_CONFIDENCE or _other_script(words)


def _mostly_readable(text: str, readable: Sequence[str]) -> str | None:
    """The readable language holding READABLE_SHARE of the letters of the sentences long enough
    to identify alone, if one does; None otherwise."""
    letters: dict[str, int] = {}
    for start, end in sentence_spans(text):
        words = _words(text[start:end])
        if _long_enough(words):
            code = identify(words).code
            letters[code] = letters.get(code, 0) + _letters(words)
    total = sum(letters.values())
    for code in readable:
        if total and letters.get(code, 0) >= READABLE_SHARE * total:
            return code
    return None
