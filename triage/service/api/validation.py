"""The limits pydantic's static types cannot know: they come from Settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from triage.problems import Detail
from triage.service.api.schemas import ScoreItemIn
from triage.service.errors import TriageError
from triage.settings import Settings

Problem = tuple[Detail, str]  # a detail, and what is wrong in words: "items[0].text is empty"


def check_items(
    items: Sequence[ScoreItemIn],
    settings: Settings,
    key: Callable[[ScoreItemIn], object] = lambda item: item.id,
    key_name: str = "ids",
) -> None:
    """Raise one 422 listing every broken limit (count, blank text, length, duplicate keys)."""
    problems: list[Problem] = []
    if len(items) > settings.max_items_per_request:
        limit = settings.max_items_per_request
        problems.append(
            (
                Detail(
                    "items",
                    f"at most {limit} items (TRIAGE_MAX_ITEMS_PER_REQUEST)",
                    f"{len(items)} items",
                ),
                f"items holds {len(items)} items, more than {limit}",
            )
        )
    seen: set[object] = set()
    for i, item in enumerate(items):
        problems.extend(text_problems(f"items[{i}].text", item.text, settings))
        if item.parent_text is not None:
            problems.extend(_length_problems(f"items[{i}].parent_text", item.parent_text, settings))
        if key(item) in seen:
            detail = Detail(
                f"items[{i}].id",
                f"{key_name} unique within one request",
                "an id already used earlier in this request",
            )
            problems.append((detail, f"items[{i}].id repeats an earlier item's"))
        seen.add(key(item))
    if problems:
        raise refusal(422, "invalid_request", problems)


def text_problems(field: str, text: str, settings: Settings) -> list[Problem]:
    """An empty or blank text, or one over TRIAGE_MAX_TEXT_CHARS."""
    if not text.strip():
        found = f"a string of {len(text)} characters, all whitespace" if text else "an empty string"
        problem = f"{field} is {'blank' if text else 'empty'}"
        return [(Detail(field, "a non-empty string", found), problem)]
    return _length_problems(field, text, settings)


def _length_problems(field: str, text: str, settings: Settings) -> list[Problem]:
    limit = settings.max_text_chars
    if len(text) <= limit:
        return []
    detail = Detail(
        field, f"at most {limit} characters (TRIAGE_MAX_TEXT_CHARS)", f"{len(text)} characters"
    )
    return [(detail, f"{field} is longer than {limit} characters")]


def refusal(status: int, code: str, problems: Sequence[Problem]) -> TriageError:
    """One error whose message says what is wrong (the first five problems) and whose details
    list every one."""
    said = "; ".join(problem for _, problem in problems[:5])
    more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    return TriageError(status, code, said + more, [detail for detail, _ in problems])
