"""Kitsu JSON:API: the anime, its episodes, categories and characters.

Lists are paged; every list follows ``links.next`` to the end (bounded by
``max_pages``), and only on Kitsu's own hosts. The anime is found by Kitsu id,
by slug (``filter[slug]``) or by MyAnimeList id (``/mappings``). Raw shape (as
the fixtures): ``{"anime": resource, "episodes": [resource...], "categories":
[resource...], "characters": {"data": [mediaCharacter...], "included": [...]}}``.
"""

from __future__ import annotations

from typing import Any

from enrichment.http import NotFoundError
from enrichment.ids import is_numeric, platform_url
from enrichment.sources._common import (
    character_role,
    date_part,
    drop_empty,
    month_name,
    score10,
    season_of,
    to_int,
    year_of,
    youtube_url,
)
from enrichment.sources.base import FetchContext, SourceSpec, same_site

NAME = "kitsu"
PAGE_LIMIT = 20
_HEADERS = {"Accept": "application/vnd.api+json"}
_HOSTS = ("kitsu.io", "kitsu.app")
_STATUS = {
    "finished": "FINISHED",
    "current": "ONGOING",
    "upcoming": "UPCOMING",
    "unreleased": "UPCOMING",
    "tba": "UPCOMING",
}
_LOCALES = {
    "ja_jp": "Japanese",
    "en": "English",
    "en_us": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt_br": "Portuguese (BR)",
    "ko": "Korean",
    "he": "Hebrew",
    "hu": "Hungarian",
    "zh_cn": "Mandarin",
}


async def _find(ctx: FetchContext, base: str) -> dict[str, Any]:
    kitsu_id = ctx.ids.get("kitsu")
    if kitsu_id and is_numeric(kitsu_id):
        doc = await ctx.get_json(f"{base}/anime/{kitsu_id}", headers=_HEADERS)
        return doc.get("data") or {}
    if kitsu_id:
        doc = await ctx.get_json(f"{base}/anime", params={"filter[slug]": kitsu_id}, headers=_HEADERS)
        found = doc.get("data") or []
        if found:
            return found[0]
        raise NotFoundError(NAME, f"no anime with slug {kitsu_id!r}")
    doc = await ctx.get_json(
        f"{base}/mappings",
        headers=_HEADERS,
        params={"filter[externalSite]": "myanimelist/anime", "filter[externalId]": ctx.ids["mal"], "include": "item"},
    )
    for item in doc.get("included") or []:
        if item.get("type") == "anime":
            return item
    raise NotFoundError(NAME, f"no Kitsu anime mapped to MyAnimeList id {ctx.ids['mal']}")


async def _pages(ctx: FetchContext, base: str, url: str, params: dict[str, Any]) -> dict[str, list[Any]]:
    """Every page of a list: ``{"data": [...], "included": [...]}``."""
    data: list[Any] = []
    included: list[Any] = []
    next_url: str | None = url
    next_params: dict[str, Any] | None = params
    for _ in range(ctx.settings.max_pages):
        if not next_url:
            break
        doc = await ctx.get_json(next_url, params=next_params, headers=_HEADERS)
        data.extend(doc.get("data") or [])
        included.extend(doc.get("included") or [])
        link = (doc.get("links") or {}).get("next")
        next_url = link if link and same_site(link, base, _HOSTS) else None
        next_params = None  # the next link carries its own query
    else:
        if next_url:
            ctx.warnings.append(f"{url}: stopped after {ctx.settings.max_pages} pages (max_pages)")
    return {"data": data, "included": included}


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    base = ctx.settings.kitsu_base_url.rstrip("/")
    anime = await _find(ctx, base)
    if not anime.get("id"):
        raise NotFoundError(NAME, f"no anime for {ctx.ids}")
    aid = anime["id"]
    page = {"page[limit]": PAGE_LIMIT}
    episodes = await ctx.optional(
        "episodes", lambda: _pages(ctx, base, f"{base}/anime/{aid}/episodes", page), {"data": []}
    )
    categories = await ctx.optional(
        "categories", lambda: _pages(ctx, base, f"{base}/anime/{aid}/categories", page), {"data": []}
    )
    characters = await ctx.optional(
        "characters",
        lambda: _pages(ctx, base, f"{base}/anime/{aid}/characters", {**page, "include": "character,voices.person"}),
        {"data": []},
    )
    return {"anime": anime, "episodes": episodes["data"], "categories": categories["data"], "characters": characters}


# ----- parsing ----------------------------------------------------------------------------
def parse(raw: dict[str, Any]) -> dict[str, Any]:
    anime = raw.get("anime") or {}
    if "data" in anime and isinstance(anime["data"], dict):
        anime = anime["data"]
    a = anime.get("attributes") or {}
    titles = a.get("titles") or {}
    start, end = date_part(a.get("startDate")), date_part(a.get("endDate"))
    frequencies = a.get("ratingFrequencies") or {}
    scored_by = sum(to_int(v) or 0 for v in frequencies.values())
    rating = " - ".join(x for x in [a.get("ageRating"), a.get("ageRatingGuide")] if x) or None
    poster = (a.get("posterImage") or {}).get("original")
    banner = (a.get("coverImage") or {}).get("original")
    trailer = youtube_url(a.get("youtubeVideoId"))
    kind = str(a.get("subtype") or a.get("showType") or "").upper() or None
    partial = {
        "title": a.get("canonicalTitle") or titles.get("en_jp"),
        "title_english": titles.get("en") or titles.get("en_us"),
        "title_japanese": titles.get("ja_jp"),
        "synonyms": [*(a.get("abbreviatedTitles") or []), *[t for t in titles.values() if t]],
        "synopsis": a.get("synopsis") or a.get("description"),
        "type": kind,
        "status": _STATUS.get(str(a.get("status") or "").lower()),
        "episodes": a.get("episodeCount"),
        "duration": int(a["episodeLength"]) * 60 if a.get("episodeLength") else None,
        "season": season_of(start),
        "year": year_of(start),
        "month": month_name(start),
        "rating": rating,
        "nsfw": a.get("nsfw"),
        "aired_dates": drop_empty({"from": start, "to": end}),
        "tags": [
            c["attributes"]["title"] for c in raw.get("categories") or [] if (c.get("attributes") or {}).get("title")
        ],
        "images": drop_empty({"posters": [poster] if poster else [], "banners": [banner] if banner else []}),
        "trailers": [{"url": trailer}] if trailer else [],
        "statistics": {
            "kitsu": drop_empty(
                {
                    "score": score10(a.get("averageRating"), 100),
                    "scored_by": scored_by or None,
                    "rank": a.get("ratingRank"),
                    "popularity_rank": a.get("popularityRank"),
                    "members": a.get("userCount"),
                    "favorites": a.get("favoritesCount"),
                }
            )
        },
        "episode_details": [e for e in (_episode(x) for x in raw.get("episodes") or []) if e],
        "characters": _characters(raw.get("characters") or {}),
        "sources": [platform_url("kitsu", anime["id"])] if anime.get("id") else [],
    }
    return drop_empty(partial)


def _episode(item: dict[str, Any]) -> dict[str, Any] | None:
    a = item.get("attributes") or {}
    number = to_int(a.get("number"))
    if number is None:
        return None
    titles = a.get("titles") or {}
    thumb = (a.get("thumbnail") or {}).get("original")
    return drop_empty(
        {
            "episode_number": number,
            "season_number": to_int(a.get("seasonNumber")),
            "title": titles.get("en_us") or titles.get("en") or a.get("canonicalTitle"),
            "title_japanese": titles.get("ja_jp"),
            "title_romaji": titles.get("en_jp"),
            "synopsis": a.get("synopsis") or a.get("description"),
            "aired": a.get("airdate"),
            "duration": int(a["length"]) * 60 if a.get("length") else None,
            "thumbnails": [thumb] if thumb else [],
            "episode_pages": {"kitsu": f"https://kitsu.app/episodes/{item['id']}"} if item.get("id") else {},
        }
    )


def _characters(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """mediaCharacters resolved through ``included`` (characters, characterVoices, people).

    Without ``included`` (as in the recorded first page) the names are unknown, so
    nothing is returned rather than nameless characters.
    """
    index = {(x.get("type"), x.get("id")): x for x in doc.get("included") or []}
    out = []
    for item in doc.get("data") or []:
        rel = item.get("relationships") or {}
        ref = (rel.get("character") or {}).get("data") or {}
        char = index.get((ref.get("type"), ref.get("id")))
        if not char:
            continue
        ca = char.get("attributes") or {}
        name = ca.get("canonicalName") or ca.get("name") or (ca.get("names") or {}).get("en")
        if not name:
            continue
        voices = []
        for vref in (rel.get("voices") or {}).get("data") or []:
            voice = index.get((vref.get("type"), vref.get("id"))) or {}
            pref = ((voice.get("relationships") or {}).get("person") or {}).get("data") or {}
            person = index.get((pref.get("type"), pref.get("id"))) or {}
            person_name = (person.get("attributes") or {}).get("name")
            if person_name:
                locale = str((voice.get("attributes") or {}).get("locale") or "").lower()
                voices.append(drop_empty({"name": person_name, "language": _LOCALES.get(locale, locale or None)}))
        image = (ca.get("image") or {}).get("original")
        out.append(
            drop_empty(
                {
                    "name": name,
                    "role": character_role((item.get("attributes") or {}).get("role")),
                    "name_native": (ca.get("names") or {}).get("ja_jp"),
                    "name_variations": [n for n in (ca.get("otherNames") or []) if n],
                    "description": ca.get("description"),
                    "voice_actors": voices,
                    "images": [image] if image else [],
                    "character_ids": {"kitsu": char["id"]} if char.get("id") else {},
                }
            )
        )
    return out


SPEC = SourceSpec(name=NAME, needs=("kitsu", "mal"), fetch=fetch, parse=parse)
