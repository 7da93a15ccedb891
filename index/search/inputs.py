"""Checks on what a caller passes to the engine, and the error they raise.

The limits (page size, deepest offset, query length) come from ``SearchSettings``, so the tool schema
and these checks agree; each message names the argument and the allowed range.
"""

from __future__ import annotations

from index.errors import UserFacingError
from index.search.tuning import SearchSettings


class SearchInputError(UserFacingError, ValueError):
    """Bad search input; the message says what to change."""


def check_page(settings: SearchSettings, limit: int, offset: int) -> None:
    """``limit`` in 1..max_limit and ``offset`` in 0..max_offset, else SearchInputError."""
    if not 1 <= limit <= settings.max_limit:
        raise SearchInputError(f"limit must be between 1 and {settings.max_limit} (got {limit}).")
    if not 0 <= offset <= settings.max_offset:
        raise SearchInputError(f"offset must be between 0 and {settings.max_offset} (got {offset}).")


def check_query(settings: SearchSettings, query: str) -> str:
    """The query stripped; SearchInputError when it is empty or longer than max_query_chars."""
    query = (query or "").strip()
    if not query:
        raise SearchInputError("The query is empty: describe the anime (plot, mood, characters, title).")
    if len(query) > settings.max_query_chars:
        raise SearchInputError(f"The query is {len(query)} characters; keep it under {settings.max_query_chars}.")
    return query
