"""Searches that start from a picture: by the picture alone, or by words and picture fused."""

from __future__ import annotations

from index.search.filters import SearchFilters
from index.search.inputs import SearchInputError, check_page, check_query
from index.search.intent import WISH_LIST_MAX_WORDS
from index.search.intent_words import query_words
from index.search.legs import image_vector, text_legs
from index.search.pages import run_fused
from index.search.parts import EngineParts
from index.search.queries import Leg
from index.search.ranking import prior_factor, ranking_formula
from index.search.results import SearchPage
from index.vectors import IMAGE


async def search_image(
    parts: EngineParts, image: str | bytes, filters: SearchFilters | None, limit: int, offset: int
) -> SearchPage:
    """See SearchEngine.search_image."""
    check_page(parts.settings, limit, offset)
    qfilter = await parts.known.query_filter(filters)
    vec = await image_vector(parts.embedder, parts.image_fetcher, image)
    legs = [Leg(IMAGE, vec, 1.0)]
    return await run_fused(parts.store, parts.settings, legs, qfilter, limit, offset)


async def search_multimodal(
    parts: EngineParts,
    query: str,
    image: str | bytes,
    text_weight: float,
    filters: SearchFilters | None,
    limit: int,
    offset: int,
) -> SearchPage:
    """See SearchEngine.search_multimodal."""
    settings = parts.settings
    query = check_query(settings, query)
    if not 0.0 <= text_weight <= 1.0:
        raise SearchInputError(f"text_weight must be between 0 and 1 (got {text_weight}).")
    check_page(settings, limit, offset)
    qfilter = await parts.known.query_filter(filters)
    legs = await text_legs(parts.embedder, settings, query, None, scale=text_weight)
    legs.append(Leg(IMAGE, await image_vector(parts.embedder, parts.image_fetcher, image), 1.0 - text_weight))
    legs = [leg for leg in legs if leg.weight > 0]
    priors = prior_factor(settings, query_words(query) <= WISH_LIST_MAX_WORDS) if text_weight > 0 else []
    formula = ranking_formula(settings, priors=priors) if priors else None
    return await run_fused(parts.store, settings, legs, qfilter, limit, offset, formula=formula)
