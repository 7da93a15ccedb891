"""AniList GraphQL: one ``Media`` with its characters (and voice actors) and staff.

Characters and staff are connections paged by ``pageInfo.hasNextPage``; the first
call asks for everything, later calls only for the connections that still have
pages (``@include`` switches). Raw shape (as the fixture): the ``data.Media``
object with every page's edges merged into ``characters.edges``/``staff.edges``.
The query works by AniList id or, failing that, by MyAnimeList id.
"""

from __future__ import annotations

import re
from typing import Any

from enrichment.http import BadResponseError, Fetched, NotFoundError
from enrichment.ids import platform_url
from enrichment.sources._common import (
    character_role,
    clean_html,
    drop_empty,
    group_staff,
    month_name,
    relation_type,
    score10,
    youtube_url,
)
from enrichment.sources.base import FetchContext, SourceSpec

NAME = "anilist"
PER_PAGE = 25
_ANIME_FORMATS = {"TV", "TV_SHORT", "MOVIE", "SPECIAL", "OVA", "ONA", "MUSIC"}
# The maps below are looked up with raw JSON values, which may be missing (None).
_SOURCE: dict[str | None, str] = {
    "LIGHT_NOVEL": "LIGHT NOVEL",
    "VISUAL_NOVEL": "VISUAL NOVEL",
    "VIDEO_GAME": "GAME",
    "WEB_NOVEL": "NOVEL",
    "DOUJINSHI": "MANGA",
    "COMIC": "MANGA",
    "MULTIMEDIA_PROJECT": "MIXED MEDIA",
    "PICTURE_BOOK": "OTHER",
    "LIVE_ACTION": "OTHER",
    "ANIME": "OTHER",
}
_STATUS: dict[str | None, str] = {
    "RELEASING": "ONGOING",
    "NOT_YET_RELEASED": "UPCOMING",
    "HIATUS": "ONGOING",
    "CANCELLED": "UNKNOWN",
}
_TYPE: dict[str | None, str] = {"TV_SHORT": "TV"}

QUERY = """
query ($id: Int, $idMal: Int, $cp: Int = 1, $sp: Int = 1, $perPage: Int = 25,
       $main: Boolean = true, $chars: Boolean = true, $staff: Boolean = true) {
  Media(id: $id, idMal: $idMal, type: ANIME) {
    id
    idMal
    ...Main @include(if: $main)
    characters(page: $cp, perPage: $perPage, sort: [ROLE, RELEVANCE, ID]) @include(if: $chars) {
      pageInfo { hasNextPage currentPage }
      edges {
        role
        node { id name { full native alternative alternativeSpoiler } image { large medium } description
               gender dateOfBirth { year month day } age bloodType favourites }
        voiceActors(language: JAPANESE, sort: [RELEVANCE, ID]) {
          id name { full native alternative } image { large medium } languageV2 }
      }
    }
    staff(page: $sp, perPage: $perPage, sort: [RELEVANCE, ID]) @include(if: $staff) {
      pageInfo { hasNextPage currentPage }
      edges { role node { id name { full native alternative } image { large medium } primaryOccupations } }
    }
  }
}
fragment Main on Media {
  title { romaji english native userPreferred }
  description(asHtml: false)
  source format episodes duration status season seasonYear countryOfOrigin isAdult hashtag
  startDate { year month day } endDate { year month day }
  coverImage { extraLarge large medium color } bannerImage
  trailer { id site thumbnail }
  averageScore meanScore popularity favourites trending
  genres synonyms
  tags { id name description category rank isGeneralSpoiler isMediaSpoiler isAdult }
  relations { edges { relationType node { id title { romaji english } format status type } } }
  studios { edges { isMain node { id name isAnimationStudio } } }
  externalLinks { id url site type language }
  streamingEpisodes { title thumbnail url site }
  nextAiringEpisode { airingAt episode timeUntilAiring }
  rankings { id rank type format year season allTime context }
  stats { scoreDistribution { score amount } }
  updatedAt
}
"""


def _validate(fetched: Fetched) -> None:
    doc = fetched.json()
    if not isinstance(doc, dict):
        raise BadResponseError(NAME, "GraphQL answer is not an object")
    media = (doc.get("data") or {}).get("Media")
    if media is None:
        errors = "; ".join(str(e.get("message")) for e in doc.get("errors") or [] if isinstance(e, dict))
        if "not found" in errors.lower():
            return  # a definite answer (fetch raises NotFoundError), fine to cache
        raise BadResponseError(NAME, f"no Media in the answer: {errors or 'empty data'}")


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    url = ctx.settings.anilist_url
    ident: dict[str, Any] = {"id": int(ctx.ids["anilist"])} if "anilist" in ctx.ids else {"idMal": int(ctx.ids["mal"])}
    variables: dict[str, Any] = {**ident, "perPage": PER_PAGE, "cp": 1, "sp": 1}
    doc = await ctx.post_json(url, {"query": QUERY, "variables": variables}, validate=_validate)
    media = (doc.get("data") or {}).get("Media")
    if not media:
        raise NotFoundError(NAME, f"no anime with {ident}")
    characters = list((media.get("characters") or {}).get("edges") or [])
    staff = list((media.get("staff") or {}).get("edges") or [])
    more_c = bool(((media.get("characters") or {}).get("pageInfo") or {}).get("hasNextPage"))
    more_s = bool(((media.get("staff") or {}).get("pageInfo") or {}).get("hasNextPage"))
    page_c = page_s = 1
    ident = {"id": media["id"]}
    for _ in range(ctx.settings.max_pages):
        if not (more_c or more_s):
            break
        page_c += more_c
        page_s += more_s
        page_vars = {
            **ident,
            "perPage": PER_PAGE,
            "main": False,
            "chars": more_c,
            "staff": more_s,
            "cp": page_c,
            "sp": page_s,
        }

        async def next_page(v: dict[str, Any] = page_vars) -> Any:
            return await ctx.post_json(url, {"query": QUERY, "variables": v}, validate=_validate)

        page = await ctx.optional(f"page {max(page_c, page_s)} of characters/staff", next_page)
        if not page:
            break
        more = (page.get("data") or {}).get("Media") or {}
        if more_c:
            conn = more.get("characters") or {}
            characters += conn.get("edges") or []
            more_c = bool((conn.get("pageInfo") or {}).get("hasNextPage"))
        if more_s:
            conn = more.get("staff") or {}
            staff += conn.get("edges") or []
            more_s = bool((conn.get("pageInfo") or {}).get("hasNextPage"))
    else:
        if more_c or more_s:
            ctx.warnings.append(f"characters/staff: stopped after {ctx.settings.max_pages} pages (max_pages)")
    media["characters"] = {"edges": characters}
    media["staff"] = {"edges": staff}
    return media


# ----- parsing ----------------------------------------------------------------------------
def _date(value: Any) -> str | None:
    if not isinstance(value, dict) or not value.get("year"):
        return None
    parts = [f"{value['year']:04d}"]
    if value.get("month"):
        parts.append(f"{value['month']:02d}")
        if value.get("day"):
            parts.append(f"{value['day']:02d}")
    return "-".join(parts)


def parse(raw: dict[str, Any]) -> dict[str, Any]:
    m = raw.get("data", {}).get("Media", raw) if "data" in raw else raw
    title = m.get("title") or {}
    fmt = m.get("format")
    status = m.get("status")
    source = m.get("source")
    tags = [
        t
        for t in m.get("tags") or []
        if t.get("name") and not t.get("isMediaSpoiler") and not t.get("isGeneralSpoiler")
    ]
    cover = m.get("coverImage") or {}
    trailer = m.get("trailer") or {}
    trailer_url = None
    if trailer.get("id"):
        trailer_url = (
            youtube_url(trailer["id"])
            if trailer.get("site") == "youtube"
            else f"https://www.dailymotion.com/video/{trailer['id']}"
            if trailer.get("site") == "dailymotion"
            else None
        )
    related: list[dict[str, Any]] = []
    relations: list[dict[str, Any]] = []
    for edge in (m.get("relations") or {}).get("edges") or []:
        node = edge.get("node") or {}
        name = (node.get("title") or {}).get("romaji") or (node.get("title") or {}).get("english")
        if not name or not node.get("id"):
            continue
        is_anime = node.get("type") == "ANIME" or node.get("format") in _ANIME_FORMATS
        row = {
            "title": name,
            "relation_type": relation_type(edge.get("relationType")),
            "url": platform_url("anilist", node["id"]) if is_anime else f"https://anilist.co/manga/{node['id']}",
        }
        (related if is_anime else relations).append(drop_empty(row))
    studios: list[dict[str, Any]] = []
    producers: list[dict[str, Any]] = []
    for edge in (m.get("studios") or {}).get("edges") or []:
        node = edge.get("node") or {}
        if node.get("name"):
            company = {
                "name": node["name"],
                "type": "studio" if node.get("isAnimationStudio") else "producer",
                "url": f"https://anilist.co/studio/{node['id']}" if node.get("id") else None,
            }
            (studios if node.get("isAnimationStudio") else producers).append(drop_empty(company))
    links = m.get("externalLinks") or []
    rankings = m.get("rankings") or []
    start, end = _date(m.get("startDate")), _date(m.get("endDate"))

    def all_time(kind: str) -> int | None:
        return next((r.get("rank") for r in rankings if r.get("type") == kind and r.get("allTime")), None)

    scored_by = sum(int(x.get("amount") or 0) for x in (m.get("stats") or {}).get("scoreDistribution") or [])
    sources = [platform_url("anilist", m["id"])] if m.get("id") else []
    if m.get("idMal"):
        sources.append(platform_url("mal", m["idMal"]))
    partial = {
        "title": title.get("romaji") or title.get("userPreferred"),
        "title_english": title.get("english"),
        "title_japanese": title.get("native"),
        "synonyms": list(m.get("synonyms") or []),
        "synopsis": clean_html(m.get("description")),
        "type": _TYPE.get(fmt, fmt),
        "status": _STATUS.get(status, status),
        "episodes": m.get("episodes"),
        "duration": int(m["duration"]) * 60 if m.get("duration") else None,
        "season": m.get("season"),
        "year": m.get("seasonYear") or (int(start[:4]) if start else None),
        "month": month_name(start),
        "source_material": _SOURCE.get(source, source.replace("_", " ") if source else None),
        "nsfw": m.get("isAdult"),
        "genres": list(m.get("genres") or []),
        "tags": [t["name"] for t in tags],
        "themes": [
            drop_empty({"name": t["name"], "description": t.get("description")})
            for t in tags
            if (t.get("rank") or 0) >= 60
        ],
        "aired_dates": drop_empty({"from": start, "to": end}),
        "images": drop_empty(
            {
                "covers": [u for u in [cover.get("extraLarge") or cover.get("large")] if u],
                "banners": [m["bannerImage"]] if m.get("bannerImage") else [],
            }
        ),
        "trailers": (
            [drop_empty({"url": trailer_url, "thumbnail_url": trailer.get("thumbnail")})] if trailer_url else []
        ),
        "related_anime": related,
        "relations": relations,
        "streaming_info": [
            {"platform": x["site"], "url": x.get("url")}
            for x in links
            if x.get("type") == "STREAMING" and x.get("site")
        ],
        "external_links": {
            x["site"].strip().lower(): x["url"]
            for x in links
            if x.get("type") != "STREAMING" and x.get("site") and x.get("url")
        },
        "statistics": {
            "anilist": drop_empty(
                {
                    "score": score10(m.get("averageScore") or m.get("meanScore"), 100),
                    "scored_by": scored_by or None,
                    "rank": all_time("RATED"),
                    "popularity_rank": all_time("POPULAR"),
                    "members": m.get("popularity"),
                    "favorites": m.get("favourites"),
                    "contextual_ranks": [
                        drop_empty(
                            {
                                "rank": r.get("rank"),
                                "type": r.get("type"),
                                "format": r.get("format"),
                                "year": r.get("year"),
                                "season": r.get("season"),
                                "all_time": r.get("allTime"),
                            }
                        )
                        for r in rankings
                    ],
                }
            )
        },
        "staff_data": drop_empty(
            {
                "studios": studios,
                "producers": producers,
                "production_staff": _staff((m.get("staff") or {}).get("edges") or []),
            }
        ),
        "characters": [c for c in (_character(e) for e in (m.get("characters") or {}).get("edges") or []) if c],
        "episode_details": _streaming_episodes(m.get("streamingEpisodes") or []),
        "sources": sources,
    }
    return drop_empty(partial)


def _character(edge: dict[str, Any]) -> dict[str, Any] | None:
    node = edge.get("node") or {}
    name = node.get("name") or {}
    if not name.get("full"):
        return None
    alternative = [a for a in name.get("alternative") or [] if a]
    voices = [
        drop_empty({"name": (va.get("name") or {}).get("full"), "language": va.get("languageV2") or "Japanese"})
        for va in edge.get("voiceActors") or []
        if (va.get("name") or {}).get("full")
    ]
    image = (node.get("image") or {}).get("large")
    return drop_empty(
        {
            "name": name["full"],
            "role": character_role(edge.get("role")),
            "name_native": name.get("native"),
            "name_variations": [v for v in [name.get("native"), *alternative] if v],
            "nicknames": alternative,
            "description": node.get("description"),
            "gender": node.get("gender"),
            "age": node.get("age"),
            "voice_actors": voices,
            "images": [image] if image else [],
            "character_ids": {"anilist": node["id"]} if node.get("id") else {},
            "character_pages": {"anilist": f"https://anilist.co/character/{node['id']}"} if node.get("id") else {},
        }
    )


def _staff(edges: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    members = []
    for edge in edges:
        node = edge.get("node") or {}
        name = node.get("name") or {}
        if not name.get("full"):
            continue
        members.append(
            drop_empty(
                {
                    "name": name["full"],
                    "native_name": name.get("native"),
                    "role": edge.get("role"),
                    "alternative_names": [a for a in name.get("alternative") or [] if a],
                    "primary_occupations": list(node.get("primaryOccupations") or []),
                    "staff_ids": {"anilist": node["id"]} if node.get("id") else {},
                    "image": (node.get("image") or {}).get("large"),
                }
            )
        )
    return group_staff(members)


def _streaming_episodes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ "Episode 1 - Asteroid Blues" (Crunchyroll links) -> numbered episodes with thumbnails."""
    out = []
    for item in items:
        match = re.match(r"^\s*Episode\s+(\d+)\s*[-–:]\s*(.+)$", str(item.get("title") or ""))
        if not match:
            continue
        site = str(item.get("site") or "streaming").strip().lower()
        out.append(
            drop_empty(
                {
                    "episode_number": int(match.group(1)),
                    "title": match.group(2).strip(),
                    "thumbnails": [item["thumbnail"]] if item.get("thumbnail") else [],
                    "episode_pages": {site: item["url"]} if item.get("url") else {},
                }
            )
        )
    return out


SPEC = SourceSpec(name=NAME, needs=("anilist", "mal"), fetch=fetch, parse=parse)
