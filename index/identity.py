"""Stable identities: entry ids, Qdrant point ids and content hashes.

Re-importing the same anime from any file must land on the same point, so an id
never depends on file order or run: it is the entry's own ``id`` when it has one,
else it is read from the platform URLs in ``sources`` (``mal-1`` for
https://myanimelist.net/anime/1, the same id the MyAnimeList snapshot uses).

A derived id must survive a new release in which the entry's sources gain a site: an entry
listed only on AniList (``anilist-5``) that later gains a MyAnimeList page would derive
``mal-7``. So ``id_candidates`` lists every id its sources could name, and ingestion keeps the
first one already in the index (index.ingest). Rule: an entry keeps its id as long as it keeps
the source that named it; losing that source gives a new id (``--prune`` removes the old one).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from index.schema import AnimeEntry

# Fixed namespace of this project's point ids; changing it re-keys every stored collection.
POINT_NAMESPACE = uuid.UUID("6f1c3a52-6d0e-5b8e-9a57-2a4d1e0c9b31")
# Namespace for ids derived from sources when no platform id can be read.
SOURCES_NAMESPACE = uuid.UUID("0b7e4f5d-3c21-5d8a-8f6e-91c2a7d4e615")


@dataclass(frozen=True, slots=True)
class Platform:
    key: str  # short, used in derived ids ("mal-1") and as statistics keys
    name: str  # how people write it ("MyAnimeList")
    hosts: tuple[str, ...]
    pattern: str  # regex on the URL path; group 1 is the id


# Order matters: the first platform an entry has a source on names its derived id.
PLATFORMS: tuple[Platform, ...] = (
    Platform("mal", "MyAnimeList", ("myanimelist.net",), r"^/anime/(\d+)"),
    Platform("anilist", "AniList", ("anilist.co",), r"^/anime/(\d+)"),
    Platform("kitsu", "Kitsu", ("kitsu.app", "kitsu.io"), r"^/(?:api/edge/)?anime/([\w-]+)"),
    Platform("anidb", "AniDB", ("anidb.net",), r"^/(?:anime|a)/?(\d+)"),
    Platform("anisearch", "aniSearch", ("anisearch.com",), r"^/anime/(\d+)"),
    Platform("livechart", "LiveChart", ("livechart.me",), r"^/anime/(\d+)"),
    Platform("animeplanet", "Anime-Planet", ("anime-planet.com",), r"^/anime/([\w-]+)"),
    Platform("animenewsnetwork", "Anime News Network", ("animenewsnetwork.com",), r"^/encyclopedia/anime\.php"),
    Platform("animeschedule", "AnimeSchedule", ("animeschedule.net",), r"^/anime/([\w-]+)"),
    Platform("simkl", "Simkl", ("simkl.com",), r"^/anime/(\d+)"),
    Platform("notify", "Notify.moe", ("notify.moe",), r"^/anime/([\w-]+)"),
    Platform("animecountdown", "AnimeCountdown", ("animecountdown.com",), r"^/(\d+)"),
)
PLATFORM_NAMES: dict[str, str] = {p.key: p.name for p in PLATFORMS}
_BY_HOST: dict[str, Platform] = {host: p for p in PLATFORMS for host in p.hosts}


def platform_id(url: str) -> tuple[str, str] | None:
    """``(platform key, id)`` of an anime page URL, or None for an unknown site or page."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    platform = _BY_HOST.get(host)
    if platform is None:
        return None
    match = re.match(platform.pattern, parts.path)
    if match is None:
        # AniDB and ANN also use query-string pages: animedb.pl?show=anime&aid=3689, anime.php?id=1
        query = parse_qs(parts.query)
        for name in ("aid", "id"):
            if platform.key in ("anidb", "animenewsnetwork") and query.get(name, [""])[0].isdigit():
                return platform.key, query[name][0]
        return None
    if not match.groups():
        page_id = parse_qs(parts.query).get("id", [""])[0]
        return (platform.key, page_id) if page_id.isdigit() else None
    return platform.key, match.group(1)


def source_ids(urls: list[str]) -> dict[str, str]:
    """Platform key -> id for each known platform among ``urls`` (first URL per platform wins)."""
    out: dict[str, str] = {}
    for url in urls:
        found = platform_id(url)
        if found and found[0] not in out:
            out[found[0]] = found[1]
    # keep the PLATFORMS order so texts and ids read the same every run
    order = {p.key: i for i, p in enumerate(PLATFORMS)}
    return dict(sorted(out.items(), key=lambda kv: order[kv[0]]))


def derive_id(sources: list[str]) -> str:
    """Id from sources alone: ``mal-<id>``, else ``anilist-<id>``..., else a uuid5 of the sorted URLs."""
    ids = source_ids(sources)
    for key, value in ids.items():
        return f"{key}-{value}"
    cleaned = sorted({s.strip().rstrip("/") for s in sources if s and s.strip()})
    if not cleaned:
        raise ValueError("cannot derive an anime id: the entry has neither an id nor any source URL")
    return str(uuid.uuid5(SOURCES_NAMESPACE, "\n".join(cleaned)))


def entry_id(entry: AnimeEntry) -> str:
    """The entry's stable id: its own ``id`` if set, else derived from its sources."""
    own = (entry.id or "").strip()
    return own or derive_id(entry.sources)


def id_candidates(entry: AnimeEntry) -> list[str]:
    """Ids the entry may already be stored under: its id first, then one per platform in its sources.

    Only a derived id has alternatives; an id the file states is the only candidate.
    """
    own = entry_id(entry)
    if entry.sources and own == derive_id(entry.sources):
        others = [f"{key}-{value}" for key, value in source_ids(entry.sources).items()]
        return list(dict.fromkeys([own, *others]))
    return [own]


def point_id(anime_id: str) -> str:
    """Qdrant point id (a UUID string) of an entry id; the same id always gives the same point."""
    if not anime_id:
        raise ValueError("point_id needs a non-empty entry id")
    return str(uuid.uuid5(POINT_NAMESPACE, anime_id))


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces, so equal content always gives equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# Bumped whenever what is derived from an entry changes (payload fields, the lexical text), so that
# indexing an unchanged file again rewrites each point once; vectors whose text did not change are kept.
INDEX_FORMAT = "3"


def content_hash(entry: AnimeEntry) -> str:
    """sha256 of the entry's canonical JSON and the index format: unchanged entries are skipped on re-index."""
    data = entry.model_dump(mode="json", exclude_none=True, by_alias=True)
    return hashlib.sha256((INDEX_FORMAT + canonical_json(data)).encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """sha256 of one vector's text: a vector is re-embedded only when its text changed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
