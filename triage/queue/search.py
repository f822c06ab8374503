"""Finding items by id, author or words in their text (the queue's `search` filter).

Moderators only: the queue API and the console need a moderator key. Text is matched with
SQL LIKE, case-insensitively, with `%`, `_` and the escape character escaped, so a search for
`50%_off` finds those characters and nothing else. A LIKE with a leading wildcard reads every
row the other filters leave; that is acceptable for a search a person types (bench/queue_views.py
times it), and a trigram index is the step up if it ever is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, false, or_

from triage.storage.tables import MAX_ID, Item

MAX_SEARCH_CHARS = 200


class SearchField(StrEnum):
    ID = "id"  # triage's item id, or the platform's id of the post (exact)
    AUTHOR = "author"  # the platform's id of the author (exact)
    TEXT = "text"  # words in the post's text (case-insensitive, anywhere)


ALL_FIELDS = frozenset(SearchField)


@dataclass(frozen=True)
class Search:
    query: str
    fields: frozenset[SearchField] = ALL_FIELDS

    def __post_init__(self) -> None:
        if not self.query.strip():
            raise ValueError("a search needs something to look for")
        if len(self.query) > MAX_SEARCH_CHARS:
            raise ValueError(f"a search of at most {MAX_SEARCH_CHARS} characters")
        if not self.fields:
            raise ValueError("a search needs at least one field")


def condition(search: Search) -> ColumnElement[bool]:
    """The WHERE clause: the item matches in any of the search's fields."""
    wanted = search.query.strip()
    matches: list[ColumnElement[bool]] = []
    if SearchField.ID in search.fields:
        if wanted.isascii() and wanted.isdigit() and 1 <= int(wanted) <= MAX_ID:
            matches.append(Item.id == int(wanted))
        matches.append(Item.external_id == wanted)
    if SearchField.AUTHOR in search.fields:
        matches.append(Item.author_id == wanted)
    if SearchField.TEXT in search.fields:
        # ILIKE on PostgreSQL, lower() LIKE lower() on SQLite; autoescape escapes % and _
        matches.append(Item.text.icontains(wanted, autoescape=True))
    return or_(*matches) if matches else false()
