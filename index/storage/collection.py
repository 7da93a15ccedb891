"""The collection layout shared by both backends: vectors, quantization, payload indexes, meta.

Each backend renders these plain records into its own configuration types
(``edge.py`` into qdrant-edge's, ``qdrant_config.py`` into ``qdrant_client.models``), so the
two hold the same collection.

Per-vector settings follow ``vectors.PRIORITY``. They were chosen by measurement on the
2-core, no-GPU reference machine with qdrant-edge 0.9 (lite profile: 384-d text, 512-d
image; clustered random unit vectors, ~10 near neighbours per point; 100 queries near
stored points; recall@10 against exact float search). ``bench/store_bench.py`` runs the
whole layout; single-vector sweeps at 100,000 x 384-d gave:

* HNSW + int8 (m=16): ef_construct 100 -> recall 0.98 (hnsw_ef 128, oversampling 2),
  18 s to build; ef_construct 200 -> 0.99, 27 s; m=32 -> 0.995 but 49 s and slower
  queries. Oversampling 2 with rescoring adds ~0.01 recall over 1 for ~no latency;
  hnsw_ef 256 adds <0.005 for 2x latency.
* No graph (m=0), scanning quantized codes: int8 -> recall 1.00 at 2.2 ms, <1 s to
  build; binary 1-bit -> 0.92 at 1.5 ms; binary 2-bit + 8-bit queries -> 0.97 at 5.4 ms;
  float without quantization -> 1.00 at 8.7 ms.
* Filtered search: with Qdrant's default payload-aware graph links on every indexed
  key, optimizing took >20 min at 100,000 points x 13 vectors (it builds extra links per
  indexed value for each of the 8 graphs); without them it took ~5 min, so no payload
  links are built (``FILTER_GRAPH_KEYS`` is empty). Through the plain graph a filter
  loses recall: on title_vector at 100,000 points (``bench/store_bench.py``'s data, 60
  queries, year-range filters) recall@10 was 0.33 / 0.52 / 0.73 / 0.84 / 0.94 for filters
  keeping 20 / 30 / 45 / 60 / 80 % of the points (unfiltered 0.97). Two remedies, both
  measured in the same run:
  - scanning the matching points exactly (full-scan threshold, counted in points):
    recall 1.00 at 1.8 / 2.3 / 3.1 ms p50 for 20 / 30 / 45 % with a 50,000-point
    threshold, while unfiltered searches keep the graph (1.3 ms, 0.97);
  - ACORN (Qdrant's filtered graph search that also walks neighbours of filtered-out
    nodes): recall 0.95-0.99 at 4-6 ms at every selectivity.
  So filters matching up to 50,000 points are scanned (every filter on a catalogue of
  anime, which stays under ~100,000 entries, unless it keeps half of it); past that the
  graph is walked with ACORN for filters keeping up to 90 % (60 %: 0.84 -> 0.98 at
  5.4 ms); filters keeping more (the default "no adult titles" alone) lose nothing
  measurable through the plain graph and keep its speed.

Hence:

* high (title, character, genre, image), hit by every default search: HNSW m=16,
  ef_construct=200, search ef 128; int8 scalar quantization pinned in RAM; originals on
  disk (mmap), read to rescore with oversampling 2.
* medium (technical, staff, temporal, review), searched on request: same graph with
  ef_construct=100 (cheaper to build, recall 0.98-0.99); int8 in RAM; originals on disk
  (mmap, read only to rescore a few candidates).
* low (streaming, related, franchise, episode, identifiers), rarely searched and often
  empty: no graph (m=0) - an exact scan over int8 codes costs ~2.5 ms at 100,000 points
  and nothing to build; codes and originals on disk (mmap: the scan reads the codes
  from the page cache), rescoring with oversampling 3. Binary quantization was measured
  and rejected (recall 0.92 on 384-d vectors).
* every vector: filtered searches matching fewer than 50,000 points scan them exactly;
  broader ones (up to 90 % of the points) use ACORN on the graph.
* the embedded store optimizes every ``SEGMENT_POINTS`` (200,000) points written and caps
  segments at that size.

Why originals and low codes on disk, and bounded segments (1,000,000 entries on a 24 GiB
machine; ``bench/store_curve.py``, results in ``bench/results/store-curve.md``). The
earlier layout cached the high originals in RAM, pinned every code and built one
segment: at 100,000 entries RSS 2.5 GB after optimize (1.8 GB heap) and a build peak
of 10.1 GB, extrapolating to ~21 GB and ~97 GB at a million. Measured with this layout:

* 1,822 entries (``bench/store_layout_check.py``, interleaved A/B): p50 0.84-0.96x of the
  earlier layout for every query shape, recall 1.0 on both, open 0.34 vs 0.48 s; so it
  is the default, not a setting. Indexes built earlier keep the layout stored in their
  shard (the engine loads it) and open as before.
* 100,000: the builder's RSS after optimize 1.45 GB (1.32 GB heap) vs 2.5 (1.8); a fresh
  serving process 1.40 GB (0.82 GB heap) after 1,000 queries; build heap peak 1.6 GB
  (the 8.4 GB beside it are segment files being written, page cache the kernel drops);
  single-vector p50 1.5 ms, recall@10 0.98-1.0, filtered 0.993-1.0.
* 30,000 with 10,000-point segments: 4 segments, build heap peak 0.72 vs 0.79 GB and
  mapped 1.3 vs 2.6 GB for one segment - the cap holds because the store optimizes as
  it goes (a cap alone does not split a segment the engine is given whole).
* 300,000 (3 segments: 200,000 + 100,000; load average 4-7): built in 26 min, 8.2 GB on
  disk; serving process 2.76 GB RSS (1.69 GB heap); build heap peak 3.1 GB (14.6 GB of
  files mapped while writing the 200,000-point segment); p50 single vector 3.5 ms, 3
  prefetches + RRF 12.5 ms; recall@10 0.96-0.99 on graph vectors (HNSW at ef 128 on a
  200,000-point segment), 1.0 on scanned ones; filtered 1.0 except 0.957 for a filter
  keeping 75 % (ACORN).
* fitted to 1,000,000 (linear in n; estimates): serving ~4.6 GB heap / ~7.4 GB RSS,
  build heap peak <= ~8.8 GB, ~27 GB on disk: it fits 24 GiB with the models beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, TypeVar

from qdrant_client import models

from index.payload_fields import PAYLOAD_INDEXES, IndexKind
from index.storage.base import CollectionSpec, IncompatibleCollectionError, StoreError
from index.storage.lexical import LEXICAL_SIGNATURE
from index.vectors import DENSE_VECTORS, IMAGE, LEXICAL, PRIORITY, Priority

#: Bump when vector names, payload layout or anything else stored changes meaning.
SCHEMA_VERSION = 1

#: Keys of the meta record written by the storage layer itself (the rest is CollectionSpec.meta).
META_OWN_KEYS = ("schema_version", "text_dim", "image_dim", "lexical")


@dataclass(frozen=True)
class VectorLayout:
    """How one dense named vector is stored and searched."""

    name: str
    size: int
    priority: Priority
    on_disk: bool  # original float vectors on disk (mmap, read on demand) instead of cached in RAM
    hnsw_m: int  # 0 = no graph: scan the quantized codes
    ef_construct: int
    full_scan_points: int  # a filter matching fewer points than this scans them instead of the graph
    quantization: Literal["int8", "binary"]
    oversampling: float  # candidates fetched from quantized codes per result, then rescored
    hnsw_ef: int | None = None  # search-time beam; None = engine default (ef_construct)
    codes_on_disk: bool = False  # quantized codes memory-mapped (page cache) instead of pinned in RAM

    @property
    def full_scan_threshold_kb(self) -> int:
        """Qdrant counts the threshold in KB of float32 vectors; convert from points."""
        return -(-self.full_scan_points * self.size * 4 // 1024)


#: Filtered searches matching fewer points than this scan them exactly (see module docstring).
FULL_SCAN_POINTS = 50_000

#: Filters keeping at most this share of the points walk the graph with ACORN (see module docstring).
ACORN_MAX_SELECTIVITY = 0.9

_HIGH = dict(
    on_disk=True,
    hnsw_m=16,
    ef_construct=200,
    full_scan_points=FULL_SCAN_POINTS,
    quantization="int8",
    oversampling=2.0,
    hnsw_ef=128,
)
# Each tier is the one above it with what differs (see the module docstring for why).
_MEDIUM = {**_HIGH, "ef_construct": 100}
_LOW = {**_MEDIUM, "hnsw_m": 0, "oversampling": 3.0, "hnsw_ef": None, "codes_on_disk": True}
_BY_PRIORITY: dict[Priority, dict[str, Any]] = {Priority.HIGH: _HIGH, Priority.MEDIUM: _MEDIUM, Priority.LOW: _LOW}

#: Points per segment of the embedded store: it builds graphs and codes every this many points
#: written and caps segments at this size, so one build holds a bounded amount (module docstring).
SEGMENT_POINTS = 200_000


def max_segment_kb(layouts: dict[str, VectorLayout], points: int = SEGMENT_POINTS) -> int:
    """Qdrant caps a segment by the bytes of its largest vector, in KB: ``points`` of that vector."""
    return -(-points * max(layout.size for layout in layouts.values()) * 4 // 1024)


#: Sparse lexical vector: kept in RAM (small), full scan below this many KB of postings.
LEXICAL_FULL_SCAN_THRESHOLD = 5_000


class TextIndexOptions(TypedDict):
    lowercase: bool
    ascii_folding: bool
    min_token_len: int
    max_token_len: int


#: Text index of the ``title`` payload field, identical on both backends: the multilingual
#: tokenizer (splits Japanese into words, like the lexical vector) with these options.
TITLE_TEXT_INDEX: TextIndexOptions = {"lowercase": True, "ascii_folding": True, "min_token_len": 1, "max_token_len": 40}


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
        raise StoreError(
            f"cannot count values of payload key {key!r} (index: {kind and kind.value}); facet keys: {usable}"
        )


def check_order_key(key: str) -> None:
    """Ordering needs an integer or float index (Qdrant cannot order by keyword)."""
    kind = PAYLOAD_INDEXES.get(key)
    if kind not in ORDER_KINDS:
        usable = ", ".join(k for k, v in PAYLOAD_INDEXES.items() if v in ORDER_KINDS)
        raise StoreError(
            f"cannot order by payload key {key!r} (index: {kind and kind.value}); orderable keys: {usable}"
        )


# ---------------------------------------------------------------------------- meta


def collection_meta(spec: CollectionSpec) -> dict[str, Any]:
    """The record stored with the collection: models (spec.meta), dimensions, schema, tokeniser."""
    record: dict[str, Any] = dict(spec.meta)
    record.update(
        schema_version=SCHEMA_VERSION, text_dim=spec.text_dim, image_dim=spec.image_dim, lexical=LEXICAL_SIGNATURE
    )
    return _normalised(record)


def _normalised(record: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(record, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"collection meta must be JSON-serialisable: {exc}") from exc


#: Keys added to the meta record after indexes were built without them, with the value those indexes had: every
#: text vector was computed by sentence-transformers before the engine was recorded.
META_LEGACY_DEFAULTS: dict[str, Any] = {"text_engine": "sentence-transformers"}


def check_meta(stored: dict[str, Any] | None, expected: dict[str, Any], where: str) -> None:
    """Raise IncompatibleCollectionError when the stored record differs from the settings."""
    if stored is None:
        raise IncompatibleCollectionError(
            f"{where} has no anime-mcp meta record (models and dimensions), so its vectors cannot be trusted "
            "to match the configured models. Re-index with `anime-mcp index --recreate`, or point "
            "ANIME_MCP_COLLECTION_NAME at another collection."
        )
    stored = _normalised({**{k: v for k, v in META_LEGACY_DEFAULTS.items() if k in expected}, **stored})
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


def keep_stored_image_layout(spec: CollectionSpec, stored: dict[str, Any] | None) -> CollectionSpec:
    """With image search switched off the settings name no image model (``meta["image_model"]`` is
    None): adopt the image model and size the index was built with, so turning pictures off leaves
    an index built with them readable for text search (its picture vectors stay, unused)."""
    if stored is None or spec.meta.get("image_model") is not None or stored.get("image_model") is None:
        return spec
    image_dim = stored.get("image_dim")
    if not isinstance(image_dim, int) or image_dim <= 0:
        return spec  # a damaged record: let check_meta name the difference
    meta = {**spec.meta, "image_model": stored["image_model"], "image_dim": image_dim}
    return CollectionSpec(text_dim=spec.text_dim, image_dim=image_dim, meta=meta)


# ---------------------------------------------------------------------------- search defaults


def default_search_params(layout: VectorLayout, filtered: bool = False) -> models.SearchParams:
    """Rescoring with the layout's oversampling, so quantized vectors keep their recall; with a
    filter on a graph-indexed vector, ACORN, so a broad filter does not strand the graph walk."""
    acorn = None
    if filtered and layout.hnsw_m > 0:
        acorn = models.AcornSearchParams(enable=True, max_selectivity=ACORN_MAX_SELECTIVITY)
    return models.SearchParams(
        hnsw_ef=layout.hnsw_ef,
        quantization=models.QuantizationSearchParams(rescore=True, oversampling=layout.oversampling),
        acorn=acorn,
    )


_Stage = TypeVar("_Stage", models.QueryRequest, models.Prefetch)


def prepare_request(request: _Stage, layouts: dict[str, VectorLayout]) -> _Stage:
    """Check and complete a request tree the same way on both backends.

    Every stage that searches a dense vector without explicit ``params`` gets that
    vector's default search parameters (with ACORN when the stage is filtered); every
    ``OrderByQuery`` must name an integer or float key (Qdrant cannot order by keyword, and the in-process
    test stand-in would not say so).
    """
    update: dict[str, Any] = {}
    query = request.query
    if isinstance(query, models.OrderByQuery):
        check_order_key(query.order_by if isinstance(query.order_by, str) else query.order_by.key)
    if request.params is None and request.using in layouts and _is_vector_search(query):
        update["params"] = default_search_params(layouts[request.using], filtered=request.filter is not None)
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
    "LEXICAL",
    "LEXICAL_FULL_SCAN_THRESHOLD",
    "META_OWN_KEYS",
    "SCHEMA_VERSION",
    "SEGMENT_POINTS",
    "TITLE_TEXT_INDEX",
    "VectorLayout",
    "check_facet_key",
    "check_meta",
    "check_order_key",
    "collection_meta",
    "default_search_params",
    "keep_stored_image_layout",
    "max_segment_kb",
    "payload_indexes",
    "vector_layouts",
    "prepare_request",
]
