"""The limits pydantic's static types cannot know: they come from Settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from triage.config import Settings
from triage.service.errors import ApiError, Detail
from triage.service.schemas import ScoreItemIn


def check_items(
    items: Sequence[ScoreItemIn],
    settings: Settings,
    key: Callable[[ScoreItemIn], object] = lambda item: item.id,
    key_name: str = "ids",
) -> None:
    """Raise one 422 listing every broken limit (count, blank text, length, duplicate keys)."""
    details: list[Detail] = []
    if len(items) > settings.max_items_per_request:
        details.append(
            Detail(
                "items",
                f"at most {settings.max_items_per_request} items (TRIAGE_MAX_ITEMS_PER_REQUEST)",
                f"{len(items)} items",
            )
        )
    seen: set[object] = set()
    for i, item in enumerate(items):
        if not item.text.strip():
            details.append(
                Detail(
                    f"items[{i}].text",
                    "a non-empty string",
                    f"a string of {len(item.text)} characters, all whitespace"
                    if item.text
                    else "an empty string",
                )
            )
        for name in ("text", "parent_text"):
            value = getattr(item, name)
            if value is not None and len(value) > settings.max_text_chars:
                details.append(
                    Detail(
                        f"items[{i}].{name}",
                        f"at most {settings.max_text_chars} characters (TRIAGE_MAX_TEXT_CHARS)",
                        f"{len(value)} characters",
                    )
                )
        if key(item) in seen:
            details.append(
                Detail(
                    f"items[{i}].id",
                    f"{key_name} unique within one request",
                    "an id already used earlier in this request",
                )
            )
        seen.add(key(item))
    if details:
        fields = ", ".join(d.field or "body" for d in details[:5])
        raise ApiError(
            422, "invalid_request", f"the request breaks a limit: check {fields}", details
        )
