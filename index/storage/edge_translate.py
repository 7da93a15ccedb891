"""Query requests from ``qdrant_client.models`` (the interface vocabulary) to qdrant-edge types.

Every construct the search code may send is either translated with the server's
semantics or rejected with a StoreError naming it; nothing is silently dropped.

Server semantics reproduced here (checked against qdrant-client's local mode):

* a point id used as a query vector (``NearestQuery``, ``RecommendQuery`` examples)
  is looked up in the same named vector, and the referenced ids are excluded from
  that stage's results;
* ``RecommendStrategy.AVERAGE_VECTOR`` (the default) searches ``2*mean(positive) -
  mean(negative)``; ``BEST_SCORE`` and ``SUM_SCORES`` map to the engine's own;
* ``Mmr(diversity=d)`` is the engine's MMR with ``lambda = 1 - d`` (default d=0.5,
  candidates = the stage limit);
* ``FusionQuery(RRF)`` uses k=2 like the server; ``RrfQuery`` passes k and weights.

Not supported on the embedded engine (StoreError): ``lookup_from``, ``shard_key``,
discover, context and relevance-feedback queries, server-side inference inputs
(``Document``/``Image``), unnamed (default) vectors. Points and records are translated in
index.storage.edge_points, filters in index.storage.edge_filters, formulas in
index.storage.edge_formula.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import qdrant_edge as qe
from qdrant_client import models

from index.storage.base import StoreError
from index.storage.edge_filters import condition_in, filter_in, order_by_in
from index.storage.edge_formula import formula_in
from index.storage.edge_points import as_list, id_in, unsupported, vector_value_in, with_payload_in, with_vector_in

# (ids, vector name) -> {str(id): vector}; runs in the worker thread that queries the shard.
Lookup = Callable[[list[Any], str], dict[str, Any]]

DEFAULT_RRF_K = 2  # the server's default ranking constant
DEFAULT_MMR_DIVERSITY = 0.5


def _is_id(value: Any) -> bool:
    return isinstance(value, (str, uuid.UUID)) or (isinstance(value, int) and not isinstance(value, bool))


def params_in(p: models.SearchParams | None) -> qe.SearchParams | None:
    if p is None:
        return None
    quant = None
    if p.quantization is not None:
        q = p.quantization
        quant = qe.QuantizationSearchParams(ignore=bool(q.ignore), rescore=q.rescore, oversampling=q.oversampling)
    acorn = None
    if p.acorn is not None:
        acorn = qe.AcornSearchParams(enable=bool(p.acorn.enable), max_selectivity=p.acorn.max_selectivity)
    idf = None
    if isinstance(p.idf, models.IdfCorpusParams):
        idf = qe.IdfParams(corpus=filter_in(p.idf.corpus))
    elif p.idf is not None and p.idf != models.IdfScope.GLOBAL:
        raise unsupported(f"idf scope {p.idf!r}")
    return qe.SearchParams(
        hnsw_ef=p.hnsw_ef,
        exact=bool(p.exact),
        quantization=quant,
        indexed_only=bool(p.indexed_only),
        acorn=acorn,
        idf=idf,
    )


# ---------------------------------------------------------------------------- queries


class QueryTranslator:
    """Translates one request tree; ``lookup`` fetches stored vectors for id-based queries."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup

    def request(self, r: models.QueryRequest) -> qe.QueryRequest:
        if r.shard_key is not None:
            raise unsupported("shard_key")
        limit = r.limit if r.limit is not None else 10
        offset = r.offset or 0
        query, flt, prefetches = self._stage(r.query, r.using, r.filter, r.prefetch, r.lookup_from, limit + offset)
        return qe.QueryRequest(
            limit=limit,
            offset=offset or None,
            query=query,
            prefetches=prefetches,
            with_vector=with_vector_in(r.with_vector),
            with_payload=with_payload_in(r.with_payload),
            filter=flt,
            score_threshold=r.score_threshold,
            params=params_in(r.params),
        )

    def prefetch(self, p: models.Prefetch) -> qe.Prefetch:
        limit = p.limit if p.limit is not None else 10
        query, flt, prefetches = self._stage(p.query, p.using, p.filter, p.prefetch, p.lookup_from, limit)
        return qe.Prefetch(
            limit=limit,
            query=query,
            prefetches=prefetches,
            params=params_in(p.params),
            filter=flt,
            score_threshold=p.score_threshold,
        )

    def _stage(self, query: Any, using: str | None, flt: Any, prefetch: Any, lookup_from: Any, limit: int):
        if lookup_from is not None:
            raise unsupported("lookup_from")
        excluded: list[Any] = []
        q = self._query(query, using, excluded, limit)
        out_filter = filter_in(flt)
        if excluded:
            exclusion = qe.HasIdCondition({id_in(i) for i in excluded})
            out_filter = qe.Filter(must=[out_filter] if out_filter else None, must_not=[exclusion])
        prefetches = [self.prefetch(p) for p in as_list(prefetch)] or None
        return q, out_filter, prefetches

    def _query(self, q: Any, using: str | None, excluded: list[Any], limit: int) -> Any:
        if q is None:
            return None
        if isinstance(q, models.NearestQuery):
            vector = self._example(q.nearest, using, excluded)
            if q.mmr is None:
                return qe.Query.Nearest(vector, using=using)
            diversity = DEFAULT_MMR_DIVERSITY if q.mmr.diversity is None else q.mmr.diversity
            candidates = q.mmr.candidates_limit or limit
            return qe.Mmr(vector, 1.0 - diversity, candidates, using=using)
        if isinstance(q, models.RecommendQuery):
            return self._recommend(q.recommend, using, excluded)
        if isinstance(q, models.FusionQuery):
            if q.fusion == models.Fusion.RRF:
                return qe.Fusion.Rrf(k=DEFAULT_RRF_K)
            if q.fusion == models.Fusion.DBSF:
                return qe.Fusion.Dbsf()
            raise unsupported(f"fusion {q.fusion!r}")
        if isinstance(q, models.RrfQuery):
            k = q.rrf.k if q.rrf.k is not None else DEFAULT_RRF_K
            return qe.Fusion.Rrf(k=k, weights=list(q.rrf.weights) if q.rrf.weights else None)
        if isinstance(q, models.OrderByQuery):
            return order_by_in(q.order_by)
        if isinstance(q, models.SampleQuery):
            return qe.Sample.Random
        if isinstance(q, models.FormulaQuery):
            return formula_in(q, condition_in)
        if isinstance(q, (models.DiscoverQuery, models.ContextQuery)):
            raise unsupported(type(q).__name__)
        if type(q).__name__ == "RelevanceFeedbackQuery":
            raise unsupported("RelevanceFeedbackQuery")
        # A bare vector input (list, sparse vector, point id) means nearest search.
        return qe.Query.Nearest(self._example(q, using, excluded), using=using)

    def _example(self, value: Any, using: str | None, excluded: list[Any]) -> Any:
        if _is_id(value):
            excluded.append(value)
            return self._stored(value, using)
        return vector_value_in(value, "query")

    def _stored(self, point_id: Any, using: str | None) -> Any:
        if not using:
            raise unsupported("queries on the unnamed default vector; set `using`")
        found = self._lookup([id_in(point_id)], using)
        key = str(id_in(point_id))
        if key not in found:
            raise StoreError(
                f"point {point_id} does not exist or has no {using!r} vector, so it cannot be used as an example"
            )
        return found[key]

    def _recommend(self, rec: models.RecommendInput, using: str | None, excluded: list[Any]) -> Any:
        positive = [self._example(v, using, excluded) for v in rec.positive or []]
        negative = [self._example(v, using, excluded) for v in rec.negative or []]
        strategy = rec.strategy or models.RecommendStrategy.AVERAGE_VECTOR
        if strategy == models.RecommendStrategy.AVERAGE_VECTOR:
            if not positive:
                raise StoreError("recommend with the average_vector strategy needs at least one positive example")
            return qe.Query.Nearest(_average(positive, negative), using=using)
        if not positive and not negative:
            raise StoreError("recommend needs at least one positive or negative example")
        query = qe.RecommendQuery(positive, negative)
        if strategy == models.RecommendStrategy.BEST_SCORE:
            return qe.Query.RecommendBestScore(query, using=using)
        if strategy == models.RecommendStrategy.SUM_SCORES:
            return qe.Query.RecommendSumScores(query, using=using)
        raise unsupported(f"recommend strategy {strategy!r}")


def _average(positive: list[Any], negative: list[Any]) -> Any:
    """The server's average_vector target: 2*mean(positive) - mean(negative)."""
    if any(isinstance(v, qe.SparseVector) for v in (*positive, *negative)):
        return _sparse_average(positive, negative)
    if any(v and isinstance(v[0], list) for v in (*positive, *negative)):
        raise unsupported("average_vector recommend on multi-vectors")
    pos = np.mean(np.asarray(positive, dtype=np.float64), axis=0)
    if not negative:
        return pos.astype(np.float32).tolist()
    neg = np.mean(np.asarray(negative, dtype=np.float64), axis=0)
    return (pos + pos - neg).astype(np.float32).tolist()


def _sparse_mean(vectors: Iterable[qe.SparseVector]) -> dict[int, float]:
    vectors = list(vectors)
    total: dict[int, float] = {}
    for v in vectors:
        for i, x in zip(v.indices, v.values, strict=True):
            total[i] = total.get(i, 0.0) + x
    return {i: x / len(vectors) for i, x in total.items()}


def _sparse_average(positive: list[Any], negative: list[Any]) -> qe.SparseVector:
    pos = _sparse_mean(positive)
    target = {i: 2 * x for i, x in pos.items()}
    if negative:
        for i, x in _sparse_mean(negative).items():
            target[i] = target.get(i, 0.0) - x
    indices = sorted(target)
    return qe.SparseVector(indices, [target[i] for i in indices])
