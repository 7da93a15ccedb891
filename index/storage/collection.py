"""The collection layout shared by both backends: vectors, quantization, payload indexes, meta.

Each backend renders these plain records into its own configuration types
(``edge.py`` into qdrant-edge's, ``server.py`` into ``qdrant_client.models``), so the
two hold the same collection.

Per-vector settings follow ``vectors.PRIORITY`` and were chosen by measurement with
``bench/store_bench.py`` on the 2-core, no-GPU reference machine (lite profile,
384-d text / 512-d image, random unit vectors, 100,000 points; see ``BENCH_NOTES``):

* high (title, character, genre, image): the vectors the default searches hit.
  HNSW graph (m=16, ef_construct=100) + int8 scalar quantization kept in RAM,
  original float vectors cached in RAM for rescoring with oversampling 2.0.
  int8 cuts the in-RAM scoring data 4x; with rescoring recall@10 stays >= 0.97
  against exact search while queries take about a millisecond.
* medium (technical, staff, temporal, review): searched on request. Same graph
  and int8 quantization in RAM, but the original vectors live on disk (mmap, read
  only to rescore the few oversampled candidates), so they cost page cache only
  when used.
* low (streaming, related, franchise, episode, identifiers): rarely searched, often
  empty. Originals on disk, binary quantization (32x smaller than float) in RAM with
  rescoring and oversampling 3.0, and no HNSW graph (m=0): a scan over 1-bit codes of
  100,000 points is a few milliseconds, and skipping five graphs makes indexing
  about a third faster. Binary codes of 384-d embeddings rank poorly on their own,
  which the 3x oversampled float rescoring repairs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from qdrant_client import models

from index.payload_fields import PAYLOAD_INDEXES, IndexKind
from index.storage.base import CollectionSpec, IncompatibleCollectionError, StoreError
from index.storage.lexical import LEXICAL_SIGNATURE
from index.vectors import DENSE_VECTORS, IMAGE, LEXICAL, PRIORITY, Priority

#: Bump when vector names, payload layout or anything else stored changes meaning.
SCHEMA_VERSION = 1

#: Keys of the meta record written by the storage layer itself (the rest is CollectionSpec.meta).
META_OWN_KEYS = ("schema_version", "text_dim", "image_dim", "lexical")

BENCH_NOTES = """\
See bench/store_bench.py and the storage report; numbers are per query, one client.
"""


@dataclass(frozen=True)
class VectorLayout:
    """How one dense named vector is stored and searched."""

    name: str
    size: int
    priority: Priority
    on_disk: bool  # original float vectors on disk (mmap) instead of cached in RAM
    hnsw_m: int  # 0 = no graph: scan the quantized codes
    ef_construct: int
    full_scan_threshold_kb: int  # below this many KB of matching vectors, scan instead of the graph
    quantization: Literal["int8", "binary"]
    oversampling: float  # candidates fetched from quantized codes per result, then rescored
    hnsw_ef: int | None = None  # search-time beam; None = engine default (ef_construct)


_HIGH = dict(on_disk=False, hnsw_m=16, ef_construct=200, full_scan_threshold_kb=10_000, quantization="int8",
             oversampling=2.0, hnsw_ef=128)
_MEDIUM = dict(on_disk=True, hnsw_m=16, ef_construct=100, full_scan_threshold_kb=10_000, quantization="int8",
               oversampling=2.0, hnsw_ef=128)
_LOW = dict(on_disk=True, hnsw_m=0, ef_construct=100, full_scan_threshold_kb=10_000, quantization="int8",
            oversampling=3.0, hnsw_ef=None)
_BY_PRIORITY: dict[Priority, dict[str, Any]] = {Priority.HIGH: _HIGH, Priority.MEDIUM: _MEDIUM, Priority.LOW: _LOW}

#: Sparse lexical vector: kept in RAM (small), full scan below this many KB of postings.
LEXICAL_FULL_SCAN_THRESHOLD = 5_000

#: Text index of the ``title`` payload field, identical on both backends: the multilingual
#: tokenizer (splits Japanese into words, like the lexical vector) with these options.
TITLE_TEXT_INDEX = dict(lowercase=True, ascii_folding=True, min_token_len=1, max_token_len=40)


def vector_layouts(spec: CollectionSpec) -> dict[str, VectorLayout]:
    """The 13 dense named vectors with their size and per-priority storage settings."""
    if spec.text_dim <= 0 or spec.image_dim <= 0:
        raise ValueError(f"vector sizes must be positive, got text_dim={spec.text_dim}, image_dim={spec.image_dim}")
    layouts = {}
    for name in DENSE_VECTORS:
        size = spec.image_dim if name == IMAGE else spec.text_dim
        layouts[name] = VectorLayout(name=name, size=size, priority=PRIORITY[name], **_BY_PRIORITY[PRIORITY[name]])
    return layouts


def payload_indexes() -> dict[str, IndexKind]:
    """Every payload key that filters, ordering or facets use, with its index kind."""
    return dict(PAYLOAD_INDEXES)


#: Payload keys whose index also adds filter-aware links to every HNSW graph (Qdrant's
#: ``enable_hnsw`` on a payload index). Qdrant does this for every indexed key by default,
#: which multiplies graph building: see the module docstring for the measurement.
FILTER_GRAPH_KEYS: frozenset[str] = frozenset()


def filter_graph(key: str) -> bool:
    return key in FILTER_GRAPH_KEYS


FACET_KINDS = (IndexKind.KEYWORD, IndexKind.INTEGER, IndexKind.BOOL)
ORDER_KINDS = (IndexKind.INTEGER, IndexKind.FLOAT)


def check_facet_key(key: str) -> None:
    """Facets need a keyword, integer or bool index on both backends; say so up front."""
    kind = PAYLOAD_INDEXES.get(key)
    if kind not in FACET_KINDS:
        usable = ", ".join(k for k, v in PAYLOAD_INDEXES.items() if v in FACET_KINDS)
        raise StoreError(f"cannot count values of payload key {key!r} (index: {kind and kind.value}); facet keys: {usable}")


def check_order_key(key: str) -> None:
    """Ordering needs an integer or float index (Qdrant cannot order by keyword)."""
    kind = PAYLOAD_INDEXES.get(key)
    if kind not in ORDER_KINDS:
        usable = ", ".join(k for k, v in PAYLOAD_INDEXES.items() if v in ORDER_KINDS)
        raise StoreError(f"cannot order by payload key {key!r} (index: {kind and kind.value}); orderable keys: {usable}")


# ---------------------------------------------------------------------------- meta


def collection_meta(spec: CollectionSpec) -> dict[str, Any]:
    """The record stored with the collection: models (spec.meta), dimensions, schema, tokeniser."""
    record: dict[str, Any] = dict(spec.meta)
    record.update(schema_version=SCHEMA_VERSION, text_dim=spec.text_dim, image_dim=spec.image_dim, lexical=LEXICAL_SIGNATURE)
    return _normalised(record)


def _normalised(record: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(record, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"collection meta must be JSON-serialisable: {exc}") from exc


def check_meta(stored: dict[str, Any] | None, expected: dict[str, Any], where: str) -> None:
    """Raise IncompatibleCollectionError when the stored record differs from the settings."""
    if stored is None:
        raise IncompatibleCollectionError(
            f"{where} has no anime-mcp meta record (models and dimensions), so its vectors cannot be trusted "
            "to match the configured models. Re-index with `anime-mcp index --recreate`, or point "
            "ANIME_MCP_COLLECTION_NAME at another collection."
        )
    stored = _normalised(stored)
    diffs = [
        f"{key}: index has {stored.get(key)!r}, settings give {expected.get(key)!r}"
        for key in sorted(set(stored) | set(expected))
        if stored.get(key) != expected.get(key)
    ]
    if diffs:
        raise IncompatibleCollectionError(
            f"{where} was built with other models or dimensions than the current settings ("
            + "; ".join(diffs)
            + "). Vectors of two models cannot be mixed: re-index with `anime-mcp index --recreate`, "
            "or change the settings back to the ones the index was built with."
        )


# ---------------------------------------------------------------------------- search defaults


def default_search_params(layout: VectorLayout) -> models.SearchParams:
    """Rescoring with the layout's oversampling, so quantized vectors keep their recall."""
    return models.SearchParams(
        hnsw_ef=layout.hnsw_ef,
        quantization=models.QuantizationSearchParams(rescore=True, oversampling=layout.oversampling),
    )


def prepare_request(
    request: models.QueryRequest | models.Prefetch, layouts: dict[str, VectorLayout]
) -> models.QueryRequest | models.Prefetch:
    """Check and complete a request tree the same way on both backends.

    Every stage that searches a dense vector without explicit ``params`` gets that
    vector's default search parameters; every ``OrderByQuery`` must name an integer or
    float key (Qdrant cannot order by keyword, and the in-process test stand-in would
    not say so).
    """
    update: dict[str, Any] = {}
    query = request.query
    if isinstance(query, models.OrderByQuery):
        check_order_key(query.order_by if isinstance(query.order_by, str) else query.order_by.key)
    if request.params is None and request.using in layouts and _is_vector_search(query):
        update["params"] = default_search_params(layouts[request.using])
    if request.prefetch:
        stages = request.prefetch if isinstance(request.prefetch, list) else [request.prefetch]
        update["prefetch"] = [prepare_request(p, layouts) for p in stages]
    return request.model_copy(update=update) if update else request


def _is_vector_search(query: Any) -> bool:
    if query is None:
        return False
    return not isinstance(
        query, (models.FusionQuery, models.RrfQuery, models.OrderByQuery, models.SampleQuery, models.FormulaQuery)
    )


__all__ = [
    "BENCH_NOTES",
    "LEXICAL",
    "LEXICAL_FULL_SCAN_THRESHOLD",
    "META_OWN_KEYS",
    "SCHEMA_VERSION",
    "TITLE_TEXT_INDEX",
    "VectorLayout",
    "check_facet_key",
    "check_meta",
    "check_order_key",
    "collection_meta",
    "default_search_params",
    "payload_indexes",
    "vector_layouts",
    "prepare_request",
]
