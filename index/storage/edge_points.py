"""Points, ids, vectors and records between ``qdrant_client.models`` and qdrant-edge types.

Why apart from the query translation (index.storage.edge_translate): these are the plain values every
read and write carries, and the helpers the filter and query translations share. Whatever cannot be
translated is a StoreError naming it (``unsupported``), never silently dropped.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import qdrant_edge as qe
from qdrant_client import models

from index.storage.base import StoreError


def unsupported(what: str) -> StoreError:
    return StoreError(
        f"the embedded index (qdrant-edge) does not support {what}; "
        "rewrite the request without it, or use a Qdrant server (set ANIME_MCP_QDRANT_URL)"
    )


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


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
