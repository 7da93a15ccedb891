"""The search core: the one Python API the MCP tools call.

Text, image, multimodal, similar, recommend, browse, get and stats, all with the same
filters and the same result shape. The engine knows neither which storage backend
runs nor which models are loaded; it talks to VectorStore and EmbeddingModule.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal, get_args

from qdrant_client import models

from index.embedding.module import EmbeddingModule
from index.errors import UserFacingError
from index.payload_fields import ENTRY_KEY
from index.schema import AnimeEntry
from index.search.cache import PageCache, cached_page
from index.search.filters import SearchFilters, build_filter
from index.search.franchise import first_of_each, franchise_ids, group_key
from index.search.intent import WISH_LIST_MAX_WORDS, QueryReading, Vocabulary, merge_filters, read_query
from index.search.queries import (
    Leg,
    candidates_of,
    explain_requests,
    fused_request,
    ordered_request,
    prefetch_limit,
)
from index.search.ranking import WISH_ORDER, people_terms, prior_factor, ranking_formula, reading_terms
from index.search.resolve import AnimeResolver, TitleMatches
from index.search.results import (
    HIT_PAYLOAD,
    AnimeHit,
    BrowsePage,
    DatabaseStats,
    FacetValue,
    InterpretedQuery,
    SearchPage,
)
from index.search.tuning import SearchSettings
from index.storage.base import VectorStore
from index.storage.lexical import lexical_query
from index.vectors import ASPECT_VECTOR, IMAGE, LEXICAL, TEXT_VECTORS, TITLE, Aspect

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
_VOCAB_FIELDS = ("genres", "studios", "tags", "year")
# A query this close to a stored title (rapidfuzz ratio) is read as that title, with no facts read from it.
TITLE_AS_IS_CUTOFF = 90.0
_WIDEN = (
    "Nothing matched. To widen the search: remove or relax filters (genres_mode 'any' instead of 'all', "
    "a wider year range, a lower score_min), drop aspects, or rephrase the query."
)


class SearchInputError(UserFacingError, ValueError):
    """Bad search input; the message says what to change."""


class SearchEngine:
    def __init__(
        self,
        store: VectorStore,
        embedder: EmbeddingModule,
        settings: SearchSettings | None = None,
        image_fetcher: Any = None,
    ):
        self.store = store
        self.embedder = embedder
        self.settings = settings or SearchSettings()
        self.image_fetcher = image_fetcher
        self.resolver = AnimeResolver(store, self.settings.fuzzy_title_cutoff)
        self._vocab: dict[str, dict[str, int]] | None = None
        self._vocab_at = 0.0
        self._reading_vocab: tuple[dict[str, dict[str, int]], Vocabulary] | None = None
        self.page_cache: PageCache | None = PageCache(store)  # repeated reads cost nothing; writes invalidate

    # ----- shared checks ----------------------------------------------------------------
    def _check_page(self, limit: int, offset: int) -> None:
        if not 1 <= limit <= self.settings.max_limit:
            raise SearchInputError(f"limit must be between 1 and {self.settings.max_limit} (got {limit}).")
        if not 0 <= offset <= self.settings.max_offset:
            raise SearchInputError(f"offset must be between 0 and {self.settings.max_offset} (got {offset}).")

    def _check_query(self, query: str) -> str:
        query = (query or "").strip()
        if not query:
            raise SearchInputError("The query is empty: describe the anime (plot, mood, characters, title).")
        if len(query) > self.settings.max_query_chars:
            raise SearchInputError(
                f"The query is {len(query)} characters; keep it under {self.settings.max_query_chars}."
            )
        return query

    async def vocabulary(self) -> dict[str, dict[str, int]]:
        """Known genres and studios with counts (cached a minute), to reject unknown filter values."""
        if self._vocab is None or time.monotonic() - self._vocab_at > 60:
            vocab = {}
            for key in _VOCAB_FIELDS:
                vocab[key] = {str(v): c for v, c in await self.store.facet(key, limit=100_000)}
            self._vocab, self._vocab_at = vocab, time.monotonic()
        return self._vocab

    async def _reading_vocabulary(self) -> Vocabulary:
        """The query grammar's vocabulary, rebuilt only when the facet counts are refetched."""
        facets = await self.vocabulary()
        if self._reading_vocab is None or self._reading_vocab[0] is not facets:
            self._reading_vocab = (facets, Vocabulary.from_facets(facets))
        return self._reading_vocab[1]

    def invalidate_caches(self) -> None:
        """Call after the index changed (ingestion, enrichment)."""
        self._vocab = None
        self.resolver.invalidate()
        if self.page_cache is not None:
            self.page_cache.invalidate()

    async def _filter(self, filters: SearchFilters | None, exclude: Sequence[str] = ()) -> models.Filter | None:
        return build_filter(filters, vocabulary=await self.vocabulary(), exclude_point_ids=exclude)

    async def _require_images(self) -> None:
        if not await self.embedder.await_image():
            raise SearchInputError(f"Image search is not available on this server: {self.embedder.image_error}")

    # ----- searches -----------------------------------------------------------------------
    async def _text_legs(self, query: str, aspects: Sequence[Aspect | str] | None, scale: float = 1.0) -> list[Leg]:
        if aspects:
            try:
                chosen = [Aspect(a) for a in aspects]
            except ValueError as exc:
                raise SearchInputError(f"{exc}. Aspects: {', '.join(a.value for a in Aspect)}.") from None
            weights = {ASPECT_VECTOR[a]: 1.0 for a in chosen}
            if any(a is not Aspect.VISUAL for a in chosen) and self.settings.aspect_lexical_weight > 0:
                # exact words (a director's or a character's name) beat a pooled vector of a long cast list
                weights[LEXICAL] = self.settings.aspect_lexical_weight
        elif self.settings.description_weights and len(query.split()) > WISH_LIST_MAX_WORDS:
            weights = dict(self.settings.description_weights)
        else:
            weights = dict(self.settings.default_weights)
        legs: list[Leg] = []
        text_names = [n for n in weights if n in TEXT_VECTORS]
        if text_names:
            qvec = (await self.embedder.aembed_query(query)).tolist()
            legs += [Leg(n, qvec, weights[n] * scale) for n in text_names]
        if IMAGE in weights:
            await self._require_images()
            cvec = (await self.embedder.aembed_clip_text(query)).tolist()
            legs.append(Leg(IMAGE, cvec, weights[IMAGE] * scale))
        if LEXICAL in weights:
            sparse = lexical_query(query)
            if sparse.indices:
                legs.append(Leg(LEXICAL, sparse, weights[LEXICAL] * scale))
        return legs

    async def _run(
        self,
        legs: list[Leg],
        qfilter: models.Filter | None,
        limit: int,
        offset: int,
        explain: bool,
        method: str,
        diversify_anchor: list[float] | None = None,
        formula: models.FormulaQuery | None = None,
        extra_candidates: Sequence[models.Prefetch] = (),
    ) -> SearchPage:
        grouped = diversify_anchor is not None
        # Diversified pages keep one entry per franchise: rank a deeper list, group it, then cut the page.
        fetch_limit, fetch_offset = limit, offset
        if grouped:
            fetch_limit, fetch_offset = min(prefetch_limit(self.settings, limit, offset), 3 * (limit + offset)), 0
        request = fused_request(
            legs,
            settings=self.settings,
            query_filter=qfilter,
            limit=fetch_limit,
            offset=fetch_offset,
            with_payload=HIT_PAYLOAD,
            diversify_anchor=diversify_anchor,
            formula=formula,
            extra_candidates=extra_candidates,
        )
        if formula is not None:
            method = f"{method}, then priors and boosts"
        points = await self.store.query(request)
        if grouped:
            points = first_of_each(points, lambda p: group_key(str((p.payload or {}).get("title", p.id))))
            points = points[offset : offset + limit]
            method = f"{method}, one per franchise"
        hits = _ranked_hits(points)
        if explain and points:
            ids = [str(p.id) for p in points]
            per_leg = await self.store.query_batch(explain_requests(legs, ids))
            for leg, scored in zip(legs, per_leg, strict=True):
                by_id = {str(s.id): s.score for s in scored}
                for hit, p in zip(hits, points, strict=True):
                    if str(p.id) in by_id:
                        hit.vector_scores = {**(hit.vector_scores or {}), leg.using: round(by_id[str(p.id)], 6)}
        return SearchPage(results=hits, offset=offset, limit=limit, hint=None if hits else _WIDEN, method=method)

    @staticmethod
    def _method(legs: list[Leg], fusion: str) -> str:
        parts = ", ".join(f"{leg.using}x{leg.weight:g}" for leg in legs)
        return parts if len(legs) == 1 else f"{fusion} over {parts}"

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
        """Search by meaning. With ``interpret`` (default: the setting), facts and wishes in the words
        (decades, types, genres, studios, 'best') become filters, boosts and an order, typed titles rank
        first, and the page says how the query was read. Explicit ``filters`` win field by field.
        Raises SearchInputError / FilterValueError on bad input; an empty page carries a hint."""
        query = self._check_query(query)
        self._check_page(limit, offset)
        interpret = self.settings.interpret_queries if interpret is None else interpret
        vocab = await self._reading_vocabulary()
        reading = None
        whole = None  # the query's title matches, looked up once and reused when the whole query is searched
        if interpret and not aspects:
            cutoff = min(self.settings.title_fuzzy_cutoff, TITLE_AS_IS_CUTOFF)
            whole = await self.resolver.title_matches(query, fuzzy_cutoff=cutoff)
            # A typed title is a title, not a wish list ("mushi shi" is Mushishi, not the studio Mushi Production).
            as_title = whole.exact or whole.at_least(TITLE_AS_IS_CUTOFF).fuzzy
            reading = QueryReading(text=query) if as_title else read_query(query, vocab)
        explicit = filters.model_dump(exclude_unset=True) if filters else {}
        read_filters = merge_filters(reading.filters, explicit) if reading and reading.filters else None
        page = await self._search_read(
            query, reading, read_filters, filters, aspects, limit, offset, explain, diversify, vocab, whole
        )
        if reading is not None and read_filters and not page.results and offset == 0:
            # Nothing met the facts as filters ("Ghibli films" where the data has no studios): use them as
            # preferences instead, and say so, rather than answer nothing.
            page = await self._search_read(
                query, reading.softened(query), None, filters, aspects, limit, offset, explain, diversify, vocab, whole
            )
            if page.interpreted_as is not None:
                page.interpreted_as.relaxed = True
        return page

    async def _search_read(
        self,
        query: str,
        reading: QueryReading | None,
        read_filters: dict[str, Any] | None,
        filters: SearchFilters | None,
        aspects: Sequence[Aspect | str] | None,
        limit: int,
        offset: int,
        explain: bool,
        diversify: bool,
        vocab: Vocabulary,
        whole: TitleMatches | None,
    ) -> SearchPage:
        effective = SearchFilters.model_validate(read_filters) if read_filters is not None else filters
        qfilter = await self._filter(effective)
        text = reading.text if reading is not None else query
        legs = await self._text_legs(text, aspects) if text else []
        titles = None
        if reading is not None and text:
            cutoff = self.settings.title_fuzzy_cutoff
            if whole is not None and text == query:
                titles = whole.at_least(cutoff)
            else:
                titles = await self.resolver.title_matches(text, fuzzy_cutoff=cutoff)
        priors = prior_factor(self.settings, len(query.split()) <= WISH_LIST_MAX_WORDS) if not aspects else []
        wishes = reading_terms(self.settings, reading, vocab.max_year)
        if reading is not None and text:
            wishes += people_terms(self.settings, text)
        if not legs:
            if reading is None or not reading.read_anything:
                raise SearchInputError("The query has no searchable words; describe the anime in words.")
            formula = ranking_formula(self.settings, priors=priors, reading=wishes, with_score=False)
            assert formula is not None
            page = await self._run_ordered(reading, formula, qfilter, limit, offset)
        else:
            anchor: list[float] | None = None
            if diversify:
                title_query = next((leg.query for leg in legs if leg.using == TITLE), None)
                # the title leg is a dense vector (a list of floats); without one the query is embedded here
                anchor = title_query if isinstance(title_query, list) and title_query else None
                anchor = anchor or (await self.embedder.aembed_query(text)).tolist()
            extra = [candidates_of(titles.ids(), legs[0], qfilter)] if titles and titles.ids() else []
            page = await self._run(
                legs,
                qfilter,
                limit,
                offset,
                explain,
                self._method(legs, self.settings.fusion),
                anchor,
                formula=ranking_formula(self.settings, priors=priors, reading=wishes, titles=titles),
                extra_candidates=extra,
            )
        if reading is not None:
            page.interpreted_as = InterpretedQuery(
                text=text,
                filters=dict(reading.filters) if read_filters is not None else {},
                sort=reading.sort,
                boosts=reading.boost_labels(),
                title_matches=len(titles.ids()) if titles else 0,
                phrases=reading.phrases,
            )
        return page

    async def _run_ordered(
        self,
        reading: QueryReading,
        formula: models.FormulaQuery,
        qfilter: models.Filter | None,
        limit: int,
        offset: int,
    ) -> SearchPage:
        key = WISH_ORDER[reading.sort]
        request = ordered_request(
            key,
            formula,
            settings=self.settings,
            query_filter=qfilter,
            limit=limit,
            offset=offset,
            with_payload=HIT_PAYLOAD,
        )
        points = await self.store.query(request)
        hits = _ranked_hits(points)
        return SearchPage(
            results=hits,
            offset=offset,
            limit=limit,
            hint=None if hits else _WIDEN,
            method=f"facts only: best {key} under the filters, with priors",
        )

    async def _image_vector(self, image: str | bytes) -> list[float]:
        await self._require_images()
        if self.image_fetcher is None:
            raise SearchInputError("Image input is not configured on this server.")
        picture = await self.image_fetcher.fetch(image)
        return (await self.embedder.aembed_images([picture]))[0].tolist()

    async def search_image(
        self, image: str | bytes, filters: SearchFilters | None = None, limit: int = 10, offset: int = 0
    ) -> SearchPage:
        """Entries whose pictures look like ``image`` (bytes, base64, data/http(s) URL, allowed path), by cosine
        on image_vector. Raises ImageInputError (bad picture), SearchInputError (image search unavailable)."""
        self._check_page(limit, offset)
        qfilter = await self._filter(filters)
        vec = await self._image_vector(image)
        legs = [Leg(IMAGE, vec, 1.0)]
        return await self._run(legs, qfilter, limit, offset, False, self._method(legs, self.settings.fusion))

    async def search_multimodal(
        self,
        query: str,
        image: str | bytes,
        text_weight: float = 0.5,
        filters: SearchFilters | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> SearchPage:
        """Words and picture fused by RRF, with the same priors as search_text while words count:
        ``text_weight`` 1.0 ranks like search_text(interpret=False), 0.0 like search_image.
        Raises SearchInputError, ImageInputError."""
        query = self._check_query(query)
        if not 0.0 <= text_weight <= 1.0:
            raise SearchInputError(f"text_weight must be between 0 and 1 (got {text_weight}).")
        self._check_page(limit, offset)
        qfilter = await self._filter(filters)
        legs = [leg for leg in await self._text_legs(query, None, scale=text_weight)]
        legs.append(Leg(IMAGE, await self._image_vector(image), 1.0 - text_weight))
        legs = [leg for leg in legs if leg.weight > 0]
        priors = prior_factor(self.settings, len(query.split()) <= WISH_LIST_MAX_WORDS) if text_weight > 0 else []
        formula = ranking_formula(self.settings, priors=priors) if priors else None
        return await self._run(
            legs, qfilter, limit, offset, False, self._method(legs, self.settings.fusion), formula=formula
        )

    def _aspect_weights(self, aspect: str) -> dict[str, float]:
        if aspect == "overall":
            return dict(self.settings.similar_weights)
        try:
            return {ASPECT_VECTOR[Aspect(aspect)]: 1.0}
        except ValueError:
            names = ", ".join(["overall", *(a.value for a in Aspect)])
            raise SearchInputError(f"Unknown aspect {aspect!r}. Use one of: {names}.") from None

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
        """Entries like one anime (id or title), never itself; its own franchise (sequels, films, specials)
        is left out unless ``include_same_franchise``. Raises AnimeNotFoundError, SearchInputError."""
        self._check_page(limit, offset)
        weights = self._aspect_weights(aspect)
        record = await self.resolver.resolve(anime, with_vectors=list(weights))
        # named dense vectors as the store returns them: lists of floats (qdrant's type also allows sparse and multi)
        vectors: dict[str, Any] = record.vector if isinstance(record.vector, dict) else {}
        legs = [Leg(name, list(vectors[name]), w) for name, w in weights.items() if vectors.get(name) is not None]
        title = (record.payload or {}).get(ENTRY_KEY, {}).get("title", anime)
        if not legs:
            raise SearchInputError(f"{title!r} has no {aspect} data to compare; try aspect 'overall' or enrich it.")
        family = [] if include_same_franchise else await franchise_ids(self.resolver, [record])
        qfilter = await self._filter(filters, exclude=[str(record.id), *family])
        anchor = list(vectors[TITLE]) if diversify and vectors.get(TITLE) is not None else None
        page = await self._run(legs, qfilter, limit, offset, False, self._method(legs, self.settings.fusion), anchor)
        left_out = f" ({len(family)} entries of its franchise left out)" if family else ""
        page.method = f"similar to {title}{left_out}: {page.method}"
        return page

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
        """Close to the liked entries and away from the disliked; the named entries never come back, nor
        (unless ``include_same_franchise``) their franchises. Raises AnimeNotFoundError, SearchInputError."""
        if not liked:
            raise SearchInputError("Name at least one liked anime (id or title).")
        if len(liked) + len(disliked) > 20:
            raise SearchInputError("Give at most 20 liked and disliked anime together.")
        self._check_page(limit, offset)
        weights = dict(self.settings.similar_weights)
        pos = [await self.resolver.resolve(a, with_vectors=list(weights)) for a in liked]
        neg = [await self.resolver.resolve(a, with_vectors=list(weights)) for a in disliked]
        legs: list[Leg] = []
        for name, w in weights.items():
            p = [list(r.vector[name]) for r in pos if isinstance(r.vector, dict) and r.vector.get(name) is not None]
            n = [list(r.vector[name]) for r in neg if isinstance(r.vector, dict) and r.vector.get(name) is not None]
            if p:
                query = models.RecommendQuery(
                    recommend=models.RecommendInput(
                        positive=p, negative=n or None, strategy=models.RecommendStrategy.AVERAGE_VECTOR
                    )
                )
                legs.append(Leg(name, query, w))
        exclude = [str(r.id) for r in [*pos, *neg]]
        if not include_same_franchise:
            exclude += await franchise_ids(self.resolver, [*pos, *neg])
        qfilter = await self._filter(filters, exclude=exclude)
        anchor = None
        if diversify:
            titles = [list(r.vector[TITLE]) for r in pos if isinstance(r.vector, dict) and r.vector.get(TITLE)]
            anchor = [sum(col) / len(titles) for col in zip(*titles, strict=True)] if titles else None
        return await self._run(legs, qfilter, limit, offset, False, self._method(legs, self.settings.fusion), anchor)

    # ----- browse, get, stats -------------------------------------------------------------------
    @cached_page
    async def browse(
        self,
        filters: SearchFilters | None = None,
        sort_by: SortBy = "score",
        limit: int = 10,
        offset: int = 0,
        facets: Sequence[str] = (),
    ) -> BrowsePage:
        """Entries meeting the filters in one payload order (pages are slices of it), with the total and facet
        counts. Raises SearchInputError (bad sort or facet), FilterValueError."""
        self._check_page(limit, offset)
        if sort_by not in SORT_KEYS:
            raise SearchInputError(f"sort_by must be one of: {', '.join(SORT_KEYS)} (got {sort_by!r}).")
        bad = [f for f in facets if f not in FACET_KEYS]
        if bad:
            raise SearchInputError(f"Unknown facet {bad[0]!r}. Facets: {', '.join(FACET_KEYS)}.")
        qfilter = await self._filter(filters)
        key, direction = SORT_KEYS[sort_by]
        request = models.QueryRequest(
            query=models.OrderByQuery(order_by=models.OrderBy(key=key, direction=direction)),
            filter=qfilter,
            limit=limit,
            offset=offset,
            with_payload=HIT_PAYLOAD,
        )
        points = await self.store.query(request)
        total = await self.store.count(qfilter)
        counts = {
            f: [FacetValue(value=v, count=c) for v, c in await self.store.facet(f, facet_filter=qfilter)]
            for f in facets
        }
        hits = [AnimeHit.from_payload(p.payload or {}) for p in points]
        hint = None if hits else (_WIDEN if total == 0 else f"Only {total} entries match; lower the offset.")
        return BrowsePage(
            results=hits, offset=offset, limit=limit, total=total, sort_by=sort_by, facets=counts, hint=hint
        )

    @cached_page
    async def get_entry(self, anime: str) -> AnimeEntry:
        """The stored entry by id, exact title or synonym (most members wins), then fuzzy title.
        Raises AnimeNotFoundError naming the closest titles."""
        record = await self.resolver.resolve(anime)
        return AnimeEntry.model_validate((record.payload or {})[ENTRY_KEY])

    async def stats(self) -> DatabaseStats:
        """What the index holds: counts, vectors present, models, backend, and whether image search is ready."""
        info = await self.store.info()
        meta = info.meta or {}
        genres = [FacetValue(value=v, count=c) for v, c in await self.store.facet("genres", limit=25)]
        types = [FacetValue(value=v, count=c) for v, c in await self.store.facet("type", limit=10)]
        return DatabaseStats(
            entries=info.points,
            vectors_present=info.vectors_present,
            backend=info.backend,
            location=info.location,
            disk_bytes=info.disk_bytes,
            text_model=meta.get("text_model"),
            image_model=meta.get("image_model"),
            text_dim=meta.get("text_dim"),
            image_dim=meta.get("image_dim"),
            image_search_available=self.embedder.image_status == "ready",
            image_search_error=self._image_note(),
            top_genres=genres,
            types=types,
        )

    def _image_note(self) -> str | None:
        """Why image search is off right now, without waiting for a model that is still loading."""
        if self.embedder.image_status == "loading":
            return "the image model is still loading; image search will be available shortly"
        return self.embedder.image_error


def _ranked_hits(points: Sequence[models.ScoredPoint]) -> list[AnimeHit]:
    return [AnimeHit.from_payload(p.payload or {}, relevance=round(p.score, 6)) for p in points]
