"""Plain-text helpers shared by serving (evidence spans) and training (crop augmentation)."""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*", re.MULTILINE)


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
