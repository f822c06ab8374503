"""Repairs for how some public datasets store their text (encodings, mojibake, tweet markup).

Kept apart from the adapters so each repair has one name and one test.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path

_CP1252_FALLBACK = "triage-cp1252-fallback"


def _cp1252_for_bad_bytes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error(_CP1252_FALLBACK, _cp1252_for_bad_bytes)


def decode_mixed(data: bytes) -> str:
    """UTF-8, except for stray Windows-1252 bytes (CAMS mixes both in one file)."""
    return data.decode("utf-8", errors=_CP1252_FALLBACK)


def read_csv_mixed(path: Path) -> Iterator[dict[str, str]]:
    """csv.DictReader over a file that is mostly UTF-8 with some Windows-1252 bytes."""
    yield from csv.DictReader(io.StringIO(decode_mixed(path.read_bytes()), newline=""))


# UTF-8 read as Mac Roman (IRF: "don‚Äôt") or as Windows-1252 (CAMS: "donâ€™t"): a run of two
# or more non-ASCII characters that re-encodes to valid UTF-8 is such a misreading.
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")


def _cp1252_bytes(run: str) -> bytes:
    # Windows-1252 leaves five bytes undefined; readers pass them through as C1 controls.
    return b"".join(
        ch.encode("cp1252") if ch.encode("cp1252", errors="ignore") else ch.encode("latin-1")
        for ch in run
    )


def _undo_misreading(match: re.Match[str]) -> str:
    run = match.group(0)
    for encode in (lambda r: r.encode("mac_roman"), _cp1252_bytes):
        try:
            return encode(run).decode("utf-8")
        except UnicodeError:
            continue
    return run


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded as Mac Roman or Windows-1252; leave other text alone."""
    return _NON_ASCII_RUN.sub(_undo_misreading, text)


_RETWEET = re.compile(r"(?:^|\s)RT\s+@\w+:?")
_HANDLE = re.compile(r"@\w+:?")
_URL = re.compile(r"https?://\S+|www\.\S+")
_SPACE = re.compile(r"\s+")


def clean_raw_tweet(text: str) -> str:
    """Drop retweet markers, @handles and links, and unescape HTML entities (Davidson et al.).

    Like OLID's placeholders, they mark "a tweet", not the tweet's meaning: a model would learn
    them as a cue that forum posts (which never contain them) do not share.
    """
    text = html.unescape(text)
    text = _RETWEET.sub(" ", text)
    text = _URL.sub(" ", _HANDLE.sub(" ", text))
    return _SPACE.sub(" ", text).strip(" :")
