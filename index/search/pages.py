"""Run a ranked request and assemble its page: hits, optional per-vector scores, the method line, a hint.

Two kinds of ranking: fused (weighted vector legs, then priors and boosts, optionally one entry per
franchise and MMR diversity) and ordered (facts only: the best entries by one payload key under the
filters, with priors).
"""

from __future__ import annotations

from collections.abc import Sequence

from qdrant_client import models

from index.search.franchise import first_of_each, group_key
from index.search.queries import Leg, explain_requests, fused_request, ordered_request, prefetch_limit
from index.search.results import HIT_PAYLOAD, AnimeHit, SearchPage
from index.search.tuning import SearchSettings
from index.storage.base import VectorStore

WIDEN = (
    "Nothing matched. To widen the search: remove or relax filters (genres_mode 'any' instead of 'all', "
    "a wider year range, a lower score_min), drop aspects, or rephrase the query."
)


def method_label(legs: list[Leg], fusion: str) -> str:
    """'title x1, genre x0.5' for one leg, 'rrf over ...' for several."""
    parts = ", ".join(f"{leg.using}x{leg.weight:g}" for leg in legs)
    return parts if len(legs) == 1 else f"{fusion} over {parts}"


def ranked_hits(points: Sequence[models.ScoredPoint]) -> list[AnimeHit]:
    return [AnimeHit.from_payload(p.payload or {}, relevance=round(p.score, 6)) for p in points]


def _page(hits: list[AnimeHit], limit: int, offset: int, method: str) -> SearchPage:
    return SearchPage(results=hits, offset=offset, limit=limit, hint=None if hits else WIDEN, method=method)


async def run_fused(
    store: VectorStore,
    settings: SearchSettings,
    legs: list[Leg],
    qfilter: models.Filter | None,
    limit: int,
    offset: int,
    *,
    explain: bool = False,
    diversify_anchor: list[float] | None = None,
    formula: models.FormulaQuery | None = None,
    extra_candidates: Sequence[models.Prefetch] = (),
) -> SearchPage:
    """One page of the fused ranking, best first. With ``diversify_anchor`` the page keeps one entry per
    franchise (MMR re-ranked around the anchor); with ``explain`` each hit carries its score per vector."""
    method = method_label(legs, settings.fusion)
    grouped = diversify_anchor is not None
    # Diversified pages keep one entry per franchise: rank a deeper list, group it, then cut the page.
    fetch_limit, fetch_offset = limit, offset
    if grouped:
        fetch_limit, fetch_offset = min(prefetch_limit(settings, limit, offset), 3 * (limit + offset)), 0
    request = fused_request(
        legs,
        settings=settings,
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
    points = await store.query(request)
    if grouped:
        points = first_of_each(points, lambda p: group_key(str((p.payload or {}).get("title", p.id))))
        points = points[offset : offset + limit]
        method = f"{method}, one per franchise"
    hits = ranked_hits(points)
    if explain and points:
        ids = [str(p.id) for p in points]
        per_leg = await store.query_batch(explain_requests(legs, ids))
        for leg, scored in zip(legs, per_leg, strict=True):
            by_id = {str(s.id): s.score for s in scored}
            for hit, p in zip(hits, points, strict=True):
                if str(p.id) in by_id:
                    hit.vector_scores = {**(hit.vector_scores or {}), leg.using: round(by_id[str(p.id)], 6)}
    return _page(hits, limit, offset, method)


async def run_ordered(
    store: VectorStore,
    settings: SearchSettings,
    key: str,
    formula: models.FormulaQuery,
    qfilter: models.Filter | None,
    limit: int,
    offset: int,
) -> SearchPage:
    """One page of the entries under the filter in the order of payload ``key`` blended with priors."""
    request = ordered_request(
        key, formula, settings=settings, query_filter=qfilter, limit=limit, offset=offset, with_payload=HIT_PAYLOAD
    )
    points = await store.query(request)
    return _page(ranked_hits(points), limit, offset, f"facts only: best {key} under the filters, with priors")
