"""Checks on what a caller passes to the engine, and the error they raise.

The limits (page size, deepest offset, query length) come from ``SearchSettings``, so the tool schema
and these checks agree; each message names the argument and the allowed range.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

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


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(value: Any, name: str) -> None:
    """SearchInputError when a string anywhere in ``value`` (an argument: text, a list, a mapping, a model) holds
    a NUL or a lone surrogate. Neither is text: JSON decoders pass ``\\ud800`` through, then encoding it for
    a cache key, the store or a fuzzy matcher fails deep inside with an error no caller can act on."""
    if isinstance(value, str):
        if "\x00" in value:
            raise SearchInputError(f"{name} holds a NUL character (\\u0000): remove it.")
        bad = _SURROGATE.search(value)
        if bad:
            raise SearchInputError(
                f"{name} holds a lone surrogate (\\u{ord(bad.group()):04x}), which is not valid Unicode: "
                "send the text as UTF-8 (a surrogate pair must come whole)."
            )
    elif isinstance(value, BaseModel):
        check_text(value.model_dump(exclude_defaults=True), name)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_text(key, f"{name} key")
            check_text(item, f"{name}.{key}")
    elif isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            check_text(item, f"{name}[{i}]")
