"""The values the index holds for the keyword fields (genres, studios, tags, years), with their counts.

Filters are checked against them (an unknown genre is an error with suggestions, never a silent empty
page), and the query grammar reads facts in the words with them. Counted with facet calls, kept a
minute, and dropped when the index changes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from qdrant_client import models

from index.search.filters import SearchFilters, build_filter
from index.search.intent import Vocabulary
from index.storage.base import VectorStore

_FIELDS = ("genres", "studios", "tags", "year")
_KEEP_S = 60.0


class KnownValues:
    """Known values per field, refetched after a minute or after ``invalidate``."""

    def __init__(self, store: VectorStore):
        self.store = store
        self._counts: dict[str, dict[str, int]] | None = None
        self._entries = 0
        self._counted_at = 0.0
        self._vocabulary: tuple[dict[str, dict[str, int]], Vocabulary] | None = None

    async def counts(self) -> dict[str, dict[str, int]]:
        """Field -> {value: number of entries}."""
        if self._counts is None or time.monotonic() - self._counted_at > _KEEP_S:
            counts = {}
            for key in _FIELDS:
                counts[key] = {str(v): c for v, c in await self.store.facet(key, limit=100_000)}
            self._entries = await self.store.count()
            self._counts, self._counted_at = counts, time.monotonic()
        return self._counts

    async def entries(self) -> int:
        """How many entries the index holds, counted with the field values (not once per query)."""
        await self.counts()
        return self._entries

    async def vocabulary(self) -> Vocabulary:
        """The query grammar's vocabulary, rebuilt only when the counts are refetched."""
        counts = await self.counts()
        if self._vocabulary is None or self._vocabulary[0] is not counts:
            self._vocabulary = (counts, Vocabulary.from_facets(counts))
        return self._vocabulary[1]

    async def query_filter(self, filters: SearchFilters | None, exclude: Sequence[str] = ()) -> models.Filter | None:
        """``filters`` as a Qdrant filter leaving out the ``exclude`` point ids; FilterValueError names an
        unknown genre or studio with the closest known ones."""
        return build_filter(filters, vocabulary=await self.counts(), exclude_point_ids=exclude)

    def invalidate(self) -> None:
        self._counts = None
