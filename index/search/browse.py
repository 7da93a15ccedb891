"""Catalogue reads: browse by filters in one order with facet counts, one entry in full, index statistics.

SORT_KEYS and FACET_KEYS are the one definition of the orders and facets a caller may ask for (the
tool schema is built from them).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from pathlib import Path, PurePath, PureWindowsPath
from typing import Literal, get_args

from pydantic import BaseModel, Field
from qdrant_client import models

from index.errors import without_paths
from index.payload_fields import ENTRY_KEY
from index.schema import AnimeEntry
from index.search.filters import SearchFilters
from index.search.inputs import SearchInputError, check_page
from index.search.pages import WIDEN
from index.search.parts import EngineParts
from index.search.resolve import AnimeResolver
from index.search.results import HIT_PAYLOAD, AnimeHit, BrowsePage, DatabaseStats, FacetValue, ResolvedName

# The order names, written out for the type checker and the tool schema (in this order); SORT_KEYS maps each to its
# payload key and must name exactly these (checked below, at import).
SortBy = Literal["score", "popularity", "members", "year", "title"]
SORT_KEYS: dict[SortBy, tuple[str, models.Direction]] = {
    "score": ("score", models.Direction.DESC),
    "popularity": ("popularity_rank", models.Direction.ASC),
    "members": ("members", models.Direction.DESC),
    "year": ("year", models.Direction.DESC),
    "title": ("title_order", models.Direction.ASC),
}
if get_args(SortBy) != tuple(SORT_KEYS):
    raise ImportError(f"SortBy {get_args(SortBy)} and SORT_KEYS {tuple(SORT_KEYS)} must name the same orders")
FACET_KEYS = (
    "genres",
    "type",
    "year",
    "season",
    "status",
    "studios",
    "source_material",
    "rating",
    "demographics",
    "tags",
)


async def browse(
    parts: EngineParts,
    filters: SearchFilters | None,
    sort_by: SortBy,
    limit: int,
    offset: int,
    facets: Sequence[str],
) -> BrowsePage:
    """See SearchEngine.browse."""
    check_page(parts.settings, limit, offset)
    if sort_by not in SORT_KEYS:
        raise SearchInputError(f"sort_by must be one of: {', '.join(SORT_KEYS)} (got {sort_by!r}).")
    bad = [f for f in facets if f not in FACET_KEYS]
    if bad:
        raise SearchInputError(f"Unknown facet {bad[0]!r}. Facets: {', '.join(FACET_KEYS)}.")
    qfilter = await parts.known.query_filter(filters)
    key, direction = SORT_KEYS[sort_by]
    request = models.QueryRequest(
        query=models.OrderByQuery(order_by=models.OrderBy(key=key, direction=direction)),
        filter=qfilter,
        limit=limit,
        offset=offset,
        with_payload=HIT_PAYLOAD,
    )
    store = parts.store
    points = await store.query(request)
    total = await store.count(qfilter)
    counts = {f: [FacetValue(value=v, count=c) for v, c in await store.facet(f, facet_filter=qfilter)] for f in facets}
    hits = [AnimeHit.from_payload(p.payload or {}) for p in points]
    hint = None if hits else (WIDEN if total == 0 else f"Only {total} entries match; lower the offset.")
    return BrowsePage(results=hits, offset=offset, limit=limit, total=total, sort_by=sort_by, facets=counts, hint=hint)


class NamedEntry(BaseModel):
    """One entry in full, and how the name it was asked for was read (None for an id)."""

    entry: AnimeEntry
    resolved: ResolvedName | None = None
    note: str = Field("", description="One line: the name, the entry chosen, and close alternatives not chosen.")


async def find_anime(resolver: AnimeResolver, anime: str) -> NamedEntry:
    """See SearchEngine.find_anime."""
    found = await resolver.lookup(anime)
    entry = AnimeEntry.model_validate((found.record.payload or {})[ENTRY_KEY])
    named = None if found.how == "id" else found.named()
    return NamedEntry(entry=entry, resolved=named, note=found.line())


async def stats(parts: EngineParts) -> DatabaseStats:
    """See SearchEngine.stats."""
    info = await parts.store.info()
    meta = info.meta or {}
    genres = [FacetValue(value=v, count=c) for v, c in await parts.store.facet("genres", limit=25)]
    types = [FacetValue(value=v, count=c) for v, c in await parts.store.facet("type", limit=10)]
    embedder = parts.embedder
    return DatabaseStats(
        entries=info.points,
        vectors_present=info.vectors_present,
        backend=info.backend,
        disk_bytes=info.disk_bytes,
        text_model=model_label(meta.get("text_model")),
        image_model=model_label(meta.get("image_model")),
        text_dim=meta.get("text_dim"),
        image_dim=meta.get("image_dim"),
        image_search_available=embedder.image_status == "ready",
        image_search_error=_image_note(parts),
        top_genres=genres,
        types=types,
    )


@functools.lru_cache(maxsize=16)
def model_label(name: str | None) -> str | None:
    """A model's name for readers of the statistics, never the server path it was loaded from: a hub name
    as it is; a folder by the title of its model card (the MiniLM wheel's folder is called "model"; its
    card's title is "all-MiniLM-L6-v2"), else by its own name; a file by its stem."""
    if not name or not (name.startswith(("/", "~", "\\")) or PureWindowsPath(name).drive):
        return name
    path: PurePath = PureWindowsPath(name) if PureWindowsPath(name).drive else Path(name).expanduser()
    try:
        with open(path / "README.md", encoding="utf-8") as card:
            for line in itertools.islice(card, 60):
                title = line.strip()[2:].strip() if line.startswith("# ") else ""
                if title and len(title) <= 80 and without_paths(title) == title and "/" not in title:
                    return title
    except (OSError, UnicodeDecodeError):
        pass
    return path.stem if path.suffix else path.name


def _image_note(parts: EngineParts) -> str | None:
    """Why image search is off right now, without waiting for a model that is still loading."""
    if parts.embedder.image_status == "loading":
        return "the image model is still loading; image search will be available shortly"
    return parts.embedder.image_error
