"""Filters, conditions and orderings from ``qdrant_client.models`` to qdrant-edge types.

Why apart: filters are shared by every request kind (queries, scrolls, counts, facets, formula
conditions), and their server semantics (match, range, datetime, nested conditions) are one topic.
Geo conditions are not supported on the embedded engine (StoreError). Known engine quirk handled
here: qdrant-edge 0.9 reads ``MatchValue(True)`` as the integer 1 (matching nothing on a bool
field); a numpy bool keeps it a bool.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import qdrant_edge as qe
from qdrant_client import models

from index.storage.base import StoreError
from index.storage.edge_points import as_list, id_in, unsupported

_DIRECTION = {models.Direction.ASC: qe.Direction.Asc, models.Direction.DESC: qe.Direction.Desc}


def filter_in(flt: models.Filter | None) -> qe.Filter | None:
    if flt is None:
        return None
    if not isinstance(flt, models.Filter):
        raise StoreError(f"expected a qdrant_client.models.Filter, got {type(flt).__name__}")
    min_should = None
    if flt.min_should is not None:
        min_should = qe.MinShould([condition_in(c) for c in flt.min_should.conditions], flt.min_should.min_count)
    return qe.Filter(
        must=[condition_in(c) for c in as_list(flt.must)] or None,
        should=[condition_in(c) for c in as_list(flt.should)] or None,
        must_not=[condition_in(c) for c in as_list(flt.must_not)] or None,
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
        nested = filter_in(cond.nested.filter)
        if nested is None:
            raise StoreError(f"nested condition on {cond.nested.key!r} has no filter")
        return qe.NestedCondition(cond.nested.key, nested)
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
        if isinstance(value, bool):
            # qdrant-edge reads a Python bool as the integer 1/0 (bool subclasses int) and numpy's bool as a
            # boolean; its stubs list only bool
            return qe.MatchValue(np.bool_(value))  # type: ignore[arg-type]
        return qe.MatchValue(value)
    if isinstance(m, models.MatchAny):
        return qe.MatchAny(m.any)
    if isinstance(m, models.MatchExcept):
        return qe.MatchExcept(m.except_)
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


# ---------------------------------------------------------------------------- order


def order_by_in(o: Any) -> qe.OrderBy:
    if isinstance(o, str):
        return qe.OrderBy(o)
    if not isinstance(o, models.OrderBy):
        raise StoreError(f"order_by must be a key or models.OrderBy, got {o!r}")
    start: int | float | str | None = (
        _iso(o.start_from) if isinstance(o.start_from, (dt.datetime, dt.date)) else o.start_from
    )
    direction = _DIRECTION[models.Direction(o.direction)] if o.direction is not None else None
    return qe.OrderBy(o.key, direction=direction, start_from=start)
