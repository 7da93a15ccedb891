"""Which entries belong to one franchise: its sequels, films, specials and recaps.

"Similar to Cowboy Bebop" should start with other shows, not Bebop's film, and one franchise should
not fill a diversified page. Relations say it best where the data has them (enriched entries);
elsewhere the titles do: a franchise's entries share the start of their title once subtitles and
season or part markers are cut ("Initial D Fourth Stage", "Naruto: Shippuuden" -> "initial d", "naruto").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from qdrant_client import models

from index.identity import derive_id, point_id
from index.payload import normalise_title
from index.payload_fields import ENTRY_KEY
from index.search.resolve import AnimeResolver

# Words that mark a part of a franchise at the end of a title; cut repeatedly ("... the movie 2").
_MARKERS = {
    "season",
    "seasons",
    "stage",
    "part",
    "movie",
    "movies",
    "film",
    "the",
    "ova",
    "ovas",
    "oav",
    "special",
    "specials",
    "recap",
    "tv",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "final",
    "extra",
    "battle",
    "new",
    "2nd",
    "3rd",
    "4th",
    "5th",
    "6th",
    "ii",
    "iii",
    "iv",
    "v",
    "vi",
    "picture",
    "drama",
    "compilation",
    "shorts",
    "gekijouban",
    "shin",
    "zoku",
    "kan",
    "ban",
    "no",
    "zenpen",
    "kouhen",
    "remake",
}
_SUBTITLE = re.compile(r"\s*(?::|\s-\s|\(|（|～|~|/|!|\?|\.\s).*$")
_MIN_STEM_CHARS = 3


def title_stem(title: str | None) -> str | None:
    """The franchise part of a title: subtitle, season and part markers and numbers cut; None if too short."""
    if not title:
        return None
    head = _SUBTITLE.sub("", title.strip()) or title
    words = normalise_title(head).split()
    while len(words) > 1 and (words[-1] in _MARKERS or words[-1].isdigit()):
        words.pop()
    if len(words) > 1 and " " in title.strip() and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", title):
        words = words[:1]  # a Japanese title's first run: "カウボーイビバップ 天国の扉" -> "カウボーイビバップ"
    stem = " ".join(words)
    return stem if len(stem) >= _MIN_STEM_CHARS else None


def entry_stems(entry: dict[str, Any]) -> set[str]:
    """Stems of an entry's main, English and Japanese titles (the stored entry as JSON)."""
    titles = (entry.get("title"), entry.get("title_english"), entry.get("title_japanese"))
    return {s for s in (title_stem(t) for t in titles) if s}


def related_point_ids(entry: dict[str, Any]) -> set[str]:
    """Point ids of the entries its relations link to (by their page URL)."""
    out: set[str] = set()
    for rel in [*(entry.get("related_anime") or []), *(entry.get("relations") or [])]:
        url = (rel or {}).get("url")
        if not url:
            continue
        try:
            out.add(point_id(derive_id([url])))
        except ValueError:
            continue
    return out


async def franchise_ids(resolver: AnimeResolver, records: Sequence[models.Record]) -> list[str]:
    """Point ids of the records' franchises, the records themselves left out: related entries, and titles
    sharing one of their title stems."""
    stems: set[str] = set()
    related: set[str] = set()
    for record in records:
        entry = (record.payload or {}).get(ENTRY_KEY) or {}
        stems |= entry_stems(entry)
        related |= related_point_ids(entry)
    own = {str(r.id) for r in records}
    return sorted((await resolver.titled_like(stems) | related) - own)


def group_key(title: str) -> str:
    """The key that groups a result list by franchise (the stem, else the whole normalised title)."""
    return title_stem(title) or normalise_title(title)


def first_of_each(items: Iterable[Any], key_of: Any) -> list[Any]:
    """Items in order, keeping the first of each franchise."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = key_of(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
