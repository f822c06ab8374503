"""Repairs for how some public datasets store their text (encodings, mojibake, tweet markup).

Kept apart from the adapters so each repair has one name and one test.
"""

from __future__ import annotations

import codecs
import csv
import email
import html
import io
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
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


# --- e-mail (SpamAssassin public corpus) --------------------------------------------------------
_LIST_TAG = re.compile(r"^\s*(\[[^\]]{1,40}\]\s*)+")
# Where a footer or a forwarded original starts: a signature delimiter, an underscore rule
# (Mailman), the corpus's list and sponsor footers, "Original Message". What follows is
# boilerplate or someone else's text, and it makes unrelated short mails near duplicates.
_FOOTER = re.compile(
    r"^(-- ?|_{10,}\s*)$|^-{3,} ?Original Message ?-{3,}|Yahoo! Groups Sponsor"
    r"|To unsubscribe from this group|This sf\.net email is sponsored by|/mailman/listinfo/"
    r"|You have received this message because you subscribed"
)
_QUOTED = re.compile(r"^\s*(>|\|>)")
_ATTRIBUTION = re.compile(r"^.{0,120}\b(wrote|writes|posted):\s*$")
_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_INLINE_SPACE = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*(\n\s*)+")
MAX_EMAIL_CHARS = 5000


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):  # decode=True gives bytes, or None for a multipart part
        payload = b""
    charset = part.get_content_charset() or "latin-1"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        text = payload.decode("latin-1")
    if part.get_content_type() == "text/html":
        text = _INLINE_SPACE.sub(" ", html.unescape(_TAG.sub(" ", text)))
    return text


def _first_text_part(message: Message) -> str:
    parts = [p for p in message.walk() if p.get_content_maintype() == "text"]
    plain = [p for p in parts if p.get_content_type() == "text/plain"]
    chosen = plain or [p for p in parts if p.get_content_type() == "text/html"]
    return _part_text(chosen[0]) if chosen else ""


def _without_quotes_and_footer(body: str) -> str:
    kept: list[str] = []
    for line in body.splitlines():
        if _FOOTER.search(line):
            break
        if not (_QUOTED.match(line) or _ATTRIBUTION.match(line)):
            kept.append(line.rstrip())
    return _BLANK_LINES.sub("\n\n", "\n".join(kept)).strip()


def _decoded_header(value: object) -> str:
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, ValueError):  # a broken or unknown encoded-word
        return str(value)


def email_text(raw: str) -> str:
    """The subject (list tags like "[ILUG]" removed) and the body's own words.

    Headers go (they name the corpus's mail servers, a perfect and useless cue); so do quoted
    lines, attributions and list footers (a reply's quote is someone else's text, and Yahoo!
    Groups footers put advertising into ham). HTML-only mail is reduced to its text. Bodies are
    cut at MAX_EMAIL_CHARS: the encoder reads far less, and near-duplicate search stays cheap.
    """
    message = email.message_from_string(raw)
    subject = _LIST_TAG.sub("", _decoded_header(message.get("Subject"))).strip()
    body = _without_quotes_and_footer(_first_text_part(message))[:MAX_EMAIL_CHARS]
    return f"{subject}\n\n{body}".strip() if subject else body
