"""Pure readers of the live answers (AniList, Kitsu, trace.moe) in their documented shapes.

Kept apart from the network code (enrichment.live) so each reader is tested on recorded or
hand-written answers, like the enrichment parsers (enrichment/sources/*).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class WatchLink:
    """Where an anime can be watched: one site, as a source lists it."""

    site: str
    url: str
    source: str  # anilist, kitsu or index
    region: str | None = None  # a country or language the link is for, where the source says
    subtitles: list[str] = field(default_factory=list)
    dubs: list[str] = field(default_factory=list)
    free: bool | None = None
    kind: str = "stream"  # stream or buy


@dataclass(slots=True)
class Airing:
    """One episode's air time (Unix seconds, UTC)."""

    airing_at: int
    episode: int
    anilist_id: int | None = None
    mal_id: int | None = None
    title: str | None = None
    adult: bool = False


@dataclass(slots=True)
class ListItem:
    """One entry of a user's public list."""

    status: str  # completed, current, dropped, paused, planning
    score: float | None  # 0-10; None when not scored
    title: str
    mal_id: int | None = None
    anilist_id: int | None = None
    kitsu_id: str | None = None


@dataclass(slots=True)
class SceneMatch:
    """One trace.moe match: which anime, episode and moment, and how similar the frame is (0-1)."""

    similarity: float
    anilist_id: int | None
    mal_id: int | None
    title: str | None
    episode: str | None
    from_seconds: float | None
    to_seconds: float | None
    adult: bool = False


def media_title(media: dict[str, Any]) -> str | None:
    title = media.get("title") or {}
    if isinstance(title, str):
        return title
    return title.get("english") or title.get("romaji") or title.get("native")


# ----- AniList ----------------------------------------------------------------------------------
_BUY_SITES = ("amazon", "apple", "itunes", "google play", "bandai", "blu-ray", "dvd", "store", "shop")
_FREE_SITES = ("tubi", "youtube", "pluto", "retrocrush", "crunchyroll free")


def anilist_links(media: dict[str, Any]) -> list[WatchLink]:
    """``Media.externalLinks`` of type STREAMING (disabled ones left out); ``language`` is the region they
    serve, ``notes`` may say sub/dub. Episode links (``streamingEpisodes``) add their sites when the external
    links lack them."""
    out: list[WatchLink] = []
    for link in media.get("externalLinks") or []:
        if not isinstance(link, dict) or link.get("type") != "STREAMING" or link.get("isDisabled"):
            continue
        site, url = link.get("site"), link.get("url")
        if not site or not url:
            continue
        notes = (link.get("notes") or "").lower()
        out.append(
            WatchLink(
                site=site,
                url=url,
                source="anilist",
                region=link.get("language") or None,
                subtitles=["subtitled"] if "sub" in notes else [],
                dubs=["dubbed"] if "dub" in notes else [],
                free=True if any(s in site.lower() for s in _FREE_SITES) else None,
            )
        )
    have = {w.site.lower() for w in out}
    for episode in media.get("streamingEpisodes") or []:
        site, url = (episode or {}).get("site"), (episode or {}).get("url")
        if site and url and site.lower() not in have:
            have.add(site.lower())
            out.append(WatchLink(site=site, url=url, source="anilist"))
    return out


def anilist_airing(media: dict[str, Any]) -> list[Airing]:
    """Coming episodes of one ``Media``: ``airingSchedule`` nodes (or edges), else ``nextAiringEpisode``."""
    schedule = media.get("airingSchedule") or {}
    nodes = list(schedule.get("nodes") or []) + [e.get("node") for e in schedule.get("edges") or [] if e]
    if not nodes and media.get("nextAiringEpisode"):
        nodes = [media["nextAiringEpisode"]]
    title = media_title(media)
    out = [
        Airing(int(n["airingAt"]), int(n["episode"]), media.get("id"), media.get("idMal"), title)
        for n in nodes
        if n and n.get("airingAt") and n.get("episode") is not None
    ]
    return sorted(out, key=lambda a: a.airing_at)


def anilist_schedule(page: dict[str, Any]) -> list[Airing]:
    """``Page.airingSchedules``: every episode airing in a window, with its show."""
    out: list[Airing] = []
    for item in page.get("airingSchedules") or []:
        media = (item or {}).get("media") or {}
        if item.get("airingAt") is None or item.get("episode") is None:
            continue
        out.append(
            Airing(
                int(item["airingAt"]),
                int(item["episode"]),
                media.get("id"),
                media.get("idMal"),
                media_title(media),
                bool(media.get("isAdult")),
            )
        )
    return out


_ANILIST_STATUS = {"COMPLETED": "completed", "CURRENT": "current", "DROPPED": "dropped", "PAUSED": "paused"}


def anilist_list(collection: dict[str, Any]) -> list[ListItem]:
    """``MediaListCollection.lists[].entries[]``; scores asked as POINT_10_DECIMAL (0 means not scored)."""
    out: list[ListItem] = []
    for group in collection.get("lists") or []:
        for entry in (group or {}).get("entries") or []:
            media = (entry or {}).get("media") or {}
            score = entry.get("score")
            out.append(
                ListItem(
                    status=_ANILIST_STATUS.get(str(entry.get("status")), str(entry.get("status") or "").lower()),
                    score=float(score) if score else None,
                    title=media_title(media) or "?",
                    mal_id=media.get("idMal"),
                    anilist_id=media.get("id"),
                )
            )
    return out


# ----- Kitsu ------------------------------------------------------------------------------------
def _included(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(r.get("type")), str(r.get("id"))): r for r in doc.get("included") or [] if isinstance(r, dict)}


def _related(resource: dict[str, Any], name: str) -> Any:
    return ((resource.get("relationships") or {}).get(name) or {}).get("data")


def kitsu_links(doc: dict[str, Any]) -> list[WatchLink]:
    """``/anime/{id}/streaming-links?include=streamer``: each link's url, subs and dubs (language codes),
    the site from the included streamer."""
    included = _included(doc)
    out: list[WatchLink] = []
    for link in doc.get("data") or []:
        attrs = link.get("attributes") or {}
        url = attrs.get("url")
        if not url:
            continue
        ref = _related(link, "streamer") or {}
        streamer = (included.get((str(ref.get("type")), str(ref.get("id")))) or {}).get("attributes") or {}
        site = streamer.get("siteName") or (url.split("/")[2] if "//" in url else url)
        out.append(
            WatchLink(
                site=str(site),
                url=url,
                source="kitsu",
                subtitles=[str(s) for s in attrs.get("subs") or []],
                dubs=[str(d) for d in attrs.get("dubs") or []],
            )
        )
    return out


def kitsu_anime_id(doc: dict[str, Any]) -> str | None:
    """The Kitsu anime id from ``/mappings?...&include=item`` (the mapping's item)."""
    for mapping in doc.get("data") or []:
        item = _related(mapping, "item") or {}
        if item.get("type") == "anime" and item.get("id"):
            return str(item["id"])
    return None


_KITSU_STATUS = {"completed": "completed", "current": "current", "dropped": "dropped", "on_hold": "paused"}


def kitsu_list(doc: dict[str, Any]) -> list[ListItem]:
    """``/library-entries?include=anime,anime.mappings``: status, ``ratingTwenty`` (2-20, halved to 0-10),
    the anime's title and its MyAnimeList id from its mappings."""
    included = _included(doc)
    out: list[ListItem] = []
    for entry in doc.get("data") or []:
        attrs = entry.get("attributes") or {}
        ref = _related(entry, "anime") or {}
        anime = included.get(("anime", str(ref.get("id")))) or {}
        mal_id = None
        for m in _related(anime, "mappings") or []:
            mapping = (included.get(("mappings", str(m.get("id")))) or {}).get("attributes") or {}
            if mapping.get("externalSite") == "myanimelist/anime" and str(mapping.get("externalId", "")).isdigit():
                mal_id = int(mapping["externalId"])
        rating = attrs.get("ratingTwenty")
        a = anime.get("attributes") or {}
        out.append(
            ListItem(
                status=_KITSU_STATUS.get(str(attrs.get("status")), str(attrs.get("status") or "")),
                score=rating / 2 if isinstance(rating, (int, float)) and rating else None,
                title=a.get("canonicalTitle") or (a.get("titles") or {}).get("en") or "?",
                mal_id=mal_id,
                kitsu_id=str(ref["id"]) if ref.get("id") else None,
            )
        )
    return out


# ----- trace.moe --------------------------------------------------------------------------------
def trace_matches(doc: dict[str, Any]) -> list[SceneMatch]:
    """``POST /search?anilistInfo``: ``result[]`` with ``anilist`` (an id, or the object with idMal and
    titles), ``episode`` (a number, text, list or null), ``from``/``to`` (seconds), ``similarity`` (0-1)."""
    out: list[SceneMatch] = []
    for r in doc.get("result") or []:
        if not isinstance(r, dict):
            continue
        info = r.get("anilist")
        media = info if isinstance(info, dict) else {"id": info}
        episode = r.get("episode")
        if isinstance(episode, list):
            episode = "-".join(str(e) for e in episode)
        out.append(
            SceneMatch(
                similarity=float(r.get("similarity") or 0.0),
                anilist_id=media.get("id"),
                mal_id=media.get("idMal"),
                title=media_title(media),
                episode=None if episode in (None, "") else str(episode),
                from_seconds=r.get("from"),
                to_seconds=r.get("to"),
                adult=bool(media.get("isAdult")),
            )
        )
    return out
