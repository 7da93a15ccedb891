"""Build Qdrant Query API requests: weighted prefetch + fusion, optional MMR diversity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qdrant_client import models

from index.search.tuning import SearchSettings
from index.vectors import TITLE

QueryInput = list[float] | models.SparseVector | models.RecommendQuery


@dataclass
class Leg:
    """One prefetch: a query against one named vector, with its weight in the fusion."""

    using: str
    query: QueryInput
    weight: float


def prefetch_limit(settings: SearchSettings, limit: int, offset: int) -> int:
    """Candidates per leg. It grows in tiers, not with every offset: the fused ranking depends on the
    candidate pools, so pages inside one tier come from one ranking and never repeat or skip."""
    reach = limit + offset
    tier = max(settings.prefetch_min, 1)
    while tier < reach:
        tier *= max(settings.prefetch_multiplier, 2)
    return tier


def fused_request(
    legs: Sequence[Leg],
    *,
    settings: SearchSettings,
    query_filter: models.Filter | None,
    limit: int,
    offset: int = 0,
    with_payload: bool | list[str] = True,
    diversify_anchor: list[float] | None = None,
    formula: models.FormulaQuery | None = None,
    extra_candidates: Sequence[models.Prefetch] = (),
) -> models.QueryRequest:
    """One request over several vectors. A single leg is queried directly (no fusion to distort scores).

    ``formula`` re-scores the fused candidates (plus ``extra_candidates``, e.g. entries whose title
    the user typed) with ranking priors; ``diversify_anchor`` then re-ranks them for variety (MMR).
    """
    legs = [leg for leg in legs if leg.weight > 0]
    if not legs:
        raise ValueError("no vectors to search: every weight is zero")
    depth = prefetch_limit(settings, limit, offset)
    if diversify_anchor is not None:
        # MMR re-ranks the fused candidates for variety (e.g. not ten seasons of one franchise).
        inner = fused_request(
            legs,
            settings=settings,
            query_filter=query_filter,
            limit=depth,
            offset=0,
            with_payload=False,
            formula=formula,
            extra_candidates=extra_candidates,
        )
        return models.QueryRequest(
            prefetch=[
                models.Prefetch(
                    prefetch=inner.prefetch, query=inner.query, using=inner.using, filter=query_filter, limit=depth
                )
            ],
            query=models.NearestQuery(
                nearest=diversify_anchor, mmr=models.Mmr(diversity=settings.mmr_diversity, candidates_limit=depth)
            ),
            using=TITLE,
            filter=query_filter,
            limit=limit,
            offset=offset,
            with_payload=with_payload,
        )
    if formula is not None:
        inner = fused_request(
            legs, settings=settings, query_filter=query_filter, limit=depth, offset=0, with_payload=False
        )
        stages = [
            models.Prefetch(
                prefetch=inner.prefetch, query=inner.query, using=inner.using, filter=query_filter, limit=depth
            ),
            *extra_candidates,
        ]
        return models.QueryRequest(
            prefetch=stages, query=formula, filter=query_filter, limit=limit, offset=offset, with_payload=with_payload
        )
    if len(legs) == 1:
        leg = legs[0]
        return models.QueryRequest(
            query=leg.query, using=leg.using, filter=query_filter, limit=limit, offset=offset, with_payload=with_payload
        )
    prefetch = [models.Prefetch(query=leg.query, using=leg.using, filter=query_filter, limit=depth) for leg in legs]
    if settings.fusion == "dbsf":
        fusion: models.Query = models.FusionQuery(fusion=models.Fusion.DBSF)
    else:
        fusion = models.RrfQuery(rrf=models.Rrf(k=settings.rrf_k, weights=[leg.weight for leg in legs]))
    return models.QueryRequest(
        prefetch=prefetch, query=fusion, filter=query_filter, limit=limit, offset=offset, with_payload=with_payload
    )


def candidates_of(ids: list[str], leg: Leg, query_filter: models.Filter | None) -> models.Prefetch:
    """A stage that brings the given points (those still passing the filter) into the candidates."""
    only = models.Filter(must=[models.HasIdCondition(has_id=ids), *([query_filter] if query_filter else [])])
    return models.Prefetch(query=leg.query, using=leg.using, filter=only, limit=len(ids))


def ordered_request(
    order_key: str,
    formula: models.FormulaQuery,
    *,
    settings: SearchSettings,
    query_filter: models.Filter | None,
    limit: int,
    offset: int,
    with_payload: bool | list[str],
) -> models.QueryRequest:
    """For a query of facts alone ("top rated movies"): the entries first in ``order_key`` under the filter,
    re-scored by the formula (which then carries no ``$score``)."""
    depth = prefetch_limit(settings, limit, offset)
    order = models.OrderByQuery(order_by=models.OrderBy(key=order_key, direction=models.Direction.DESC))
    return models.QueryRequest(
        prefetch=[models.Prefetch(query=order, filter=query_filter, limit=depth)],
        query=formula,
        filter=query_filter,
        limit=limit,
        offset=offset,
        with_payload=with_payload,
    )


def explain_requests(legs: Sequence[Leg], point_ids: list[str]) -> list[models.QueryRequest]:
    """Per-vector scores of the given points: one exact request per leg restricted to those ids."""
    only = models.Filter(must=[models.HasIdCondition(has_id=point_ids)])
    return [
        models.QueryRequest(
            query=leg.query,
            using=leg.using,
            filter=only,
            limit=len(point_ids),
            with_payload=False,
            params=models.SearchParams(exact=True),
        )
        for leg in legs
    ]
