"""Find the one anime a user means: by id, by exact title or synonym, then by fuzzy title."""

from __future__ import annotations

import time

from qdrant_client import models
from rapidfuzz import fuzz, process

from index.errors import UserFacingError
from index.identity import point_id
from index.payload import normalise_title
from index.storage.base import VectorStore


class AnimeNotFoundError(UserFacingError, LookupError):
    """No entry matches the reference; the message lists the closest titles."""


class AnimeResolver:
    """Resolves ids and titles to stored points. Titles are cached for fuzzy matching."""

    def __init__(self, store: VectorStore, fuzzy_cutoff: float = 85.0, cache_seconds: float = 300.0):
        self._store = store
        self._cutoff = fuzzy_cutoff
        self._cache_seconds = cache_seconds
        self._titles: list[tuple[str, str]] | None = None  # (normalised title, point id)
        self._titles_at = 0.0

    def invalidate(self) -> None:
        self._titles = None

    async def resolve(self, ref: str, *, with_vectors: bool | list[str] = False) -> models.Record:
        ref = (ref or "").strip()
        if not ref:
            raise AnimeNotFoundError("Give an anime id (e.g. 'mal-1') or a title (e.g. 'Cowboy Bebop').")
        found = await self._store.retrieve([point_id(ref)], with_vectors=with_vectors)
        if found:
            return found[0]
        norm = normalise_title(ref)
        exact = models.Filter(must=[models.FieldCondition(key="titles_norm", match=models.MatchValue(value=norm))])
        records, _ = await self._store.scroll(scroll_filter=exact, limit=20, with_payload=["members", "anime_id"])
        if records:
            best = max(records, key=lambda r: (r.payload or {}).get("members") or 0)
            return await self._fetch(str(best.id), with_vectors)
        titles = await self._title_cache()
        match = process.extractOne(norm, [t for t, _ in titles], scorer=fuzz.token_sort_ratio, score_cutoff=self._cutoff)
        if match is not None:
            return await self._fetch(titles[match[2]][1], with_vectors)
        close = process.extract(norm, [t for t, _ in titles], scorer=fuzz.token_sort_ratio, limit=5)
        names = sorted({titles[i][0] for _, _, i in close})
        hint = f" Closest titles: {', '.join(names)}." if names else ""
        raise AnimeNotFoundError(f"No anime matches {ref!r}.{hint} Try search_anime to find its id.")

    async def _fetch(self, pid: str, with_vectors: bool | list[str]) -> models.Record:
        found = await self._store.retrieve([pid], with_vectors=with_vectors)
        if not found:
            raise AnimeNotFoundError(f"Anime {pid} disappeared from the index while looking it up; try again.")
        return found[0]

    async def titles(self) -> list[tuple[str, str]]:
        """Every stored (normalised title or synonym, point id), from the cache fuzzy lookup uses;
        a new list object after each refresh. Completions match typed text against it."""
        return await self._title_cache()

    async def _title_cache(self) -> list[tuple[str, str]]:
        if self._titles is not None and time.monotonic() - self._titles_at < self._cache_seconds:
            return self._titles
        titles: list[tuple[str, str]] = []
        offset = None
        while True:
            records, offset = await self._store.scroll(limit=1000, offset=offset, with_payload=["titles_norm"])
            for r in records:
                for t in (r.payload or {}).get("titles_norm") or []:
                    titles.append((t, str(r.id)))
            if offset is None:
                break
        self._titles, self._titles_at = titles, time.monotonic()
        return titles
