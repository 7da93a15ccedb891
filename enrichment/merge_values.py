"""How values from several sources combine: first non-empty, unions without repeats, episodes by number.

The building blocks of enrichment.merge; each takes the candidates already in rule order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from index.schema import AnimeEntry


def url_key(url: Any) -> str:
    """A URL's identity: no scheme, no www., no trailing slash, case-folded ("" for none)."""
    if not isinstance(url, str) or not url:
        return ""
    return re.sub(r"^https?://(www\.)?", "", url.strip()).rstrip("/").casefold()


def is_empty(value: Any) -> bool:
    """No value: None, blank, an empty list or dict, or a source's "UNKNOWN"."""
    if value is None or value == "" or value == [] or value == {}:
        return True
    return isinstance(value, str) and value.strip().upper() == "UNKNOWN"


def in_order(partials: Mapping[str, dict[str, Any]], order: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """Sources in rule order; sources the rule does not name come last, alphabetically (deterministic)."""
    named = [(s, partials[s]) for s in order if s in partials]
    rest = [(s, partials[s]) for s in sorted(partials) if s not in order]
    return named + rest


def normalised(field: str, value: Any) -> Any:
    """The value as the schema would store it (enums, ints), or None when it means nothing."""
    try:
        probe = AnimeEntry.model_validate({"title": "x", "sources": ["x"], field: value})
    except ValidationError:
        return None
    result = getattr(probe, field)
    if hasattr(result, "value"):
        result = result.value
    return None if is_empty(result) else result


def union_strings(lists: list[list[str] | None], exclude: set[str] | None = None) -> list[str]:
    """Every string once (case-insensitive, first spelling kept), in order, minus ``exclude``."""
    seen = set(exclude or ())
    out = []
    for items in lists:
        for item in items or []:
            text = str(item).strip()
            if text and text.casefold() not in seen:
                seen.add(text.casefold())
                out.append(text)
    return out


def union_objects(lists: list[list[dict[str, Any]] | None], key: Any) -> list[dict[str, Any]]:
    """Items once by ``key(item)``, in order; a later copy fills the fields the first one left empty."""
    out: list[dict[str, Any]] = []
    index: dict[Any, dict[str, Any]] = {}
    for items in lists:
        for item in items or []:
            if not isinstance(item, dict):
                continue
            k = key(item)
            if not k:
                continue
            if k in index:
                for field, value in item.items():
                    if is_empty(index[k].get(field)) and not is_empty(value):
                        index[k][field] = value
            else:
                index[k] = dict(item)
                out.append(index[k])
    return out


def merge_objects(dicts: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Per key, the first non-empty value (None when nothing has any)."""
    out: dict[str, Any] = {}
    for item in dicts:
        for key, value in (item or {}).items():
            if key not in out and not is_empty(value):
                out[key] = value
    return out or None


def merge_episodes(lists: list[list[dict[str, Any]] | None]) -> list[dict[str, Any]]:
    """Episodes matched by number (per field the first non-empty; filler/recap if any says so; thumbnails and
    pages unioned), in number order, then the unnumbered ones."""
    by_number: dict[int, dict[str, Any]] = {}
    unnumbered: list[dict[str, Any]] = []
    for items in lists:
        for ep in items or []:
            number = ep.get("episode_number")
            if number is None:
                unnumbered.append(dict(ep))
                continue
            into = by_number.setdefault(number, {"episode_number": number})
            for field, value in ep.items():
                if field in ("filler", "recap"):
                    into[field] = bool(into.get(field)) or bool(value)
                elif field == "thumbnails":
                    into[field] = union_strings([into.get(field), value])
                elif field == "episode_pages":
                    into[field] = {**(value or {}), **(into.get(field) or {})}
                elif is_empty(into.get(field)) and not is_empty(value):
                    into[field] = value
    return [by_number[n] for n in sorted(by_number)] + unnumbered
