"""Checks of a thread that pydantic's static types cannot make: size from Settings, text limits,
unique ids, and parent links that point to an earlier post of the same thread."""

from __future__ import annotations

from triage.problems import Detail
from triage.service.api.thread_schemas import ThreadPostIn
from triage.service.api.validation import Problem, refusal, text_problems
from triage.settings import Settings

EARLIER_POST = "the id of an earlier post of this thread (or null: it answers the opening post)"


def check_thread(posts: list[ThreadPostIn], settings: Settings) -> None:
    """Raise one 422 listing every problem (count, blank or long text, duplicate id, bad link)."""
    problems: list[Problem] = []
    if len(posts) > settings.max_thread_posts:
        limit = settings.max_thread_posts
        detail = Detail(
            "posts", f"at most {limit} posts (TRIAGE_MAX_THREAD_POSTS)", f"{len(posts)} posts"
        )
        problems.append((detail, f"posts holds {len(posts)} posts, more than {limit}"))
    first_index: dict[str, int] = {}
    for i, post in enumerate(posts):
        first_index.setdefault(post.id, i)
    for i, post in enumerate(posts):
        problems.extend(text_problems(f"posts[{i}].text", post.text, settings))
        if first_index[post.id] != i:
            detail = Detail(
                f"posts[{i}].id",
                "ids unique within one thread",
                f"the id of posts[{first_index[post.id]}]",
            )
            problems.append((detail, f"posts[{i}].id repeats posts[{first_index[post.id]}]"))
        problems.extend(_link_problems(i, post, first_index))
    if problems:
        raise refusal(422, "invalid_thread", problems)


def _link_problems(i: int, post: ThreadPostIn, first_index: dict[str, int]) -> list[Problem]:
    field = f"posts[{i}].parent_id"
    if post.parent_id is None:
        return []
    if i == 0:
        detail = Detail(field, "null: the first post opens the thread", "a parent id")
        return [(detail, f"{field} is set, but the first post opens the thread")]
    target = first_index.get(post.parent_id)
    if target is None:
        found = "an id that no post of this thread has"
    elif target == i:
        found = "the post's own id"
    elif target > i:
        found = f"the id of a later post, posts[{target}]"
    else:
        return []
    return [(Detail(field, EARLIER_POST, found), f"{field} is {found}, not an earlier post's")]
