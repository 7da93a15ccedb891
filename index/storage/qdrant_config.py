"""The shared collection layout (index.storage.collection) rendered as ``qdrant_client.models``.

Why apart from the server backend (index.storage.qdrant_server): what the collection looks like
on a server (vector params, quantization, sparse BM25, payload index schemas) is configuration,
the counterpart of index.storage.edge's rendering for the embedded engine; the backend itself is
about calling the server (retries, errors, paging).
"""

from __future__ import annotations

from typing import Any

from qdrant_client import models

from index.payload_fields import IndexKind
from index.storage.base import CollectionSpec, StoreError
from index.storage.collection import (
    LEXICAL_FULL_SCAN_THRESHOLD,
    TITLE_TEXT_INDEX,
    VectorLayout,
    filter_graph,
    vector_layouts,
)
from index.vectors import LEXICAL


def _vector_params(layout: VectorLayout) -> models.VectorParams:
    if layout.quantization == "int8":
        quant: Any = models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(
                type=models.ScalarType.INT8, quantile=0.99, always_ram=not layout.codes_on_disk
            )
        )
    else:
        quant = models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=not layout.codes_on_disk))
    return models.VectorParams(
        size=layout.size,
        distance=models.Distance.COSINE,
        on_disk=layout.on_disk,
        hnsw_config=models.HnswConfigDiff(
            m=layout.hnsw_m, ef_construct=layout.ef_construct, full_scan_threshold=layout.full_scan_threshold_kb
        ),
        quantization_config=quant,
    )


def server_vectors_config(spec: CollectionSpec) -> dict[str, models.VectorParams]:
    return {name: _vector_params(layout) for name, layout in vector_layouts(spec).items()}


def server_sparse_config() -> dict[str, models.SparseVectorParams]:
    return {
        LEXICAL: models.SparseVectorParams(
            index=models.SparseIndexParams(full_scan_threshold=LEXICAL_FULL_SCAN_THRESHOLD, on_disk=False),
            modifier=models.Modifier.IDF,
        )
    }


def server_index_schema(key: str, kind: IndexKind) -> Any:
    graph = filter_graph(key)
    if kind == IndexKind.KEYWORD:
        return models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, enable_hnsw=graph)
    if kind == IndexKind.INTEGER:
        return models.IntegerIndexParams(
            type=models.IntegerIndexType.INTEGER, lookup=True, range=True, enable_hnsw=graph
        )
    if kind == IndexKind.FLOAT:
        return models.FloatIndexParams(type=models.FloatIndexType.FLOAT, enable_hnsw=graph)
    if kind == IndexKind.BOOL:
        return models.BoolIndexParams(type=models.BoolIndexType.BOOL, enable_hnsw=graph)
    if kind == IndexKind.TEXT:
        return models.TextIndexParams(
            type=models.TextIndexType.TEXT,
            tokenizer=models.TokenizerType.MULTILINGUAL,
            enable_hnsw=graph,
            **TITLE_TEXT_INDEX,
        )
    raise StoreError(f"no index type for payload kind {kind!r}")
