"""AnimeSchedule v3: broadcast times (JST, sub, dub), premieres, delays, streams, cross-site ids.

Found by its route (slug) when the entry has an animeschedule.net source, else by
a title search whose hit must be confirmed by its MyAnimeList link or an exact
title, so a search never attaches another show's data. Raw shape (as the
fixture): one anime object.
"""

from __future__ import annotations

import re
from typing import Any

from enrichment.http import BadResponseError, NotFoundError
from enrichment.ids import extract_ids, platform_url
from enrichment.sources._common import (
    clean_html,
    date_part,
    drop_empty,
    month_name,
    name_key,
    names,
    real_datetime,
    relation_type,
    score10,
    season_of,
)
from enrichment.sources.base import FetchContext, SourceSpec

NAME = "animeschedule"
IMAGE_BASE = "https://img.animeschedule.net/production/assets/public/img/"
_STREAMS = {
    "crunchyroll": "Crunchyroll",
    "funimation": "Funimation",
    "hidive": "HIDIVE",
    "netflix": "Netflix",
    "hulu": "Hulu",
    "amazon": "Amazon Prime Video",
    "apple": "Apple TV",
    "youtube": "YouTube",
    "disneyPlus": "Disney+",
    "bilibili": "Bilibili",
    "wakanim": "Wakanim",
    "vrv": "VRV",
}
_CROSS = {
    "mal": "mal",
    "aniList": "anilist",
    "kitsu": "kitsu",
    "anidb": "anidb",
    "animePlanet": "animeplanet",
    "anisearch": "anisearch",
    "livechart": "livechart",
    "simkl": "simkl",
    "notify": "notify",
}


def _headers(ctx: FetchContext) -> dict[str, str] | None:
    token = ctx.settings.animeschedule_token
    return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else None


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    try:
        return await _fetch(ctx)
    except BadResponseError as exc:
        if re.search(r"HTTP 40[13]\b", exc.reason) and not ctx.settings.animeschedule_token:
            raise BadResponseError(
                NAME, f"{exc.reason}; AnimeSchedule wants an application token: set ANIME_MCP_ANIMESCHEDULE_TOKEN"
            ) from None
        raise


async def _fetch(ctx: FetchContext) -> dict[str, Any]:
    base = ctx.settings.animeschedule_base_url.rstrip("/")
    slug = ctx.ids.get("animeschedule")
    if slug:
        doc = await ctx.get_json(f"{base}/anime/{slug}", headers=_headers(ctx))
        if isinstance(doc, dict) and doc.get("route"):
            return doc
        raise NotFoundError(NAME, f"no anime with route {slug!r}")
    title = ctx.entry.title
    doc = await ctx.get_json(f"{base}/anime", params={"q": title}, headers=_headers(ctx))
    hits = (doc.get("anime") if isinstance(doc, dict) else None) or []
    match = pick(hits, title=title, ids=ctx.ids)
    if match is None:
        raise NotFoundError(NAME, f"no confident match for {title!r} among {len(hits)} search results")
    return match


def pick(hits: list[dict[str, Any]], *, title: str, ids: dict[str, str]) -> dict[str, Any] | None:
    """The search hit that is surely this anime: same MAL/AniList id, else the one exact title."""
    for hit in hits:
        cross = _cross_ids(hit)
        for key in ("mal", "anilist", "kitsu", "anidb"):
            if key in ids and cross.get(key) == ids[key]:
                return hit
    wanted = name_key(title)
    exact = [
        h
        for h in hits
        if wanted
        and wanted in {name_key(t) for t in _titles(h)}
        and not any(k in ids and k in _cross_ids(h) and _cross_ids(h)[k] != ids[k] for k in ("mal", "anilist"))
    ]
    return exact[0] if len(exact) == 1 else None


def _titles(hit: dict[str, Any]) -> list[str]:
    found = [hit.get("title")] + [v for k, v in (hit.get("names") or {}).items() if isinstance(v, str)]
    return [t for t in found if t]


def _cross_ids(hit: dict[str, Any]) -> dict[str, str]:
    websites = hit.get("websites") or {}
    return extract_ids([str(websites[k]) for k in _CROSS if websites.get(k)])


def _override(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    out = drop_empty(
        {
            "override_date": real_datetime(value.get("overrideDate")),
            "override_episode": value.get("overrideEpisode"),
            "episodes_aired": value.get("episodesAired"),
        }
    )
    return out or None


def _route_title(route: str) -> str:
    return re.sub(r"\s+", " ", route.replace("-", " ")).strip().title()


def parse(raw: dict[str, Any]) -> dict[str, Any]:
    a = raw
    websites = a.get("websites") or {}
    premier = real_datetime(a.get("premier"))
    delays = {
        key: real_datetime(a.get(camel))
        for key, camel in (
            ("delayed_from", "delayedFrom"),
            ("delayed_until", "delayedUntil"),
            ("sub_delayed_from", "subDelayedFrom"),
            ("sub_delayed_until", "subDelayedUntil"),
            ("dub_delayed_from", "dubDelayedFrom"),
            ("dub_delayed_until", "dubDelayedUntil"),
        )
    }
    delays = drop_empty(delays)
    season = (a.get("season") or {}).get("season") if isinstance(a.get("season"), dict) else a.get("season")
    stats = a.get("stats") or {}
    sources = [platform_url("animeschedule", a["route"])] if a.get("route") else []
    sources += [platform_url(k, v) for k, v in _cross_ids(a).items()]
    related = []
    for kind, routes in (a.get("relations") or {}).items():
        for route in routes or []:
            if isinstance(route, str) and route:
                related.append(
                    {
                        "title": _route_title(route),
                        "relation_type": relation_type(kind),
                        "url": platform_url("animeschedule", route),
                    }
                )
    names_ = a.get("names") or {}
    official = websites.get("official")
    partial = {
        "title": a.get("title"),
        "title_english": names_.get("english"),
        "title_japanese": names_.get("native"),
        "synonyms": [
            *(names_.get("synonyms") or []),
            *([names_["abbreviation"]] if names_.get("abbreviation") else []),
        ],
        "synopsis": clean_html(a.get("description")),
        "type": next(iter(names(a.get("mediaTypes"))), None),
        "status": {"finished": "FINISHED", "ongoing": "ONGOING", "upcoming": "UPCOMING", "delayed": "ONGOING"}.get(
            str(a.get("status") or "").lower()
        ),
        "episodes": a.get("episodes"),
        "duration": int(a["lengthMin"]) * 60 if a.get("lengthMin") else None,
        "season": str(season).upper() if season else season_of(premier),
        "year": a.get("year") or (int(day[:4]) if (day := date_part(premier)) else None),
        "month": a.get("month") or month_name(premier),
        "source_material": next(iter(names(a.get("sources"))), None),
        "genres": names(a.get("genres")),
        "premiere_dates": drop_empty(
            {"original": premier, "sub": real_datetime(a.get("subPremier")), "dub": real_datetime(a.get("dubPremier"))}
        ),
        "broadcast_schedule": drop_empty(
            {
                "jpn_time": real_datetime(a.get("jpnTime")),
                "sub_time": real_datetime(a.get("subTime")),
                "dub_time": real_datetime(a.get("dubTime")),
            }
        ),
        "delay_information": {"delayed_timetable": bool(delays), **delays},
        "episode_overrides": drop_empty(
            {
                "main_override": _override(a.get("episodeOverride")),
                "sub_override": _override(a.get("subEpisodeOverride")),
                "dub_override": _override(a.get("dubEpisodeOverride")),
            }
        ),
        "images": {"covers": [IMAGE_BASE + a["imageVersionRoute"]]} if a.get("imageVersionRoute") else {},
        "statistics": {
            "animeschedule": drop_empty(
                {
                    "score": score10(stats.get("averageScore"), 100),
                    "scored_by": stats.get("ratingCount"),
                    "members": stats.get("trackedCount"),
                }
            )
        },
        "staff_data": drop_empty({"studios": [{"name": n, "type": "studio"} for n in names(a.get("studios"))]}),
        "related_anime": related,
        "streaming_info": [
            {"platform": label, "url": _https(websites[key])} for key, label in _STREAMS.items() if websites.get(key)
        ],
        "external_links": {"official site": _https(official)} if official else {},
        "sources": sources,
    }
    return drop_empty(partial)


def _https(url: str) -> str:
    return url if "://" in url else "https://" + url.lstrip("/")


SPEC = SourceSpec(name=NAME, needs=("animeschedule",), fetch=fetch, parse=parse, title_search=True)
