"""Deterministic merge of per-source partial entries into one ``AnimeEntry``.

Every field has one written rule, so the same inputs always give the same entry.
"Order" lists the sources from most to least trusted; the first one with a
non-empty value wins (``UNKNOWN`` counts as empty). The base entry (the one being
enriched) is the last fallback: its data is kept wherever no source has any.

=======================  =========================================================================
field                    rule
=======================  =========================================================================
title                    kept from the base entry (it is the record's identity), unless the base is
                         a placeholder built from an id ("mal-1"): then jikan, anilist, kitsu,
                         anidb, animeschedule, animeplanet
title_english            jikan, anilist, kitsu, animeschedule, anidb
title_japanese           jikan, anilist, kitsu, anidb, animeschedule
synopsis                 jikan, anilist, kitsu, animeschedule, anidb, animeplanet
background               jikan
type                     jikan, anilist, kitsu, anidb, animeschedule, animeplanet
status                   jikan, anilist, kitsu, animeschedule, anidb, animeplanet
episodes                 jikan, anilist, kitsu, anidb, animeschedule, animeplanet
duration                 jikan, anilist, kitsu, animeschedule, anidb
season, year             jikan, anilist, animeschedule, kitsu, anidb, animeplanet
month                    animeschedule, jikan, anilist, kitsu, anidb, animeplanet
rating                   jikan, kitsu (MAL rating strings)
source_material          jikan, anilist, animeschedule
nsfw                     true if any source (or the base) says adult; otherwise left for the schema
                         to derive from rating and genres
aired_dates, broadcast,  per key: jikan, anilist, kitsu, anidb, animeschedule, animeplanet, then
broadcast_schedule,      the base (broadcast_schedule, premiere_dates, delay_information and
premiere_dates, ...      episode_overrides come from animeschedule only)
synonyms                 union of every source's synonyms and alternative titles, minus the title
genres, tags, ...        union, base first, then sources in order; de-duplicated case-insensitively
themes                   union by name (case-insensitive); a missing description is filled in
trailers                 union by URL
opening/ending_themes    union by title
related_anime/relations  union by URL (else title + relation type)
streaming_info           union by platform name (first URL wins)
episode_details          matched by episode_number; per field: jikan, kitsu, anidb, anilist, base;
                         filler/recap: any; thumbnails and pages unioned
characters               matched by normalised name (people.name_key); spelling and facts from
                         anilist, jikan, anidb, kitsu, animeplanet, base; voice actors unioned;
                         main cast first
staff_data.production    grouped by role ("Director"/"Direction" -> directors); people matched by
_staff                   name within a group; anilist, jikan, anidb, animeplanet, base
studios/producers/       union by name: jikan, anilist, animeschedule, anidb, animeplanet, base
licensors
staff_data.voice_actors  rebuilt from the merged cast: {language: [actor + characters voiced]}
statistics               per platform, each source's own block replaces the base's values
                         (scores are normalised to 0-10 by the parsers)
score                    over platform scores: arithmetic_mean, median, and
                         arithmetic_geometric_mean = Gauss's AGM of the arithmetic and geometric
                         means (between the two; robust to one outlying platform)
images                   union per kind (covers, posters, banners), base first
external_links           union by key, base first
sources                  base URLs, plus each newly discovered platform's canonical URL
enrichment_metadata      sources_used, failures {source: reason}, enriched_at, duration_seconds
=======================  =========================================================================
"""

from __future__ import annotations

import logging
import math
import re
import statistics as stats_lib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from enrichment.ids import platform_of
from enrichment.people import merge_characters, merge_staff_groups, voice_actor_groups
from index.schema import AnimeEntry

log = logging.getLogger(__name__)

SOURCE_ORDER = ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet")
_NAMES = ("anilist", "jikan", "anidb", "kitsu", "animeschedule", "animeplanet")
_DATES = ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet")

SCALAR_RULES: dict[str, tuple[str, ...]] = {
    "title_english": ("jikan", "anilist", "kitsu", "animeschedule", "anidb"),
    "title_japanese": ("jikan", "anilist", "kitsu", "anidb", "animeschedule"),
    "synopsis": ("jikan", "anilist", "kitsu", "animeschedule", "anidb", "animeplanet"),
    "background": ("jikan",),
    "type": ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet"),
    "status": ("jikan", "anilist", "kitsu", "animeschedule", "anidb", "animeplanet"),
    "episodes": ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet"),
    "duration": ("jikan", "anilist", "kitsu", "animeschedule", "anidb"),
    "season": ("jikan", "anilist", "animeschedule", "kitsu", "anidb", "animeplanet"),
    "year": ("jikan", "anilist", "animeschedule", "kitsu", "anidb", "animeplanet"),
    "month": ("animeschedule", "jikan", "anilist", "kitsu", "anidb", "animeplanet"),
    "rating": ("jikan", "kitsu"),
    "source_material": ("jikan", "anilist", "animeschedule"),
}
_TITLE_ORDER = ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet")
OBJECT_RULES: dict[str, tuple[str, ...]] = {
    "aired_dates": _DATES,
    "broadcast": _DATES,
    "broadcast_schedule": ("animeschedule",),
    "premiere_dates": ("animeschedule",),
    "delay_information": ("animeschedule",),
    "episode_overrides": ("animeschedule",),
}
STRING_LISTS: dict[str, tuple[str, ...]] = {
    "genres": ("jikan", "anilist", "animeschedule", "kitsu", "anidb", "animeplanet"),
    "tags": ("anilist", "kitsu", "anidb", "animeplanet", "jikan"),
    "demographics": ("jikan", "anilist"),
    "content_warnings": SOURCE_ORDER,
    "licensors": SOURCE_ORDER,
    "streaming_licenses": SOURCE_ORDER,
}
# list field -> (source order, identity of an item)
OBJECT_LISTS: dict[str, tuple[tuple[str, ...], Any]] = {
    "themes": (("jikan", "anilist", "kitsu", "anidb"), lambda x: str(x.get("name", "")).casefold()),
    "trailers": (("jikan", "anilist", "kitsu"), lambda x: _url_key(x.get("url"))),
    "opening_themes": (("jikan",), lambda x: str(x.get("title", "")).casefold()),
    "ending_themes": (("jikan",), lambda x: str(x.get("title", "")).casefold()),
    "related_anime": (
        ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet"),
        lambda x: _url_key(x.get("url")) or f"{x.get('title', '')}|{x.get('relation_type')}".casefold(),
    ),
    "relations": (
        ("jikan", "anilist"),
        lambda x: _url_key(x.get("url")) or f"{x.get('title', '')}|{x.get('relation_type')}".casefold(),
    ),
    "streaming_info": (("jikan", "anilist", "animeschedule", "kitsu"), lambda x: str(x.get("platform", "")).casefold()),
}
_EPISODE_ORDER = ("jikan", "kitsu", "anidb", "anilist")
_COMPANY_ORDER = ("jikan", "anilist", "animeschedule", "anidb", "animeplanet")
_STAFF_ORDER = ("anilist", "jikan", "anidb", "animeplanet", "kitsu", "animeschedule")
_IMAGE_ORDER = ("jikan", "anilist", "kitsu", "animeschedule", "anidb", "animeplanet")
_PLACEHOLDER = re.compile(r"^(mal|anilist|kitsu|anidb|animeschedule)[-: ]\S+$", re.IGNORECASE)


def _url_key(url: Any) -> str:
    if not isinstance(url, str) or not url:
        return ""
    return re.sub(r"^https?://(www\.)?", "", url.strip()).rstrip("/").casefold()


def _empty(value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    return isinstance(value, str) and value.strip().upper() == "UNKNOWN"


def _ordered(partials: Mapping[str, dict[str, Any]], order: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """Sources in rule order; sources the rule does not name come last, alphabetically (deterministic)."""
    named = [(s, partials[s]) for s in order if s in partials]
    rest = [(s, partials[s]) for s in sorted(partials) if s not in order]
    return named + rest


def is_placeholder_title(entry: AnimeEntry) -> bool:
    """Entries built from a bare id carry the id as title; any real title should replace it."""
    title = entry.title.strip()
    return title == entry.id or title in entry.sources or bool(_PLACEHOLDER.match(title))


def _normalised(field: str, value: Any) -> Any:
    """The value as the schema would store it (enums, ints), or None when it means nothing."""
    try:
        probe = AnimeEntry.model_validate({"title": "x", "sources": ["x"], field: value})
    except ValidationError:
        return None
    result = getattr(probe, field)
    if hasattr(result, "value"):
        result = result.value
    return None if _empty(result) else result


def _union_strings(lists: list[list[str] | None], exclude: set[str] | None = None) -> list[str]:
    seen = set(exclude or ())
    out = []
    for items in lists:
        for item in items or []:
            text = str(item).strip()
            if text and text.casefold() not in seen:
                seen.add(text.casefold())
                out.append(text)
    return out


def _union_objects(lists: list[list[dict[str, Any]] | None], key: Any) -> list[dict[str, Any]]:
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
                    if _empty(index[k].get(field)) and not _empty(value):
                        index[k][field] = value
            else:
                index[k] = dict(item)
                out.append(index[k])
    return out


def _merge_objects(dicts: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for item in dicts:
        for key, value in (item or {}).items():
            if key not in out and not _empty(value):
                out[key] = value
    return out or None


def _merge_episodes(lists: list[list[dict[str, Any]] | None]) -> list[dict[str, Any]]:
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
                    into[field] = _union_strings([into.get(field), value])
                elif field == "episode_pages":
                    into[field] = {**(value or {}), **(into.get(field) or {})}
                elif _empty(into.get(field)) and not _empty(value):
                    into[field] = value
    return [by_number[n] for n in sorted(by_number)] + unnumbered


def score_summary(statistics: dict[str, dict[str, Any]]) -> dict[str, float] | None:
    """Arithmetic mean, median and AGM(arithmetic, geometric mean) of the platforms' 0-10 scores."""
    scores = [
        float(s["score"])
        for s in statistics.values()
        if isinstance(s, dict) and isinstance(s.get("score"), (int, float)) and 0 < s["score"] <= 10
    ]
    if not scores:
        return None
    arithmetic = sum(scores) / len(scores)
    geometric = math.exp(sum(math.log(x) for x in scores) / len(scores))
    a, g = arithmetic, geometric
    for _ in range(50):
        if abs(a - g) < 1e-12:
            break
        a, g = (a + g) / 2, math.sqrt(a * g)
    return {
        "arithmetic_geometric_mean": round(a, 6),
        "arithmetic_mean": round(arithmetic, 6),
        "median": round(stats_lib.median(scores), 6),
    }


def merge_entry(
    base: AnimeEntry,
    partials: Mapping[str, dict[str, Any]],
    *,
    failures: Mapping[str, str] | None = None,
    duration_seconds: float | None = None,
    enriched_at: str | None = None,
) -> AnimeEntry:
    """One entry from the base and each source's partial dict (see the module docstring for the rules)."""
    data = base.model_dump(mode="json", by_alias=True)
    base_data = dict(data)
    parts = {s: p for s, p in partials.items() if p}

    if is_placeholder_title(base):
        for _, p in _ordered(parts, _TITLE_ORDER):
            if not _empty(p.get("title")):
                data["title"] = str(p["title"]).strip()
                break
    for field, order in SCALAR_RULES.items():
        for _, p in _ordered(parts, order):
            value = _normalised(field, p.get(field)) if not _empty(p.get(field)) else None
            if value is not None:
                data[field] = value
                break
    if any(p.get("nsfw") is True for p in parts.values()) or base.nsfw is True:
        data["nsfw"] = True
    else:
        data["nsfw"] = None  # the schema derives it from the merged rating and genres

    for field, order in OBJECT_RULES.items():
        merged = _merge_objects([p.get(field) for _, p in _ordered(parts, order)] + [data.get(field)])
        data[field] = merged

    titles = {str(data.get(k) or "").casefold() for k in ("title",)}
    alt_titles: list[list[str] | None] = [
        [v for k in ("title", "title_english", "title_japanese") if (v := p.get(k))]
        for _, p in _ordered(parts, SOURCE_ORDER)
    ]
    synonyms: list[list[str] | None] = [data.get("synonyms")] + [
        p.get("synonyms") for _, p in _ordered(parts, SOURCE_ORDER)
    ]
    data["synonyms"] = _union_strings(synonyms + alt_titles, exclude=titles)
    for field, order in STRING_LISTS.items():
        data[field] = _union_strings([data.get(field)] + [p.get(field) for _, p in _ordered(parts, order)])
    for field, (order, key) in OBJECT_LISTS.items():
        data[field] = _union_objects([p.get(field) for _, p in _ordered(parts, order)] + [data.get(field)], key)

    data["episode_details"] = _merge_episodes(
        [p.get("episode_details") for _, p in _ordered(parts, _EPISODE_ORDER)] + [data.get("episode_details")]
    )
    characters = merge_characters(
        [p.get("characters") or [] for _, p in _ordered(parts, _NAMES)] + [data.get("characters") or []]
    )
    data["characters"] = characters
    data["staff_data"] = _merge_staff(data.get("staff_data") or {}, parts, characters)

    statistics = dict(data.get("statistics") or {})
    for _, p in _ordered(parts, SOURCE_ORDER):
        for platform, block in (p.get("statistics") or {}).items():
            if block:
                statistics[platform] = {**(statistics.get(platform) or {}), **block}
    data["statistics"] = statistics
    data["score"] = score_summary(statistics) or data.get("score")

    images = data.get("images") or {}
    data["images"] = {
        kind: _union_strings(
            [images.get(kind)] + [(p.get("images") or {}).get(kind) for _, p in _ordered(parts, _IMAGE_ORDER)]
        )
        for kind in ("covers", "posters", "banners")
    }
    links = dict(data.get("external_links") or {})
    for _, p in _ordered(parts, SOURCE_ORDER):
        for key, url in (p.get("external_links") or {}).items():
            links.setdefault(key, url)
    data["external_links"] = links
    data["sources"] = _merge_sources(data.get("sources") or [], parts)

    used = [s for s in SOURCE_ORDER if s in parts] + sorted(s for s in parts if s not in SOURCE_ORDER)
    data["enrichment_metadata"] = {
        "source": "multi-source",
        "enriched_at": enriched_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "success": bool(used),
        "sources_used": used,
        "failures": dict(failures or {}),
        "duration_seconds": round(duration_seconds, 3) if duration_seconds is not None else None,
    }
    return _validated(data, base_data)


def _merge_staff(
    base_staff: dict[str, Any], parts: Mapping[str, dict[str, Any]], characters: list[dict[str, Any]]
) -> dict[str, Any] | None:
    ordered = [(p.get("staff_data") or {}) for _, p in _ordered(parts, _STAFF_ORDER)]
    production = merge_staff_groups(
        [s.get("production_staff") or {} for s in ordered] + [base_staff.get("production_staff") or {}]
    )
    companies = {}
    by_company_order = [(p.get("staff_data") or {}) for _, p in _ordered(parts, _COMPANY_ORDER)]
    for kind in ("studios", "producers", "licensors"):
        companies[kind] = _union_objects(
            [s.get(kind) for s in by_company_order] + [base_staff.get(kind)],
            lambda x: str(x.get("name", "")).strip().casefold(),
        )
    voices = voice_actor_groups(characters, base_staff.get("voice_actors"))
    result = {"production_staff": production, **companies, "voice_actors": voices}
    return result if any(result.values()) else (base_staff or None)


def _merge_sources(base_sources: list[str], parts: Mapping[str, dict[str, Any]]) -> list[str]:
    """Base URLs first; a discovered URL is added only for a platform the base has no URL for."""
    out = list(base_sources)
    platforms = {found[0] for found in map(platform_of, out) if found}
    seen = {_url_key(u) for u in out}
    for _, p in _ordered(parts, SOURCE_ORDER):
        for url in p.get("sources") or []:
            found = platform_of(url)
            if not found or found[0] in platforms or _url_key(url) in seen:
                continue
            platforms.add(found[0])
            seen.add(_url_key(url))
            out.append(url)
    return out


def _validated(data: dict[str, Any], base_data: dict[str, Any]) -> AnimeEntry:
    """Validate; a field a source filled with something the schema rejects falls back to the base's value."""
    for _ in range(5):
        try:
            return AnimeEntry.model_validate(data)
        except ValidationError as exc:
            fields = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")}
            fixable = fields & set(base_data) - {"title", "sources"}
            if not fixable:
                raise
            for field in fixable:
                log.warning(
                    "merged %s of %r is invalid (%s); keeping the base value",
                    field,
                    data.get("title"),
                    exc.errors()[0].get("msg"),
                )
                data[field] = base_data[field]
    return AnimeEntry.model_validate(data)
