"""The search core: the one Python API the MCP tools call.

Text, image, multimodal, similar, recommend, browse, get and stats, all with the same filters and the
same result shape. The engine knows neither which storage backend runs nor which models are loaded; it
talks to VectorStore and EmbeddingModule. Each family's work lives in a module beside this one:

- text_search.py: reading the words, then ranking by vectors, priors, titles and wishes
- picture_search.py: by picture, and words and picture fused
- similar_search.py: like one anime, or from liked and disliked ones
- browse.py: browse with facets, one entry, index statistics (and the sort and facet keys)
- legs.py (words and pictures as vector queries), pages.py (run a ranking, assemble the page),
  inputs.py (argument checks, SearchInputError), known_values.py (the values filters are checked against)

Errors a caller can act on derive from ``index.errors.UserFacingError``: SearchInputError
(index.search.inputs), FilterValueError (index.search.filters), AnimeNotFoundError
(index.search.resolve), ImageInputError (index.embedding.errors). A ``StoreError`` from the store
passes through unchanged. Repeated reads are served from the page cache until the index changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from index.embedding.module import EmbeddingModule
from index.schema import AnimeEntry
from index.search import browse as browse_reads
from index.search import picture_search, similar_search, text_search
from index.search.browse import NamedEntry, SortBy
from index.search.cache import PageCache, cached_page
from index.search.filters import SearchFilters
from index.search.inputs import SearchInputError
from index.search.known_values import KnownValues
from index.search.resolve import AnimeResolver
from index.search.results import BrowsePage, DatabaseStats, SearchPage
from index.search.tuning import SearchSettings
from index.storage.base import VectorStore
from index.vectors import Aspect


class SearchEngine:
    """Every search the tools offer, over one store and one set of models."""

    def __init__(
        self,
        store: VectorStore,
        embedder: EmbeddingModule,
        settings: SearchSettings | None = None,
        image_fetcher: Any = None,
    ):
        """``store`` must be open; ``image_fetcher`` (an ``ImageFetcher``) reads pictures given by callers,
        without one image input is refused. ``settings`` default to ``SearchSettings()`` (the environment)."""
        self.store = store
        self.embedder = embedder
        self.settings = settings or SearchSettings()
        self.image_fetcher = image_fetcher
        self.resolver = AnimeResolver(store, self.settings)
        self.resolver.search = self._best_hits  # what a name no title matches is offered instead
        self.known = KnownValues(store)
        self.page_cache: PageCache | None = PageCache(store)  # repeated reads cost nothing; writes invalidate

    async def vocabulary(self) -> dict[str, dict[str, int]]:
        """Known genres, studios, tags and years with their entry counts ({field: {value: count}}), the
        values filters are checked against. Kept a minute, and dropped by ``invalidate_caches``."""
        return await self.known.counts()

    def invalidate_caches(self) -> None:
        """Call after the index changed (ingestion, enrichment): drops known values, titles and result pages."""
        self.known.invalidate()
        self.resolver.invalidate()
        if self.page_cache is not None:
            self.page_cache.invalidate()

    @cached_page
    async def search_text(
        self,
        query: str,
        aspects: Sequence[Aspect | str] | None = None,
        filters: SearchFilters | None = None,
        limit: int = 10,
        offset: int = 0,
        explain: bool = False,
        diversify: bool = False,
        interpret: bool | None = None,
    ) -> SearchPage:
        """Search by meaning.

        Inputs: ``query`` 1..max_query_chars characters after stripping; ``aspects`` (Aspect values)
        search only those vectors (and read nothing from the words); ``limit`` 1..max_limit, ``offset``
        0..max_offset. With ``interpret`` (default: the interpret_queries setting), facts and wishes in
        the words (decades, types, genres, studios, 'best') become filters, boosts and an order, typed
        titles rank first, and ``interpreted_as`` says how the query was read; explicit ``filters`` win
        field by field. When nothing meets the filters read from the words (first page only), they are
        used as preferences instead and ``interpreted_as.relaxed`` is set.

        Errors: SearchInputError (empty or long query, bad page, unknown aspect, no searchable words,
        an aspect needing image search where it is off), FilterValueError (unknown genre or studio).

        Order: best first by fused relevance after priors and boosts, or, for a query of facts alone
        ("top rated 90s movies"), by the wished order with priors. Pages inside one prefetch tier
        (queries.prefetch_limit) are slices of one ranking, so they neither repeat nor skip entries;
        ``diversify`` keeps one entry per franchise.
        An empty page carries a ``hint`` on how to widen the search; ``explain`` adds per-vector scores.
        """
        return await text_search.search_text(
            self, query, aspects, filters, limit, offset, explain, diversify, interpret
        )

    async def search_image(
        self, image: str | bytes, filters: SearchFilters | None = None, limit: int = 10, offset: int = 0
    ) -> SearchPage:
        """Entries whose pictures look like ``image``.

        Inputs: ``image`` as bytes, base64, a data: or http(s) URL, or a path the server allows;
        ``limit``/``offset`` as in search_text. Errors: SearchInputError (bad page, image search off
        or image input not configured), ImageInputError (a picture that cannot be fetched or read, or
        an address that may not be fetched), FilterValueError.
        Order: best first by cosine similarity on the image vector.
        """
        return await picture_search.search_image(self, image, filters, limit, offset)

    async def search_multimodal(
        self,
        query: str,
        image: str | bytes,
        text_weight: float = 0.5,
        filters: SearchFilters | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> SearchPage:
        """Words and picture fused.

        Inputs: ``query`` as in search_text (read as it is, never interpreted), ``image`` as in
        search_image, ``text_weight`` in 0..1: 1.0 ranks like search_text(interpret=False), 0.0 like
        search_image. Errors: SearchInputError (bad query, page or text_weight, image search off),
        ImageInputError, FilterValueError.
        Order: best first by the fusion of the word legs and the picture leg, with search_text's priors
        while the words count.
        """
        return await picture_search.search_multimodal(self, query, image, text_weight, filters, limit, offset)

    @cached_page
    async def find_similar(
        self,
        anime: str,
        aspect: str = "overall",
        filters: SearchFilters | None = None,
        limit: int = 10,
        offset: int = 0,
        diversify: bool = False,
        include_same_franchise: bool = False,
    ) -> SearchPage:
        """Entries like one anime.

        Inputs: ``anime`` an id or name (resolved as in get_entry; ``resolved`` says how); ``aspect``
        'overall' or an Aspect value (compare only that vector); ``limit``/``offset`` as in search_text. The
        anime itself never comes back; its franchise (sequels, films, specials) is left out unless
        ``include_same_franchise``.
        Errors: AnimeNotFoundError (with search_anime's best matches), SearchInputError (unknown aspect, bad
        page, the anime has no data for that aspect), FilterValueError.
        Order: best first by fused similarity; ``diversify`` keeps one entry per franchise.
        """
        return await similar_search.find_similar(
            self, anime, aspect, filters, limit, offset, diversify, include_same_franchise
        )

    @cached_page
    async def recommend(
        self,
        liked: Sequence[str],
        disliked: Sequence[str] = (),
        filters: SearchFilters | None = None,
        limit: int = 10,
        offset: int = 0,
        diversify: bool = False,
        include_same_franchise: bool = False,
    ) -> SearchPage:
        """Close to the liked entries and away from the disliked.

        Inputs: ``liked`` (at least one) and ``disliked``, ids or names resolved as in get_entry (``resolved``
        says how each was read), at most 20 together;
        ``limit``/``offset`` as in search_text. The named entries never come back, nor (unless
        ``include_same_franchise``) their franchises.
        Errors: AnimeNotFoundError (the first name that matches nothing), SearchInputError (no liked
        anime, too many, bad page), FilterValueError.
        Order: best first by fused similarity to the average of the liked (per vector), pushed away
        from the disliked; ``diversify`` keeps one entry per franchise.
        """
        return await similar_search.recommend(
            self, liked, disliked, filters, limit, offset, diversify, include_same_franchise
        )

    @cached_page
    async def browse(
        self,
        filters: SearchFilters | None = None,
        sort_by: SortBy = "score",
        limit: int = 10,
        offset: int = 0,
        facets: Sequence[str] = (),
    ) -> BrowsePage:
        """Entries meeting the filters, in one order, with the total and facet counts.

        Inputs: ``sort_by`` one of SORT_KEYS; ``facets`` names from FACET_KEYS; ``limit``/``offset`` as
        in search_text. Errors: SearchInputError (unknown sort or facet, bad page), FilterValueError.
        Order: by the sort key's payload value (score, members, year: highest first; popularity rank,
        title: lowest first); pages are slices of that order.
        ``total`` counts every match; facet values come most frequent first. An empty page carries a
        hint (widen the filters, or lower the offset when it is past the total).
        """
        return await browse_reads.browse(self, filters, sort_by, limit, offset, facets)

    @cached_page
    async def get_entry(self, anime: str) -> AnimeEntry:
        """The stored entry, in full.

        Inputs: ``anime`` an id ('mal-1') or a name, resolved as search_anime ranks titles (every title and
        synonym, a phrase inside one, prefixes, close spellings, Japanese script; among a franchise's entries
        the main entry and the most watched). Errors: AnimeNotFoundError listing search_anime's best matches.
        """
        return (await self.find_anime(anime)).entry

    @cached_page
    async def find_anime(self, anime: str) -> NamedEntry:
        """get_entry's entry with how the name was read: the chosen entry and the close alternatives it was
        not (``resolved``, None for an id). Errors: as get_entry."""
        return await browse_reads.find_anime(self.resolver, anime)

    async def _best_hits(self, text: str) -> list[dict[str, Any]]:
        """search_anime's top 5 for words no title matches (id, title, type, year), offered by a lookup's error."""
        try:
            page = await self.search_text(text, limit=5)
        except SearchInputError:
            return []
        return [{"anime_id": h.id, "title": h.title, "type": h.type, "year": h.year} for h in page.results]

    async def stats(self) -> DatabaseStats:
        """What the index holds: entry count, entries per vector, models and dimensions, backend and
        location (no credentials), disk use (embedded backend), the 25 most frequent genres and 10 types
        (most frequent first), and whether image search is ready (or why not). Never waits for a model
        that is still loading. Raises nothing a caller can fix (StoreError passes through)."""
        return await browse_reads.stats(self)
