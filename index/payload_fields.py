"""Payload keys that filters, ordering and facets use, with the index type each needs.

The payload builder (index.texts), the collection setup (index.storage) and the filter
builder (index.search) all read this table, so a filter can never name a key that has
no index. Keyword values are normalised: lists of names are lower-cased, enums are
upper-case, ``rating`` is the short code (G, PG, PG-13, R, R+, Rx).
"""

from __future__ import annotations

from enum import Enum


class IndexKind(str, Enum):
    KEYWORD = "keyword"
    INTEGER = "integer"
    FLOAT = "float"
    BOOL = "bool"
    TEXT = "text"


PAYLOAD_INDEXES: dict[str, IndexKind] = {
    "anime_id": IndexKind.KEYWORD,  # the entry's stable string id
    "title": IndexKind.TEXT,  # full-text match on the main title
    "titles_norm": IndexKind.KEYWORD,  # every title/synonym, normalised, for exact lookup
    "type": IndexKind.KEYWORD,
    "status": IndexKind.KEYWORD,
    "year": IndexKind.INTEGER,
    "season": IndexKind.KEYWORD,
    "episodes": IndexKind.INTEGER,
    "duration": IndexKind.INTEGER,  # seconds per episode
    "rating": IndexKind.KEYWORD,
    "source_material": IndexKind.KEYWORD,
    "nsfw": IndexKind.BOOL,
    "genres": IndexKind.KEYWORD,
    "tags": IndexKind.KEYWORD,
    "demographics": IndexKind.KEYWORD,
    "studios": IndexKind.KEYWORD,
    "score": IndexKind.FLOAT,  # MyAnimeList score (0-10)
    "score_avg": IndexKind.FLOAT,  # mean over platforms, 0-10
    "members": IndexKind.INTEGER,
    "popularity_rank": IndexKind.INTEGER,  # lower is more popular
    "popularity": IndexKind.FLOAT,  # 0-1 ranking prior (index.payload.popularity)
    "people_norm": IndexKind.KEYWORD,  # character, staff and voice actor names, normalised, both orders
    "title_sort": IndexKind.KEYWORD,  # lower-cased title (exact value)
    "title_order": IndexKind.INTEGER,  # alphabetical rank key: the engine orders by numbers only
    "content_hash": IndexKind.KEYWORD,
}

# Non-indexed payload keys that results read.
ENTRY_KEY = "entry"  # the whole AnimeEntry as JSON (get_anime reads it)
TEXT_HASHES_KEY = "text_hashes"  # named vector -> hash of the text it was embedded from
IMAGE_URL_KEY = "image_url"
SYNOPSIS_SHORT_KEY = "synopsis_short"
