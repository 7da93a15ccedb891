"""Jikan v4 (the MyAnimeList API): anime details, characters, staff, episodes.

Raw shape (as the recorded fixtures): ``{"full": <GET /anime/{id}/full body>,
"characters": [data...], "staff": [data...], "episodes": [flattened episode...]}``,
where one flattened episode is the list item merged with its detail page, keyed
``episode_number`` (the list calls it ``mal_id``).
"""

from __future__ import annotations

import re
from typing import Any

from enrichment.http import BadResponseError
from enrichment.ids import extract_ids, platform_url
from enrichment.sources._common import (
    drop_empty,
    duration_seconds,
    flip_comma_name,
    group_staff,
    month_name,
    names,
    relation_type,
    to_int,
    youtube_url,
)
from enrichment.sources.base import FetchContext, SourceSpec

NAME = "jikan"
_SOURCE_MATERIAL = {
    "4-koma manga": "MANGA",
    "web manga": "WEB MANGA",
    "web novel": "NOVEL",
    "card game": "GAME",
    "picture book": "OTHER",
    "radio": "OTHER",
    "book": "NOVEL",
    "music": "OTHER",
}


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    base = ctx.settings.jikan_base_url.rstrip("/")
    mal = ctx.ids["mal"]
    full = await ctx.get_json(f"{base}/anime/{mal}/full")
    if not isinstance(full, dict) or not isinstance(full.get("data"), dict):
        raise BadResponseError(NAME, f"/anime/{mal}/full has no 'data' object")

    async def listing(path: str) -> list[Any]:
        doc = await ctx.get_json(f"{base}/anime/{mal}/{path}")
        return list(doc.get("data") or []) if isinstance(doc, dict) else []

    characters = await ctx.optional("characters", lambda: listing("characters"), [])
    staff = await ctx.optional("staff", lambda: listing("staff"), [])
    episodes = await ctx.optional("episodes", lambda: _episodes(ctx, base, mal), [])
    return {"full": full, "characters": characters, "staff": staff, "episodes": episodes}


async def _episodes(ctx: FetchContext, base: str, mal: str) -> list[dict[str, Any]]:
    """Every page of /episodes (pagination.has_next_page), then detail pages for synopses."""
    items: list[dict[str, Any]] = []
    for page in range(1, ctx.settings.max_pages + 1):
        doc = await ctx.get_json(f"{base}/anime/{mal}/episodes", params={"page": page})
        items.extend(x for x in (doc.get("data") or []) if isinstance(x, dict))
        if not (doc.get("pagination") or {}).get("has_next_page"):
            break
    else:
        ctx.warnings.append(f"episodes: stopped after {ctx.settings.max_pages} pages (max_pages)")
    flat = [_flatten(item) for item in items]
    for episode in flat[: ctx.settings.jikan_episode_details_max]:
        number = episode.get("episode_number")
        if number is None:
            continue

        async def detail(n: int = number) -> dict[str, Any]:
            doc = await ctx.get_json(f"{base}/anime/{mal}/episodes/{n}")
            return doc.get("data") or {} if isinstance(doc, dict) else {}

        extra = await ctx.optional(f"episode {number}", detail, {})
        episode.update({k: v for k, v in _flatten(extra).items() if v is not None})
    return flat


def _flatten(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in ("mal_id", "forum_url")}
    if "mal_id" in item and "episode_number" not in item:
        out["episode_number"] = item["mal_id"]
    return out


# ----- parsing ----------------------------------------------------------------------------
def parse(raw: dict[str, Any]) -> dict[str, Any]:
    full = raw.get("full") or {}
    d = full.get("data", full) if isinstance(full, dict) else {}
    mal_id = d.get("mal_id")
    titles = d.get("titles") or []
    synonyms = list(d.get("title_synonyms") or []) + [
        t.get("title") for t in titles if t.get("type") == "Synonym" and t.get("title")
    ]
    external: dict[str, str] = {}
    for link in d.get("external") or []:
        if link.get("name") and link.get("url"):
            external.setdefault(str(link["name"]).strip().lower(), link["url"])
    discovered = extract_ids(list(external.values()))
    sources = [platform_url("mal", mal_id)] if mal_id else []
    sources += [platform_url(k, v) for k, v in discovered.items() if k != "mal"]
    aired = d.get("aired") or {}
    source = str(d.get("source") or "").strip()
    trailer = d.get("trailer") or {}
    trailer_url = trailer.get("url") or youtube_url(trailer.get("youtube_id"))
    trailer_images = trailer.get("images") or {}
    companies = {
        kind: [
            drop_empty({"name": c.get("name"), "type": kind.rstrip("s"), "url": c.get("url")})
            for c in d.get(kind) or []
            if c.get("name")
        ]
        for kind in ("studios", "producers", "licensors")
    }
    staff = _staff(raw.get("staff") or [])
    images = (d.get("images") or {}).get("jpg") or {}
    theme = d.get("theme") or {}
    related, relations = _relations(d.get("relations") or [])
    partial = {
        "title": d.get("title"),
        "title_english": d.get("title_english"),
        "title_japanese": d.get("title_japanese"),
        "synonyms": synonyms,
        "type": d.get("type"),
        "status": d.get("status"),
        "episodes": d.get("episodes"),
        "duration": duration_seconds(d.get("duration")),
        "rating": d.get("rating"),
        "synopsis": _strip_credit(d.get("synopsis")),
        "background": d.get("background"),
        "season": (d.get("season") or "").upper() or None,
        "year": d.get("year") or to_int(str(aired.get("from") or "")[:4]),
        "month": month_name(aired.get("from")),
        "source_material": _SOURCE_MATERIAL.get(source.lower(), source.upper()) if source else None,
        "genres": names(d.get("genres")) + names(d.get("explicit_genres")),
        "themes": [{"name": n} for n in names(d.get("themes"))],
        "demographics": names(d.get("demographics")),
        "aired_dates": drop_empty({"from": aired.get("from"), "to": aired.get("to"), "string": aired.get("string")}),
        "broadcast": drop_empty({k: (d.get("broadcast") or {}).get(k) for k in ("day", "time", "timezone", "string")}),
        "trailers": [
            drop_empty(
                {
                    "url": trailer_url,
                    "thumbnail_url": trailer_images.get("maximum_image_url") or trailer_images.get("large_image_url"),
                }
            )
        ]
        if trailer_url
        else [],
        "opening_themes": [s for s in (parse_theme_song(x) for x in theme.get("openings") or []) if s],
        "ending_themes": [s for s in (parse_theme_song(x) for x in theme.get("endings") or []) if s],
        "related_anime": related,
        "relations": relations,
        "streaming_info": [
            {"platform": s["name"], "url": s.get("url")} for s in d.get("streaming") or [] if s.get("name")
        ],
        "licensors": [c["name"] for c in companies["licensors"]],
        "external_links": external,
        "images": drop_empty({"covers": [u for u in [images.get("large_image_url") or images.get("image_url")] if u]}),
        "statistics": {
            "mal": drop_empty(
                {
                    "score": d.get("score"),
                    "scored_by": d.get("scored_by"),
                    "rank": d.get("rank"),
                    "popularity_rank": d.get("popularity"),
                    "members": d.get("members"),
                    "favorites": d.get("favorites"),
                }
            )
        },
        "staff_data": drop_empty({**companies, "production_staff": staff}),
        "characters": [c for c in (_character(x) for x in raw.get("characters") or []) if c],
        "episode_details": [e for e in (_episode(x) for x in raw.get("episodes") or []) if e],
        "sources": sources,
    }
    return drop_empty(partial)


def _strip_credit(text: Any) -> str | None:
    """MAL synopses end with "[Written by MAL Rewrite]": a credit line, not story."""
    if not isinstance(text, str):
        return None
    return re.sub(r"\s*\[Written by [^\]]*\]\s*$", "", text).strip() or None


def parse_theme_song(text: Any) -> dict[str, Any] | None:
    """'1: "The Real Folk Blues" by The Seatbelts feat. Mai Yamane (eps 1-12, 14-25)' -> parts."""
    if not isinstance(text, str) or not text.strip():
        return None
    body = re.sub(r"^\s*#?\d+\s*:\s*", "", text.strip())
    episodes = None
    match = re.search(r"\s*\((eps?\.?\s*[^)]*)\)\s*$", body)
    if match:
        episodes = re.sub(r"^eps?\.?\s*", "", match.group(1)).strip() or None
        body = body[: match.start()]
    artist = None
    quoted = re.match(r'^\s*"(.+?)"\s*(?:by\s+(.+))?$', body)
    if quoted:
        title, artist = quoted.group(1), quoted.group(2)
    else:
        title, _, artist = body.partition(" by ")
    title = title.strip().strip('"')
    if not title:
        return None
    return drop_empty({"title": title, "artist": (artist or "").strip() or None, "episodes": episodes})


def _relations(groups: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    anime: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    for group in groups:
        kind = relation_type(group.get("relation"))
        for item in group.get("entry") or []:
            if not item.get("name"):
                continue
            row = drop_empty({"title": item["name"], "relation_type": kind, "url": item.get("url")})
            if item.get("type") == "anime" and item.get("mal_id"):
                row["url"] = platform_url("mal", item["mal_id"])
                anime.append(row)
            else:
                other.append(row)
    return anime, other


def _character(item: dict[str, Any]) -> dict[str, Any] | None:
    char = item.get("character") or {}
    name = flip_comma_name(char.get("name"))
    if not name:
        return None
    image = ((char.get("images") or {}).get("jpg") or {}).get("image_url")
    voices = []
    for va in item.get("voice_actors") or []:
        person = va.get("person") or {}
        va_name = flip_comma_name(person.get("name"))
        if va_name:
            voices.append(drop_empty({"name": va_name, "language": va.get("language")}))
    variations = [char["name"]] if char.get("name") and char["name"] != name else []
    return drop_empty(
        {
            "name": name,
            "role": item.get("role"),
            "name_variations": variations,
            "voice_actors": voices,
            "images": [image] if image else [],
            "character_ids": {"mal": char["mal_id"]} if char.get("mal_id") else {},
            "character_pages": {"mal": char["url"]} if char.get("url") else {},
        }
    )


def _staff(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    members = []
    for item in items:
        person = item.get("person") or {}
        name = flip_comma_name(person.get("name"))
        if not name:
            continue
        image = ((person.get("images") or {}).get("jpg") or {}).get("image_url")
        for position in item.get("positions") or []:
            members.append(
                drop_empty(
                    {
                        "name": name,
                        "role": position,
                        "image": image,
                        "staff_ids": {"mal": person["mal_id"]} if person.get("mal_id") else {},
                    }
                )
            )
    return group_staff(members)


def _episode(item: dict[str, Any]) -> dict[str, Any] | None:
    number = to_int(item.get("episode_number", item.get("mal_id")))
    if number is None:
        return None
    return drop_empty(
        {
            "episode_number": number,
            "title": item.get("title"),
            "title_japanese": item.get("title_japanese"),
            "title_romaji": item.get("title_romanji") or item.get("title_romaji"),
            "synopsis": item.get("synopsis"),
            "aired": item.get("aired"),
            "duration": to_int(item.get("duration")),
            "score": item.get("score"),
            "filler": bool(item.get("filler")),
            "recap": bool(item.get("recap")),
            "episode_pages": {"mal": item["url"]} if item.get("url") else {},
        }
    )


SPEC = SourceSpec(name=NAME, needs=("mal",), fetch=fetch, parse=parse)
