"""Payload of a point: the filterable, sortable fields plus the entry itself.

Everything a filter, an ordering or a facet reads is here, normalised the way
index.payload_fields says (lower-cased names, upper-case enums, short rating codes),
so a filter value typed by a user matches after the same normalisation.
Non-semantic data (ids, scores, statistics, URLs, nsfw) lives only here, never in
the embedded texts.
"""

from __future__ import annotations

import math
import re
import unicodedata
from statistics import fmean
from typing import Any
from urllib.parse import urlsplit

from index.identity import content_hash, entry_id
from index.payload_fields import ENTRY_KEY, IMAGE_URL_KEY, PAYLOAD_INDEXES, SYNOPSIS_SHORT_KEY
from index.schema import AnimeEntry

SYNOPSIS_SHORT_CHARS = 300
RATING_CODES = ("G", "PG", "PG-13", "R", "R+", "Rx")
_RATING_BY_UPPER = {code.upper(): code for code in RATING_CODES}
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise_title(text: str) -> str:
    """Title key for exact lookup: NFKC, casefold, punctuation and spacing collapsed.

    ``"Cowboy Bebop: The Movie"`` and ``"cowboy bebop the movie"`` give the same key.
    """
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(_NOT_WORD.sub(" ", text).replace("_", " ").split())


_ORDER_ALPHABET = " 0123456789abcdefghijklmnopqrstuvwxyz"


def title_order(title: str, width: int = 12) -> int:
    """Integer that sorts like the title's first ``width`` characters (base 37: space, digits, a-z).

    Qdrant orders by numeric payload only, so alphabetical browsing orders by this key. Accents are
    folded; other characters (kana, symbols) sort with the space.
    """
    folded = unicodedata.normalize("NFKD", normalise_title(title))
    chars = [c for c in folded if not unicodedata.combining(c)][:width]
    value = 0
    for c in chars + [" "] * (width - len(chars)):
        value = value * 37 + max(_ORDER_ALPHABET.find(c), 0)
    return value


def normalise_name(text: str) -> str:
    """Keyword value of a genre, tag, demographic or studio: trimmed, lower-case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def rating_code(rating: str | None) -> str | None:
    """``"PG-13 - Teens 13 or older"`` -> ``"PG-13"``; unknown or empty ratings give None."""
    if not rating:
        return None
    code = rating.split(" - ", 1)[0].strip().upper()
    return _RATING_BY_UPPER.get(code)


def platform_score_10(score: float | None) -> float | None:
    """A platform score on the 0-10 scale (0-100 scales such as AniList's are divided by 10)."""
    if score is None or score <= 0:
        return None
    value = score / 10 if score > 10 else score
    return value if value <= 10 else None


def average_score(entry: AnimeEntry) -> float | None:
    """Mean of the platform scores on 0-10; without any, the summary's arithmetic mean."""
    scores = [s for s in (platform_score_10(st.score) for st in entry.statistics.values()) if s is not None]
    if scores:
        return round(fmean(scores), 4)
    if entry.score and entry.score.arithmetic_mean is not None:
        return platform_score_10(entry.score.arithmetic_mean)
    return None


# About the most-watched entry's MyAnimeList members (2023: Death Note ~3.7M): log(members) / log(this) is ~1.
POPULAR_MEMBERS = 3_000_000
# Without member counts (most catalogue-only entries) the evidence of being watched is how many sites list the
# entry and whether anyone wrote a synopsis; it is capped below what a few thousand members give, so a counted
# audience always outranks the guess.
SITE_WEIGHT, SYNOPSIS_WEIGHT, UNCOUNTED_CAP = 0.05, 0.1, 0.5


def popularity(entry: AnimeEntry) -> float:
    """0-1 prior of how widely an entry is watched, for ranking among equally good matches (never shown as a
    fact): log-scaled members where a platform counts them, else sites listing the entry and a synopsis."""
    members = max((st.members or 0 for st in entry.statistics.values()), default=0)
    if members > 0:
        return round(min(1.0, math.log10(members + 1) / math.log10(POPULAR_MEMBERS)), 4)
    sites = {urlsplit(url).hostname for url in entry.sources} - {None}
    guess = SITE_WEIGHT * len(sites) + (SYNOPSIS_WEIGHT if entry.synopsis else 0.0)
    return round(min(UNCOUNTED_CAP, guess), 4)


def people_names(entry: AnimeEntry) -> list[str]:
    """Normalised names of the entry's characters (and nicknames), staff and voice actors, each two-word name
    in both orders ("Ayase Kanade" / "Kanade Ayase"), so a typed name is found in one keyword lookup."""
    raw: list[str | None] = []
    for c in entry.characters:
        raw += [c.name, c.name_native, *c.nicknames, *(v.name for v in c.voice_actors)]
    staff = entry.staff_data
    if staff:
        raw += [m.name for members in staff.production_staff.values() for m in members]
        raw += [m.name for members in staff.voice_actors.values() for m in members]
    out: list[str] = []
    for name in raw:
        norm = normalise_title(name or "")
        if len(norm) < 3:
            continue
        out.append(norm)
        parts = norm.split()
        if len(parts) == 2:
            out.append(f"{parts[1]} {parts[0]}")
    return _unique(out)


def synopsis_short(text: str | None, limit: int = SYNOPSIS_SHORT_CHARS) -> str | None:
    """The first ~``limit`` characters of a synopsis, cut at a word boundary, with an ellipsis."""
    if not text:
        return None
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > limit // 2 else text[:limit]
    return cut.rstrip(" ,;:-") + "…"


def _unique(values: list[str]) -> list[str]:
    return [v for v in dict.fromkeys(v for v in values if v)]


def build_payload(entry: AnimeEntry) -> dict[str, Any]:
    """Every indexed key that has a value, plus the entry, image URL and short synopsis."""
    mal = entry.statistics.get("mal")
    titles = [entry.title, entry.title_english, entry.title_japanese, *entry.synonyms]
    values: dict[str, Any] = {
        "anime_id": entry_id(entry),
        "title": entry.title,
        "titles_norm": _unique([normalise_title(t) for t in titles if t]),
        "type": entry.type.value,
        "status": entry.status.value,
        "year": entry.year,
        "season": entry.season.value if entry.season else None,
        "episodes": entry.episodes,
        "duration": entry.duration,
        "rating": rating_code(entry.rating),
        "source_material": entry.source_material.value if entry.source_material else None,
        "nsfw": bool(entry.nsfw),
        "genres": _unique([normalise_name(g) for g in entry.genres]),
        "tags": _unique([normalise_name(t) for t in entry.tags]),
        "demographics": _unique([normalise_name(d) for d in entry.demographics]),
        "studios": _unique([normalise_name(s) for s in entry.studios]),
        "score": mal.score if mal else None,
        "score_avg": average_score(entry),
        "members": mal.members if mal else None,
        "popularity_rank": mal.popularity_rank if mal else None,
        "popularity": popularity(entry),
        "people_norm": people_names(entry),
        "title_sort": normalise_title(entry.title) or entry.title.casefold(),
        "title_order": title_order(entry.title),
        "content_hash": content_hash(entry),
    }
    payload = {k: v for k, v in values.items() if k in PAYLOAD_INDEXES and v is not None and v != []}
    payload[ENTRY_KEY] = entry.model_dump(mode="json", exclude_none=True, by_alias=True)
    payload[ENTRY_KEY]["id"] = values["anime_id"]  # an entry built in code may lack its derived id
    images = entry.images.all_urls()
    if images:
        payload[IMAGE_URL_KEY] = images[0]
    short = synopsis_short(entry.synopsis)
    if short:
        payload[SYNOPSIS_SHORT_KEY] = short
    return payload
