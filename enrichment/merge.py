"""Deterministic merge of per-source partial entries into one ``AnimeEntry``.

Every field has one written rule (enrichment.merge_rules, with the table of them), so the same inputs
always give the same entry; merge_values holds how the candidates of one field combine.
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
from enrichment.merge_rules import (
    COMPANY_ORDER,
    EPISODE_ORDER,
    IMAGE_ORDER,
    NAME_ORDER,
    OBJECT_LISTS,
    OBJECT_RULES,
    SCALAR_RULES,
    SOURCE_ORDER,
    STAFF_ORDER,
    STRING_LISTS,
    TITLE_ORDER,
)
from enrichment.merge_values import (
    in_order,
    is_empty,
    merge_episodes,
    merge_objects,
    normalised,
    union_objects,
    union_strings,
    url_key,
)
from enrichment.people import merge_characters, merge_staff_groups, voice_actor_groups
from index.schema import AnimeEntry

log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"^(mal|anilist|kitsu|anidb|animeschedule)[-: ]\S+$", re.IGNORECASE)


def is_placeholder_title(entry: AnimeEntry) -> bool:
    """Entries built from a bare id carry the id as title; any real title should replace it."""
    title = entry.title.strip()
    return title == entry.id or title in entry.sources or bool(_PLACEHOLDER.match(title))


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
        for _, p in in_order(parts, TITLE_ORDER):
            if not is_empty(p.get("title")):
                data["title"] = str(p["title"]).strip()
                break
    for field, order in SCALAR_RULES.items():
        for _, p in in_order(parts, order):
            value = normalised(field, p.get(field)) if not is_empty(p.get(field)) else None
            if value is not None:
                data[field] = value
                break
    if any(p.get("nsfw") is True for p in parts.values()) or base.nsfw is True:
        data["nsfw"] = True
    else:
        data["nsfw"] = None  # the schema derives it from the merged rating and genres

    for field, order in OBJECT_RULES.items():
        merged = merge_objects([p.get(field) for _, p in in_order(parts, order)] + [data.get(field)])
        data[field] = merged

    titles = {str(data.get(k) or "").casefold() for k in ("title",)}
    alt_titles: list[list[str] | None] = [
        [v for k in ("title", "title_english", "title_japanese") if (v := p.get(k))]
        for _, p in in_order(parts, SOURCE_ORDER)
    ]
    synonyms: list[list[str] | None] = [data.get("synonyms")] + [
        p.get("synonyms") for _, p in in_order(parts, SOURCE_ORDER)
    ]
    data["synonyms"] = union_strings(synonyms + alt_titles, exclude=titles)
    for field, order in STRING_LISTS.items():
        data[field] = union_strings([data.get(field)] + [p.get(field) for _, p in in_order(parts, order)])
    for field, (order, key) in OBJECT_LISTS.items():
        data[field] = union_objects([p.get(field) for _, p in in_order(parts, order)] + [data.get(field)], key)

    data["episode_details"] = merge_episodes(
        [p.get("episode_details") for _, p in in_order(parts, EPISODE_ORDER)] + [data.get("episode_details")]
    )
    characters = merge_characters(
        [p.get("characters") or [] for _, p in in_order(parts, NAME_ORDER)] + [data.get("characters") or []]
    )
    data["characters"] = characters
    data["staff_data"] = _merge_staff(data.get("staff_data") or {}, parts, characters)

    statistics = dict(data.get("statistics") or {})
    for _, p in in_order(parts, SOURCE_ORDER):
        for platform, block in (p.get("statistics") or {}).items():
            if block:
                statistics[platform] = {**(statistics.get(platform) or {}), **block}
    data["statistics"] = statistics
    data["score"] = score_summary(statistics) or data.get("score")

    images = data.get("images") or {}
    data["images"] = {
        kind: union_strings(
            [images.get(kind)] + [(p.get("images") or {}).get(kind) for _, p in in_order(parts, IMAGE_ORDER)]
        )
        for kind in ("covers", "posters", "banners")
    }
    links = dict(data.get("external_links") or {})
    for _, p in in_order(parts, SOURCE_ORDER):
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
    ordered = [(p.get("staff_data") or {}) for _, p in in_order(parts, STAFF_ORDER)]
    production = merge_staff_groups(
        [s.get("production_staff") or {} for s in ordered] + [base_staff.get("production_staff") or {}]
    )
    companies = {}
    by_company_order = [(p.get("staff_data") or {}) for _, p in in_order(parts, COMPANY_ORDER)]
    for kind in ("studios", "producers", "licensors"):
        companies[kind] = union_objects(
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
    seen = {url_key(u) for u in out}
    for _, p in in_order(parts, SOURCE_ORDER):
        for url in p.get("sources") or []:
            found = platform_of(url)
            if not found or found[0] in platforms or url_key(url) in seen:
                continue
            platforms.add(found[0])
            seen.add(url_key(url))
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
