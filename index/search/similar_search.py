"""Searches from anime the user names: entries like one of them, or close to liked and away from disliked.

The named entries never come back, nor (unless asked) their franchises: "similar to Cowboy Bebop"
should start with other shows, not Bebop's film.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qdrant_client import models

from index.search.filters import SearchFilters
from index.search.franchise import franchise_ids
from index.search.inputs import SearchInputError, check_page
from index.search.pages import run_fused
from index.search.parts import EngineParts
from index.search.queries import Leg
from index.search.results import SearchPage
from index.search.tuning import SearchSettings
from index.vectors import ASPECT_VECTOR, TITLE, Aspect

#: The most liked and disliked anime one recommend call may name together.
MAX_NAMED = 20


def aspect_weights(settings: SearchSettings, aspect: str) -> dict[str, float]:
    """Vector -> weight for an aspect ('overall': the similar blend); SearchInputError for an unknown one."""
    if aspect == "overall":
        return dict(settings.similar_weights)
    try:
        return {ASPECT_VECTOR[Aspect(aspect)]: 1.0}
    except ValueError:
        names = ", ".join(["overall", *(a.value for a in Aspect)])
        raise SearchInputError(f"Unknown aspect {aspect!r}. Use one of: {names}.") from None


async def find_similar(
    parts: EngineParts,
    anime: str,
    aspect: str,
    filters: SearchFilters | None,
    limit: int,
    offset: int,
    diversify: bool,
    include_same_franchise: bool,
) -> SearchPage:
    """See SearchEngine.find_similar."""
    settings = parts.settings
    check_page(settings, limit, offset)
    weights = aspect_weights(settings, aspect)
    found = await parts.resolver.lookup(anime, with_vectors=list(weights))
    record = found.record
    # named dense vectors as the store returns them: lists of floats (qdrant's type also allows sparse and multi)
    vectors: dict[str, Any] = record.vector if isinstance(record.vector, dict) else {}
    legs = [Leg(name, list(vectors[name]), w) for name, w in weights.items() if vectors.get(name) is not None]
    title = found.title
    if not legs:
        raise SearchInputError(f"{title!r} has no {aspect} data to compare; try aspect 'overall' or enrich it.")
    family = [] if include_same_franchise else await franchise_ids(parts.resolver, [record])
    qfilter = await parts.known.query_filter(filters, exclude=[str(record.id), *family])
    anchor = list(vectors[TITLE]) if diversify and vectors.get(TITLE) is not None else None
    page = await run_fused(parts.store, settings, legs, qfilter, limit, offset, diversify_anchor=anchor)
    left_out = f" ({len(family)} entries of its franchise left out)" if family else ""
    page.method = f"similar to {title}{left_out}: {page.method}"
    page.resolved = [found.named()]
    return page


async def recommend(
    parts: EngineParts,
    liked: Sequence[str],
    disliked: Sequence[str],
    filters: SearchFilters | None,
    limit: int,
    offset: int,
    diversify: bool,
    include_same_franchise: bool,
) -> SearchPage:
    """See SearchEngine.recommend."""
    settings = parts.settings
    if not liked:
        raise SearchInputError("Name at least one liked anime (id or title).")
    if len(liked) + len(disliked) > MAX_NAMED:
        raise SearchInputError(f"Give at most {MAX_NAMED} liked and disliked anime together.")
    check_page(settings, limit, offset)
    weights = dict(settings.similar_weights)
    pos_found = [await parts.resolver.lookup(a, with_vectors=list(weights)) for a in liked]
    neg_found = [await parts.resolver.lookup(a, with_vectors=list(weights)) for a in disliked]
    pos, neg = [f.record for f in pos_found], [f.record for f in neg_found]
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
        exclude += await franchise_ids(parts.resolver, [*pos, *neg])
    qfilter = await parts.known.query_filter(filters, exclude=exclude)
    anchor = None
    if diversify:
        titles = [list(r.vector[TITLE]) for r in pos if isinstance(r.vector, dict) and r.vector.get(TITLE)]
        anchor = [sum(col) / len(titles) for col in zip(*titles, strict=True)] if titles else None
    page = await run_fused(parts.store, settings, legs, qfilter, limit, offset, diversify_anchor=anchor)
    page.resolved = [f.named() for f in [*pos_found, *neg_found]]
    return page
