"""Translation of ``qdrant_client.models`` (the interface vocabulary) to qdrant-edge types.

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
discover, context and relevance-feedback queries, geo conditions,
server-side inference inputs (``Document``/``Image``), unnamed (default) vectors.
Known engine quirk handled here: qdrant-edge 0.9 reads ``MatchValue(True)`` as the
integer 1 (matching nothing on a bool field); a numpy bool keeps it a bool.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Callable, Iterable

import numpy as np
import qdrant_edge as qe
from qdrant_client import models

from index.storage.base import StoreError
from index.storage.edge_formula import formula_in

# (ids, vector name) -> {str(id): vector}; runs in the worker thread that queries the shard.
Lookup = Callable[[list[Any], str], dict[str, Any]]

_DIRECTION = {models.Direction.ASC: qe.Direction.Asc, models.Direction.DESC: qe.Direction.Desc}
DEFAULT_RRF_K = 2  # the server's default ranking constant
DEFAULT_MMR_DIVERSITY = 0.5


def unsupported(what: str) -> StoreError:
    return StoreError(
        f"the embedded index (qdrant-edge) does not support {what}; "
        "rewrite the request without it, or use a Qdrant server (set ANIME_MCP_QDRANT_URL)"
    )


# ---------------------------------------------------------------------------- ids, vectors


def id_in(point_id: Any) -> Any:
    if isinstance(point_id, uuid.UUID):
        return str(point_id)
    if isinstance(point_id, (str, int)) and not isinstance(point_id, bool):
        return point_id
    raise StoreError(f"point ids must be uuid strings or unsigned integers, got {point_id!r}")


def id_out(point_id: Any) -> Any:
    return str(point_id) if isinstance(point_id, uuid.UUID) else point_id


def _dense(values: Any) -> list:
    if isinstance(values, list):
        return values
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _is_id(value: Any) -> bool:
    return isinstance(value, (str, uuid.UUID)) or (isinstance(value, int) and not isinstance(value, bool))


def vector_value_in(value: Any, where: str) -> Any:
    """One named vector of a point or query: dense list, sparse, or multi-dense."""
    if isinstance(value, models.SparseVector):
        return qe.SparseVector(list(value.indices), list(value.values))
    if isinstance(value, (models.Document, models.Image, models.InferenceObject)):
        raise unsupported(f"server-side inference inputs ({type(value).__name__}) in {where}; embed the text first")
    if isinstance(value, np.ndarray) or (isinstance(value, list) and (not value or not isinstance(value[0], list))):
        return _dense(value)
    if isinstance(value, list):
        return [_dense(v) for v in value]
    raise StoreError(f"cannot read {where} vector of type {type(value).__name__}")


def point_vector_in(vector: Any, point_id: Any) -> dict[str, Any]:
    if not isinstance(vector, dict):
        raise unsupported(f"unnamed vectors (point {point_id}); give a dict of named vectors")
    return {name: vector_value_in(value, f"point {point_id} {name!r}") for name, value in vector.items()}


def point_in(point: models.PointStruct) -> qe.Point:
    return qe.Point(id_in(point.id), point_vector_in(point.vector, point.id), point.payload or {})


def point_vectors_in(point: models.PointVectors) -> qe.PointVectors:
    return qe.PointVectors(id_in(point.id), point_vector_in(point.vector, point.id))


def vector_out(vector: Any) -> Any:
    if vector is None:
        return None
    if isinstance(vector, dict):
        return {name: vector_out(v) for name, v in vector.items()}
    if isinstance(vector, qe.SparseVector):
        return models.SparseVector(indices=list(vector.indices), values=list(vector.values))
    return vector


def _wants_vector(with_vector: Any) -> bool:
    return bool(with_vector)


def scored_point_out(p: qe.ScoredPoint, with_vector: Any) -> models.ScoredPoint:
    return models.ScoredPoint(
        id=id_out(p.id),
        version=p.version,
        score=p.score,
        payload=p.payload,
        vector=vector_out(p.vector) if _wants_vector(with_vector) else None,
        order_value=p.order_value,
    )


def record_out(r: qe.Record, with_vector: Any) -> models.Record:
    return models.Record(
        id=id_out(r.id),
        payload=r.payload,
        vector=vector_out(r.vector) if _wants_vector(with_vector) else None,
        order_value=r.order_value,
    )


# ---------------------------------------------------------------------------- selectors


def with_payload_in(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, list):
        return [str(k) for k in value]
    if isinstance(value, models.PayloadSelectorInclude):
        return qe.PayloadSelector.Include(list(value.include))
    if isinstance(value, models.PayloadSelectorExclude):
        return qe.PayloadSelector.Exclude(list(value.exclude))
    raise StoreError(f"with_payload must be a bool, a list of keys or a payload selector, got {value!r}")


def with_vector_in(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, list):
        return [str(k) for k in value]
    raise StoreError(f"with_vector must be a bool or a list of vector names, got {value!r}")


# ---------------------------------------------------------------------------- filters


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def filter_in(flt: models.Filter | None) -> qe.Filter | None:
    if flt is None:
        return None
    if not isinstance(flt, models.Filter):
        raise StoreError(f"expected a qdrant_client.models.Filter, got {type(flt).__name__}")
    min_should = None
    if flt.min_should is not None:
        min_should = qe.MinShould([condition_in(c) for c in flt.min_should.conditions], flt.min_should.min_count)
    return qe.Filter(
        must=[condition_in(c) for c in _as_list(flt.must)] or None,
        should=[condition_in(c) for c in _as_list(flt.should)] or None,
        must_not=[condition_in(c) for c in _as_list(flt.must_not)] or None,
        min_should=min_should,
    )


def condition_in(cond: Any) -> Any:
    if isinstance(cond, models.FieldCondition):
        return _field_condition(cond)
    if isinstance(cond, models.Filter):
        return filter_in(cond)
    if isinstance(cond, models.IsEmptyCondition):
        return qe.IsEmptyCondition(cond.is_empty.key)
    if isinstance(cond, models.IsNullCondition):
        return qe.IsNullCondition(cond.is_null.key)
    if isinstance(cond, models.HasIdCondition):
        return qe.HasIdCondition({id_in(i) for i in cond.has_id})
    if isinstance(cond, models.HasVectorCondition):
        return qe.HasVectorCondition(cond.has_vector)
    if isinstance(cond, models.NestedCondition):
        return qe.NestedCondition(cond.nested.key, filter_in(cond.nested.filter))
    raise unsupported(f"filter condition {type(cond).__name__}")


def _field_condition(c: models.FieldCondition) -> qe.FieldCondition:
    if c.geo_bounding_box is not None or c.geo_radius is not None or c.geo_polygon is not None:
        raise unsupported(f"geo conditions (key {c.key!r})")
    values_count = None
    if c.values_count is not None:
        v = c.values_count
        values_count = qe.ValuesCount(lt=v.lt, gt=v.gt, lte=v.lte, gte=v.gte)
    if c.match is None and c.range is None and values_count is None and c.is_empty is None and c.is_null is None:
        raise StoreError(f"FieldCondition on {c.key!r} sets no match, range, values_count, is_empty or is_null")
    return qe.FieldCondition(
        c.key,
        match=_match(c.key, c.match),
        range=_range(c.range),
        values_count=values_count,
        is_empty=c.is_empty,
        is_null=c.is_null,
    )


def _match(key: str, m: Any) -> Any:
    if m is None:
        return None
    if isinstance(m, models.MatchValue):
        value = m.value
        return qe.MatchValue(np.bool_(value) if isinstance(value, bool) else value)
    if isinstance(m, models.MatchAny):
        return qe.MatchAny(list(m.any))
    if isinstance(m, models.MatchExcept):
        return qe.MatchExcept(list(m.except_))
    if isinstance(m, models.MatchText):
        return qe.MatchText(m.text)
    if isinstance(m, models.MatchTextAny):
        return qe.MatchTextAny(m.text_any)
    if isinstance(m, models.MatchPhrase):
        return qe.MatchPhrase(m.phrase)
    raise unsupported(f"match {type(m).__name__} (key {key!r})")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat() if value.tzinfo else value.isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat() + "T00:00:00Z"
    return str(value)


def _range(r: Any) -> Any:
    if r is None:
        return None
    if isinstance(r, models.DatetimeRange):
        return qe.RangeDateTime(gte=_iso(r.gte), gt=_iso(r.gt), lte=_iso(r.lte), lt=_iso(r.lt))
    if isinstance(r, models.Range):
        return qe.RangeFloat(gte=r.gte, gt=r.gt, lte=r.lte, lt=r.lt)
    raise unsupported(f"range {type(r).__name__}")


# ---------------------------------------------------------------------------- order, params


def order_by_in(o: Any) -> qe.OrderBy:
    if isinstance(o, str):
        return qe.OrderBy(o)
    if not isinstance(o, models.OrderBy):
        raise StoreError(f"order_by must be a key or models.OrderBy, got {o!r}")
    start = o.start_from
    if isinstance(start, (dt.datetime, dt.date)):
        start = _iso(start)
    direction = _DIRECTION[models.Direction(o.direction)] if o.direction is not None else None
    return qe.OrderBy(o.key, direction=direction, start_from=start)


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
        hnsw_ef=p.hnsw_ef, exact=bool(p.exact), quantization=quant, indexed_only=bool(p.indexed_only), acorn=acorn, idf=idf
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
        prefetches = [self.prefetch(p) for p in _as_list(prefetch)] or None
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
            raise StoreError(f"point {point_id} does not exist or has no {using!r} vector, so it cannot be used as an example")
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
        for i, x in zip(v.indices, v.values):
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
