"""Search by meaning from words: read the query, then rank by vectors, priors, titles and wishes.

With interpretation on, facts and wishes in the words (decades, types, genres, studios, 'best') become
filters, boosts and an order, and typed titles rank first; a query that is a title is read as one.
When nothing meets the filters read from the words, they are applied as preferences instead
(``interpreted_as.relaxed``) rather than answering nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from index.search.filters import SearchFilters
from index.search.inputs import SearchInputError, check_page, check_query
from index.search.intent import WISH_LIST_MAX_WORDS, QueryReading, Vocabulary, merge_filters, read_query
from index.search.intent_words import query_words
from index.search.legs import text_legs
from index.search.pages import run_fused, run_ordered
from index.search.parts import EngineParts
from index.search.queries import candidates_of
from index.search.ranking import WISH_ORDER, people_terms, prior_factor, ranking_formula, reading_terms
from index.search.results import InterpretedQuery, SearchPage
from index.search.title_index import TitleMatches
from index.vectors import TITLE, Aspect

# A query this close to a stored title (rapidfuzz ratio) is read as that title, with no facts read from it.
TITLE_AS_IS_CUTOFF = 90.0


async def search_text(
    parts: EngineParts,
    query: str,
    aspects: Sequence[Aspect | str] | None,
    filters: SearchFilters | None,
    limit: int,
    offset: int,
    explain: bool,
    diversify: bool,
    interpret: bool | None,
) -> SearchPage:
    """See SearchEngine.search_text."""
    settings = parts.settings
    query = check_query(settings, query)
    check_page(settings, limit, offset)
    interpret = settings.interpret_queries if interpret is None else interpret
    vocab = await parts.known.vocabulary()
    reading = None
    whole = None  # the query's title matches, looked up once and reused when the whole query is searched
    if interpret and not aspects:
        cutoff = min(settings.title_fuzzy_cutoff, TITLE_AS_IS_CUTOFF)
        whole = await parts.resolver.title_matches(query, fuzzy_cutoff=cutoff)
        # A typed title is a title, not a wish list ("mushi shi" is Mushishi, not the studio Mushi Production).
        as_title = whole.exact or whole.at_least(TITLE_AS_IS_CUTOFF).fuzzy
        # Words inside a title ("do you remember love") are not a request's wrapper.
        titled = bool(whole.prefix)
        reading = QueryReading(text=query, core=query) if as_title else read_query(query, vocab, requests=not titled)
    explicit = filters.model_dump(exclude_unset=True) if filters else {}
    read_filters = merge_filters(reading.filters, explicit) if reading and reading.filters else None
    page = await _search_read(
        parts, query, reading, read_filters, filters, aspects, limit, offset, explain, diversify, vocab, whole
    )
    if reading is not None and read_filters and not page.results and offset == 0:
        # Nothing met the facts as filters ("Ghibli films" where the data has no studios): use them as
        # preferences instead, and say so, rather than answer nothing.
        softened = reading.softened(query)
        page = await _search_read(
            parts, query, softened, None, filters, aspects, limit, offset, explain, diversify, vocab, whole
        )
        if page.interpreted_as is not None:
            page.interpreted_as.relaxed = True
    return page


async def _search_read(
    parts: EngineParts,
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
    """One ranking of the query as read (``reading`` None: the words as they are)."""
    settings = parts.settings
    effective = SearchFilters.model_validate(read_filters) if read_filters is not None else filters
    qfilter = await parts.known.query_filter(effective)
    text = reading.text if reading is not None else query
    legs = await text_legs(parts.embedder, settings, text, aspects, known=parts.known) if text else []
    titles = None
    if reading is not None and text:
        cutoff = settings.title_fuzzy_cutoff
        if whole is not None and text == query:
            titles = whole.at_least(cutoff)
        else:
            titles = await parts.resolver.title_matches(text, fuzzy_cutoff=cutoff)
    said = reading.core if reading is not None and reading.core else query  # the query without a request's wrapper
    priors = prior_factor(settings, query_words(said) <= WISH_LIST_MAX_WORDS) if not aspects else []
    wishes = reading_terms(settings, reading, vocab.max_year)
    if reading is not None and text:
        wishes += people_terms(settings, text)
    if not legs:
        if reading is None or not reading.read_anything:
            raise SearchInputError("The query has no searchable words; describe the anime in words.")
        formula = ranking_formula(settings, priors=priors, reading=wishes, with_score=False)
        assert formula is not None
        key = WISH_ORDER[reading.sort]
        page = await run_ordered(parts.store, settings, key, formula, qfilter, limit, offset)
    else:
        anchor: list[float] | None = None
        if diversify:
            title_query = next((leg.query for leg in legs if leg.using == TITLE), None)
            # the title leg is a dense vector (a list of floats); without one the query is embedded here
            anchor = title_query if isinstance(title_query, list) and title_query else None
            anchor = anchor or (await parts.embedder.aembed_query(text)).tolist()
        extra = [candidates_of(titles.ids(), legs[0], qfilter)] if titles and titles.ids() else []
        page = await run_fused(
            parts.store,
            settings,
            legs,
            qfilter,
            limit,
            offset,
            explain=explain,
            diversify_anchor=anchor,
            formula=ranking_formula(settings, priors=priors, reading=wishes, titles=titles),
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
            request=reading.request,
            like=reading.like,
        )
    return page
