"""Plain-text helpers shared by serving (evidence spans, text repair at the schema boundary) and
training (crop augmentation)."""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*", re.MULTILINE)
REPLACEMENT = "\ufffd"
# characters a str may hold but storage refuses: NUL (PostgreSQL text) and lone UTF-16
# surrogates (not encodable as UTF-8: SQLite, tokenizers, logs); JSON "\ud83d" decodes to one
_UNSTORABLE = {"NUL": re.compile("\x00"), "lone surrogate": re.compile("[\ud800-\udfff]")}


def clean_text(value: str) -> tuple[str, list[str]]:
    """`value` with every NUL and lone surrogate replaced by U+FFFD, and what was replaced
    (["1 NUL replaced", "2 lone surrogates replaced"]; [] for intact text).

    Replaced rather than removed so the text keeps its length: evidence offsets still point into
    the text the client sent."""
    repairs = []
    for name, pattern in _UNSTORABLE.items():
        value, count = pattern.subn(REPLACEMENT, value)
        if count:
            repairs.append(f"{count} {name}{'s' if count > 1 else ''} replaced")
    return value, repairs


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in `text`, stripped of surrounding whitespace."""
    spans = []
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end - start > 1:
            spans.append((start, end))
    return spans
