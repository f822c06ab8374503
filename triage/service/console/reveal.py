"""Keeping blurred text revealed across a moderator's own action on an item.

A moderator who reveals a crisis post and then claims it should not have to reveal it again on
the page the claim leads to; nobody else should ever get it revealed by default. So console.js
sends the ids of the boxes revealed on the page with the action's form (field `revealed`), and
the redirect after the action carries them with an HMAC over the console session, the item and
the ids (`reveal_sig`). The item page reveals them only when the signature is this session's:
a copied link opens blurred for anyone else, as does a reload after signing in again.
"""

from __future__ import annotations

import hashlib
import hmac
import re

REVEAL_FIELD = "revealed"
SIGNATURE_FIELD = "reveal_sig"
BOX_ID = re.compile(r"^[a-z][a-z0-9-]{0,39}$")  # ids of the sensitive() boxes of item.html
MAX_BOXES = 60


def box_ids(value: object) -> tuple[str, ...]:
    """The well-formed box ids of a comma-separated field, in order, once each; the rest
    (a file upload, odd characters, too many) are dropped: a reveal is a convenience."""
    if not isinstance(value, str):
        return ()
    found = [part.strip() for part in value.split(",")]
    return tuple(dict.fromkeys(part for part in found if BOX_ID.match(part)))[:MAX_BOXES]


def _signature(secret: bytes, session_id: str, item_id: int, ids: tuple[str, ...]) -> str:
    message = f"reveal:{session_id}:{item_id}:{','.join(ids)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def reveal_params(
    secret: bytes, session_id: str, item_id: int, ids: tuple[str, ...]
) -> dict[str, str]:
    """Query parameters for the page after the action; none when nothing was revealed."""
    if not ids:
        return {}
    return {
        REVEAL_FIELD: ",".join(ids),
        SIGNATURE_FIELD: _signature(secret, session_id, item_id, ids),
    }


def revealed_boxes(
    secret: bytes,
    session_id: str,
    item_id: int,
    revealed: str | None,
    signature: str | None,
) -> frozenset[str]:
    """The boxes to show revealed: those of `revealed` if `signature` is this session's."""
    ids = box_ids(revealed)
    if not ids or not isinstance(signature, str):
        return frozenset()
    expected = _signature(secret, session_id, item_id, ids)
    if not hmac.compare_digest(signature.encode("utf-8", "surrogatepass"), expected.encode()):
        return frozenset()
    return frozenset(ids)
