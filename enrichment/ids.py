"""Platform ids from anime page URLs, and canonical URLs back from ids.

Sources lists mix every URL shape the sites ever used (http/https, ``www.``, old
domains such as kitsu.io or anidb.info, slugs after ids, query-string pages), so
each platform lists its hosts, path patterns and query keys. The platform keys
are the ones index.identity uses (``mal``, ``anilist``...), so ids and statistics
read the same everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class _Platform:
    key: str
    hosts: tuple[str, ...]
    paths: tuple[str, ...]  # regexes on the path; group 1 is the id
    queries: tuple[str, ...] = ()  # (path regex, query key) pages: "path_regex|key"
    canonical: str | None = None  # URL template for platform_url


_ID = r"(\d+)(?:[/,_.-].*)?/?$"  # a numeric id, then maybe a slug
_SLUG = r"([A-Za-z0-9][\w-]*)(?:/.*)?$"

PLATFORMS: tuple[_Platform, ...] = (
    _Platform(
        "mal", ("myanimelist.net",), (r"^/anime/" + _ID,), (r"^/anime\.php$|id",), "https://myanimelist.net/anime/{id}"
    ),
    _Platform("anilist", ("anilist.co",), (r"^/anime/" + _ID,), (), "https://anilist.co/anime/{id}"),
    _Platform(
        "kitsu",
        ("kitsu.app", "kitsu.io"),
        (r"^/api/edge/anime/" + _SLUG, r"^/anime/" + _SLUG),
        (),
        "https://kitsu.app/anime/{id}",
    ),
    _Platform(
        "anidb",
        ("anidb.net", "anidb.info"),
        (r"^/anime/" + _ID, r"^/a(\d+)/?$"),
        (r"^/perl-bin/animedb\.pl$|aid", r"^/anime/?$|aid"),
        "https://anidb.net/anime/{id}",
    ),
    _Platform(
        "animeplanet", ("anime-planet.com",), (r"^/anime/" + _SLUG,), (), "https://www.anime-planet.com/anime/{id}"
    ),
    _Platform(
        "anisearch",
        ("anisearch.com", "anisearch.de", "anisearch.fr", "anisearch.it", "anisearch.es", "anisearch.jp"),
        (r"^/anime/" + _ID,),
        (),
        "https://www.anisearch.com/anime/{id}",
    ),
    _Platform(
        "animeschedule", ("animeschedule.net",), (r"^/anime/" + _SLUG,), (), "https://animeschedule.net/anime/{id}"
    ),
    _Platform("livechart", ("livechart.me",), (r"^/anime/" + _ID,), (), "https://www.livechart.me/anime/{id}"),
    _Platform("simkl", ("simkl.com",), (r"^/anime/" + _ID,), (), "https://simkl.com/anime/{id}"),
    _Platform(
        "animenewsnetwork",
        ("animenewsnetwork.com", "animenewsnetwork.cc"),
        (),
        (r"^/encyclopedia/anime\.php$|id",),
        "https://www.animenewsnetwork.com/encyclopedia/anime.php?id={id}",
    ),
    _Platform("notify", ("notify.moe",), (r"^/anime/" + _SLUG,), (), "https://notify.moe/anime/{id}"),
    _Platform("animecountdown", ("animecountdown.com",), (r"^/" + _ID,), (), "https://animecountdown.com/{id}"),
)
PLATFORM_KEYS: tuple[str, ...] = tuple(p.key for p in PLATFORMS)
_BY_KEY = {p.key: p for p in PLATFORMS}
_BY_HOST = {host: p for p in PLATFORMS for host in p.hosts}
# Words that sit where a slug would but name a listing page, not an anime.
_NOT_SLUGS = {"all", "top", "top-anime", "search", "seasons", "tags", "browse", "genres", "watch", "trending"}


def platform_of(url: str) -> tuple[str, str] | None:
    """``(platform key, id)`` of one anime page URL; None for other sites or non-anime pages."""
    text = str(url or "").strip()
    if not text:
        return None
    if "://" not in text:
        text = "https://" + text.lstrip("/")  # "myanimelist.net/anime/1" as AnimeSchedule writes it
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    host = host.removeprefix("www.").removeprefix("m.")
    platform = _BY_HOST.get(host)
    if platform is None:
        return None
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    for pattern in platform.paths:
        match = re.match(pattern, path)
        if match and match.group(1).lower() not in _NOT_SLUGS:
            return platform.key, match.group(1)
    query = parse_qs(parts.query)
    for spec in platform.queries:
        pattern, key = spec.rsplit("|", 1)
        value = query.get(key, [""])[0].strip()
        if re.match(pattern, path) and value.isdigit():
            return platform.key, value
    return None


def extract_ids(sources: list[str]) -> dict[str, str]:
    """Platform key -> id for every known platform among ``sources`` (first URL per platform wins)."""
    out: dict[str, str] = {}
    for url in sources or []:
        found = platform_of(url)
        if found and found[0] not in out:
            out[found[0]] = found[1]
    return {key: out[key] for key in PLATFORM_KEYS if key in out}


def platform_url(key: str, value: str | int) -> str:
    """Canonical page URL of an id, e.g. ``platform_url("anidb", 23)`` -> https://anidb.net/anime/23."""
    platform = _BY_KEY.get(key)
    if platform is None or platform.canonical is None:
        raise ValueError(f"unknown platform {key!r}; known: {', '.join(PLATFORM_KEYS)}")
    text = str(value).strip()
    if not text:
        raise ValueError(f"empty {key} id")
    return platform.canonical.format(id=text)


def is_numeric(value: str | None) -> bool:
    """Kitsu accepts numeric ids and slugs; the client asks differently for each."""
    return bool(value) and str(value).isdigit()
