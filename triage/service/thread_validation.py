"""Checks of a thread that pydantic's static types cannot make: size from Settings, text limits,
unique ids, and parent links that point to an earlier post of the same thread."""

from __future__ import annotations

from triage.config import Settings
from triage.service.errors import ApiError, Detail
from triage.service.thread_schemas import ThreadPostIn

EARLIER_POST = "the id of an earlier post of this thread (or null: it answers the opening post)"


def check_thread(posts: list[ThreadPostIn], settings: Settings) -> None:
    """Raise one 422 listing every problem (count, blank or long text, duplicate id, bad link)."""
    details: list[Detail] = []
    if len(posts) > settings.max_thread_posts:
        details.append(
            Detail(
                "posts",
                f"at most {settings.max_thread_posts} posts (TRIAGE_MAX_THREAD_POSTS)",
                f"{len(posts)} posts",
            )
        )
    first_index: dict[str, int] = {}
    for i, post in enumerate(posts):
        first_index.setdefault(post.id, i)
    for i, post in enumerate(posts):
        details.extend(_text_details(i, post, settings))
        if first_index[post.id] != i:
            details.append(
                Detail(
                    f"posts[{i}].id",
                    "ids unique within one thread",
                    f"the id of posts[{first_index[post.id]}]",
                )
            )
        details.extend(_link_details(i, post, first_index))
    if details:
        fields = ", ".join(d.field or "body" for d in details[:5])
        more = f" and {len(details) - 5} more" if len(details) > 5 else ""
        raise ApiError(
            422, "invalid_thread", f"the thread is not valid: check {fields}{more}", details
        )


def _text_details(i: int, post: ThreadPostIn, settings: Settings) -> list[Detail]:
    if not post.text.strip():
        found = (
            f"a string of {len(post.text)} characters, all whitespace"
            if post.text
            else "an empty string"
        )
        return [Detail(f"posts[{i}].text", "a non-empty string", found)]
    if len(post.text) > settings.max_text_chars:
        return [
            Detail(
                f"posts[{i}].text",
                f"at most {settings.max_text_chars} characters (TRIAGE_MAX_TEXT_CHARS)",
                f"{len(post.text)} characters",
            )
        ]
    return []


def _link_details(i: int, post: ThreadPostIn, first_index: dict[str, int]) -> list[Detail]:
    field = f"posts[{i}].parent_id"
    if post.parent_id is None:
        return []
    if i == 0:
        return [Detail(field, "null: the first post opens the thread", "a parent id")]
    target = first_index.get(post.parent_id)
    if target is None:
        return [Detail(field, EARLIER_POST, "an id that no post of this thread has")]
    if target == i:
        return [Detail(field, EARLIER_POST, "the post's own id")]
    if target > i:
        return [Detail(field, EARLIER_POST, f"the id of a later post, posts[{target}]")]
    return []
