"""Anime-Planet, parse only: fields scraped from its page (JSON-LD, OpenGraph, rank, related).

There is no live client (Anime-Planet has no public API and scraping is out of
scope), but scraped records such as the recorded fixture can be merged like any
other source: ``merge_entry(base, {"animeplanet": parse(record)})``.
"""

from __future__ import annotations

import re
from typing import Any

from enrichment.ids import platform_url
from enrichment.sources._common import (
    date_part,
    drop_empty,
    group_staff,
    month_name,
    score10,
    season_of,
    unshout,
    year_of,
)

NAME = "animeplanet"
_STATUS = {
    "completed": "FINISHED",
    "finished": "FINISHED",
    "airing": "ONGOING",
    "ongoing": "ONGOING",
    "upcoming": "UPCOMING",
    "not yet aired": "UPCOMING",
}
_JSONLD_TYPES: dict[str | None, str | None] = {"TVSeries": None, "Movie": "MOVIE"}  # keyed by raw JSON (maybe None)


def _people(items: Any) -> list[str]:
    if isinstance(items, dict):
        items = [items]
    return [n for n in (unshout(p.get("name")) for p in items or [] if isinstance(p, dict)) if n]


def parse(raw: dict[str, Any]) -> dict[str, Any]:
    ld = raw.get("json_ld") or {}
    og = raw.get("opengraph") or {}
    start, end = date_part(ld.get("startDate")), date_part(ld.get("endDate"))
    rating = ld.get("aggregateRating") or {}
    best = rating.get("bestRating") or 5
    slug = raw.get("slug")
    image = og.get("image") or ld.get("image")
    staff = [{"name": n, "role": "Director"} for n in _people(ld.get("director"))]
    staff += [{"name": n, "role": "Music"} for n in _people(ld.get("musicBy"))]
    related = []
    for item in raw.get("related_anime") or []:
        title = re.sub(r"\s+\d{4}-\d{2}-\d{2}\b.*$", "", str(item.get("title") or "")).strip()
        if title:
            url = item.get("url") or (platform_url(NAME, item["slug"]) if item.get("slug") else None)
            related.append(
                drop_empty(
                    {"title": title, "relation_type": str(item.get("relation_type") or "").upper() or None, "url": url}
                )
            )
    partial = {
        "title": ld.get("name") or og.get("title"),
        "synopsis": ld.get("description") or og.get("description"),
        "type": _JSONLD_TYPES.get(ld.get("@type")),
        "status": _STATUS.get(str(raw.get("status") or "").lower()),
        "episodes": ld.get("numberOfEpisodes"),
        "year": raw.get("year") or year_of(start),
        "season": raw.get("season") or season_of(start),
        "month": month_name(start),
        "aired_dates": drop_empty({"from": start, "to": end}),
        "tags": [g for g in ld.get("genre") or [] if isinstance(g, str)],
        "images": {"covers": [image]} if image else {},
        "characters": [{"name": n} for n in _people(ld.get("character"))],
        "staff_data": drop_empty(
            {
                "studios": [{"name": s, "type": "studio"} for s in raw.get("studios") or [] if s],
                "production_staff": group_staff(staff),
            }
        ),
        "statistics": {
            "animeplanet": drop_empty(
                {
                    "score": score10(rating.get("ratingValue"), float(best)),
                    "scored_by": rating.get("ratingCount"),
                    "rank": raw.get("rank"),
                }
            )
        },
        "related_anime": related,
        "sources": [platform_url(NAME, slug)] if slug else [],
    }
    return drop_empty(partial)
