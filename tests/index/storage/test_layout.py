"""The on-disk layout of the embedded index: indexes built with an earlier layout keep opening and
answering, and the store builds bounded segments as it is written.
"""

from __future__ import annotations

import json

import qdrant_edge as qe
from qdrant_client import models

from index.storage.collection import collection_meta, max_segment_kb, vector_layouts
from index.storage.edge import META_FILE, SHARD_DIR, EdgeStore, edge_config
from index.vectors import LEXICAL, PRIORITY, TITLE, Priority
from tests.index.storage.helpers import SPEC, STORAGE_MARKS, N, ids_of, make_points

pytestmark = STORAGE_MARKS


def earlier_config() -> qe.EdgeConfig:
    """What indexes built before the large-index layout hold: high-priority originals cached in RAM,
    every quantized code pinned, no segment cap."""
    vectors = {}
    for name, layout in vector_layouts(SPEC).items():
        vectors[name] = qe.EdgeVectorParams(
            size=layout.size,
            distance=qe.Distance.Cosine,
            quantization_config=qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=0.99, memory=qe.Memory.Pinned),
            hnsw_config=qe.HnswIndexConfig(m=layout.hnsw_m, ef_construct=layout.ef_construct, full_scan_threshold=10),
            memory=qe.Memory.Cached if PRIORITY[name] == Priority.HIGH else qe.Memory.Cold,
        )
    sparse = {LEXICAL: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)}
    return qe.EdgeConfig(vectors=vectors, sparse_vectors=sparse)


async def test_index_built_with_the_earlier_layout_opens_and_answers(tmp_path):
    directory = tmp_path / "anime"
    shard = qe.EdgeShard.create(str(directory / SHARD_DIR), earlier_config())
    shard.close()
    (directory / META_FILE).write_text(json.dumps(collection_meta(SPEC)), encoding="utf-8")
    points, _ = make_points()

    store = EdgeStore(directory)
    await store.open(SPEC)  # no IncompatibleCollectionError: the layout is the shard's own business
    await store.upsert(points)
    await store.close()  # optimizes with the shard's stored (earlier) settings
    await store.open(SPEC, create=False)
    try:
        hits = await store.query(models.QueryRequest(query=points[3].vector[TITLE], using=TITLE, limit=3))
        assert ids_of(hits)[0] == points[3].id
        assert (await store.info()).points == N
    finally:
        await store.close()


async def test_store_optimizes_every_segment_points(tmp_path):
    """Writes past ``segment_points`` build what was written (graphs and codes) before more arrive,
    so no single build covers the whole index; every point stays searchable."""
    store = EdgeStore(tmp_path / "anime")
    store.segment_points = 15
    await store.open(SPEC)
    points, _ = make_points()
    try:
        for start in range(0, N, 10):
            await store.upsert(points[start : start + 10])
            assert store._written < store.segment_points  # optimized once past the bound
        hits = await store.query(models.QueryRequest(query=points[-1].vector[TITLE], using=TITLE, limit=1))
        assert ids_of(hits) == [points[-1].id]
    finally:
        await store.close()


def test_segments_are_capped_by_their_largest_vector():
    layouts = vector_layouts(SPEC)
    config = edge_config(SPEC, segment_points=1000)
    assert config.optimizers.max_segment_size == max_segment_kb(layouts, 1000)
    largest = max(layout.size for layout in layouts.values())
    assert max_segment_kb(layouts, 1000) * 1024 >= 1000 * largest * 4
