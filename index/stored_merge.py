"""Merge instead of overwrite: what an entry keeps from its stored version when indexed again.

Why: a catalogue release (anime-offline-database) carries titles, sources, type, tags... but
never characters, staff, episodes or synopses; those come from enrichment. Re-indexing next
week's release must not wipe them. Rule, applied field by field on the entry's JSON:

- a value the new entry has wins (lists are taken whole: a new tag list replaces the old one);
- a field the new entry lacks, or has empty (``None``, ``""``, ``[]``, ``{}``, or ``UNKNOWN`` for
  type, status and source material), keeps the stored value;
- objects (``staff_data``, ``statistics``, ``images``, ``aired_dates``...) merge key by key with
  the same rule, so new studios do not drop the stored production staff.

The consequence: a field that a newer release really removed stays too. ``anime-mcp index
--replace`` (``Ingestor(merge=False)``) stores the entries exactly as the file has them.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from index.schema import AnimeEntry

log = logging.getLogger(__name__)

_UNKNOWN_MEANS_EMPTY = frozenset({"type", "status", "source_material"})


def _empty(key: str, value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    return key in _UNKNOWN_MEANS_EMPTY and value == "UNKNOWN"


def merge_values(new: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """``new`` with every key it lacks (or has empty) filled from ``stored``; objects merge recursively."""
    out = dict(new)
    for key, old in stored.items():
        if _empty(key, old):
            continue
        value = out.get(key)
        if _empty(key, value):
            out[key] = old
        elif isinstance(value, dict) and isinstance(old, dict):
            out[key] = merge_values(value, old)
    return out


def merge_with_stored(entry: AnimeEntry, stored: dict[str, Any] | None) -> AnimeEntry:
    """The entry to index: ``entry`` completed by the stored entry's fields (see the module rule)."""
    if not stored:
        return entry
    new = entry.model_dump(mode="json", exclude_none=True, by_alias=True)
    merged = merge_values(new, stored)
    if merged == new:
        return entry
    merged["id"] = entry.id
    try:
        return AnimeEntry.model_validate(merged)
    except ValidationError as exc:  # a stored entry from an older schema: index the new one as it is
        log.warning(
            "could not keep the stored fields of %s (%s); indexing it as the file has it",
            entry.id,
            exc.errors(include_url=False)[:1],
        )
        return entry
