"""Merging people across sources: characters (with voice actors) and production staff.

Sources spell names differently ("Spiegel, Spike", "Spike Spiegel", "Spike
SPIEGEL"; "Kanno Youko", "Youko Kanno"), so people are matched by
``name_key`` (word set, accents and long vowels folded). A character whose name
words are a strict subset of exactly one known character's words ("Edward" and
"Edward Wong Hau Pepelu Tivrusky IV") is taken to be that character.
"""

from __future__ import annotations

from typing import Any

from enrichment.sources._common import name_key

_ROLE_ORDER = {"Main": 0, "Supporting": 1, "Background": 2}
_CHAR_SCALARS = ("role", "name_native", "name_kanji", "description", "gender", "age")
_CHAR_LISTS = ("name_variations", "nicknames", "images")
_STAFF_SCALARS = ("native_name", "role", "language", "biography", "image")
_STAFF_LISTS = ("character_assignments", "alternative_names", "primary_occupations")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _union(into: list[Any], more: list[Any] | None) -> list[Any]:
    seen = {str(x).casefold() for x in into}
    for item in more or []:
        if item and str(item).casefold() not in seen:
            seen.add(str(item).casefold())
            into.append(item)
    return into


def _fill_dict(into: dict[str, Any], more: dict[str, Any] | None) -> None:
    for key, value in (more or {}).items():
        if key not in into and not _empty(value):
            into[key] = value


def merge_voice_actors(into: list[dict[str, Any]], more: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Union by person; the first spelling wins, a missing language is filled in."""
    index = {name_key(v.get("name")): v for v in into}
    for actor in more or []:
        key = name_key(actor.get("name"))
        if not key:
            continue
        if key in index:
            if not index[key].get("language") and actor.get("language"):
                index[key]["language"] = actor["language"]
        else:
            copy = dict(actor)
            index[key] = copy
            into.append(copy)
    return into


def _merge_character(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key in _CHAR_SCALARS:
        if _empty(into.get(key)) and not _empty(other.get(key)):
            into[key] = other[key]
    for key in _CHAR_LISTS:
        into[key] = _union(list(into.get(key) or []), other.get(key))
    if other.get("name") and other["name"] != into.get("name"):
        into["name_variations"] = _union(list(into.get("name_variations") or []), [other["name"]])
    into["voice_actors"] = merge_voice_actors(list(into.get("voice_actors") or []), other.get("voice_actors"))
    for key in ("character_ids", "character_pages"):
        merged = dict(into.get(key) or {})
        _fill_dict(merged, other.get(key))
        into[key] = merged


def _find(keys: list[frozenset[str]], key: frozenset[str]) -> int | None:
    """Index of the same person: equal key, else the only key this one is a strict subset/superset of."""
    for i, known in enumerate(keys):
        if known == key:
            return i
    near = [i for i, known in enumerate(keys) if known and (key < known or known < key)]
    return near[0] if len(near) == 1 else None


def merge_characters(lists: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Characters from lists in priority order: the first list's spelling and facts win, gaps are filled."""
    merged: list[dict[str, Any]] = []
    keys: list[frozenset[str]] = []
    for characters in lists:
        for char in characters or []:
            key = name_key(char.get("name"))
            if not key:
                continue
            at = _find(keys, key)
            if at is None:
                copy = {**char, "voice_actors": [dict(v) for v in char.get("voice_actors") or []]}
                for list_key in _CHAR_LISTS:
                    copy[list_key] = list(char.get(list_key) or [])
                merged.append(copy)
                keys.append(key)
            else:
                _merge_character(merged[at], char)
                keys[at] = keys[at] | key if len(key) > len(keys[at]) else keys[at]
    # stable: main cast first, then supporting, keeping each source's own order
    return sorted(merged, key=lambda c: _ROLE_ORDER.get(str(c.get("role") or ""), 3))


def _merge_staff_member(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key in _STAFF_SCALARS:
        if _empty(into.get(key)) and not _empty(other.get(key)):
            into[key] = other[key]
    for key in _STAFF_LISTS:
        into[key] = _union(list(into.get(key) or []), other.get(key))
    if other.get("name") and name_key(other["name"]) == name_key(into.get("name")) and other["name"] != into["name"]:
        into["alternative_names"] = _union(list(into.get("alternative_names") or []), [other["name"]])
    ids = dict(into.get("staff_ids") or {})
    _fill_dict(ids, other.get("staff_ids"))
    into["staff_ids"] = ids


def merge_staff_groups(groups: list[dict[str, list[dict[str, Any]]]]) -> dict[str, list[dict[str, Any]]]:
    """``production_staff`` dicts in priority order -> one, each group de-duplicated by person."""
    out: dict[str, list[dict[str, Any]]] = {}
    for production in groups:
        for group, members in (production or {}).items():
            rows = out.setdefault(group, [])
            for member in members or []:
                key = name_key(member.get("name"))
                if not key:
                    continue
                match = next((r for r in rows if name_key(r.get("name")) == key), None)
                if match is None:
                    rows.append(dict(member))
                else:
                    _merge_staff_member(match, member)
    return {group: rows for group, rows in out.items() if rows}


def voice_actor_groups(
    characters: list[dict[str, Any]], base: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """``staff_data.voice_actors``: {language: [person with the characters they voice]} from the cast."""
    out: dict[str, list[dict[str, Any]]] = {}
    for char in characters:
        for actor in char.get("voice_actors") or []:
            language = str(actor.get("language") or "unknown").strip().lower()
            rows = out.setdefault(language, [])
            key = name_key(actor.get("name"))
            match = next((r for r in rows if name_key(r["name"]) == key), None)
            if match is None:
                match = {"name": actor["name"], "language": actor.get("language"), "character_assignments": []}
                rows.append(match)
            match["character_assignments"] = _union(match["character_assignments"], [char["name"]])
    for language, rows in (base or {}).items():
        out[language] = merge_staff_groups([{language: out.get(language, [])}, {language: rows}]).get(language, [])
    return out
