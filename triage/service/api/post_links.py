"""The platform's link to a post (`url` at ingest): only a plain http(s) link is stored, and the
console shows it only if it still is one (a row written some other way is not trusted)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from triage.storage.tables import URL_LENGTH

SCHEMES = ("http", "https")
EXPECTED = (
    f"an http:// or https:// link to the post with a host, at most {URL_LENGTH} characters, "
    "without spaces, control characters or a user name"
)


def post_link_host(url: str | None) -> str | None:
    """The link's host if `url` is a link the console may show, else None.

    Refused: other schemes (javascript:, data:, file:), no host, credentials (a
    `https://platform.example@elsewhere.example` look-alike), spaces and control or format
    characters (a bidi override can disguise where a link goes), and overlong links."""
    if not url or len(url) > URL_LENGTH or not url.isprintable() or " " in url:
        return None
    if "\ufffd" in url:  # a character the text boundary rule had to replace
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return None
    if parts.scheme not in SCHEMES or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return parts.hostname


def _checked(url: str) -> str:
    if post_link_host(url) is None:
        raise PydanticCustomError("post_url", EXPECTED)
    return url


PostUrl = Annotated[str, AfterValidator(_checked)]
