"""Writes, reads and the collection's life on both backends: round trips, missing and
updated vectors, payloads, deletes, meta checks, re-opening, concurrent calls.
"""

from __future__ import annotations

import uuid

import anyio
import numpy as np
import pytest
from qdrant_client import models

from index.storage.base import CollectionSpec, IncompatibleCollectionError, StoreError
from index.storage.lexical import lexical_query
from index.vectors import CHARACTER, DENSE_VECTORS, GENRE, LEXICAL, STAFF, TITLE
from tests.index.storage.helpers import (  # noqa: F401  (fixtures)
    IMAGE_DIM,
    SPEC,
    STORAGE_MARKS,
    TEXT_DIM,
    N,
    backend,
    factory,
    filled,
    ids_of,
    make_points,
    payload_of,
    pid,
    store,
    unit,
)

pytestmark = STORAGE_MARKS


# ---------------------------------------------------------------------------- writes and reads


async def test_upsert_retrieve_round_trip(filled):
    store, points, raw = filled
    got = await store.retrieve([pid(3), pid(6)], with_payload=True, with_vectors=True)
    by_id = {str(r.id): r for r in got}
    assert set(by_id) == {pid(3), pid(6)}
    assert by_id[pid(3)].payload == payload_of(3)
    for name in DENSE_VECTORS:
        np.testing.assert_allclose(by_id[pid(3)].vector[name], unit(raw[pid(3)][name]), atol=1e-5)
    sparse = by_id[pid(3)].vector[LEXICAL]
    expected = points[3].vector[LEXICAL]
    got = dict(zip(sparse.indices, sparse.values, strict=True))
    assert got == pytest.approx(dict(zip(expected.indices, expected.values, strict=True)))
    # A named vector may be missing for a point.
    assert CHARACTER not in by_id[pid(6)].vector and TITLE in by_id[pid(6)].vector
    only = await store.retrieve([pid(3)], with_payload=["title", "year"], with_vectors=[TITLE])
    assert only[0].payload == {"title": "Mushishi 3", "year": 1993}
    assert set(only[0].vector) == {TITLE}
    assert await store.retrieve([str(uuid.uuid4())]) == []


async def test_missing_vector_is_not_searched_and_counted(filled):
    store, _, _ = filled
    hits = await store.query(models.QueryRequest(query=[1.0] * TEXT_DIM, using=CHARACTER, limit=100))
    assert len(hits) == N - len(range(0, N, 6))
    assert not {pid(i) for i in range(0, N, 6)} & set(ids_of(hits))
    info = await store.info()
    assert info.points == N
    assert info.vectors_present[CHARACTER] == N - len(range(0, N, 6))
    assert info.vectors_present[TITLE] == N and info.vectors_present[LEXICAL] == N
    assert info.meta["text_dim"] == TEXT_DIM and info.meta["text_model"] == "test-text"
    if info.backend == "edge":
        assert info.disk_bytes and info.disk_bytes > 0


async def test_update_vectors_changes_only_those(filled):
    store, _, raw = filled
    new_title = unit(np.arange(1, TEXT_DIM + 1, dtype=float))
    await store.update_vectors([models.PointVectors(id=pid(5), vector={TITLE: new_title})])
    rec = (await store.retrieve([pid(5)], with_vectors=True))[0]
    np.testing.assert_allclose(rec.vector[TITLE], new_title, atol=1e-5)
    np.testing.assert_allclose(rec.vector[GENRE], unit(raw[pid(5)][GENRE]), atol=1e-5)
    assert LEXICAL in rec.vector and rec.payload == payload_of(5)


async def test_delete_vectors_and_points_and_set_payload(filled):
    store, _, _ = filled
    await store.delete_vectors([pid(1), pid(2)], [STAFF])
    rec = (await store.retrieve([pid(1)], with_vectors=True))[0]
    assert STAFF not in rec.vector and TITLE in rec.vector
    assert (await store.info()).vectors_present[STAFF] == N - 2
    await store.set_payload(pid(1), {"anime_id": "a1", "year": 2024})
    assert (await store.retrieve([pid(1)]))[0].payload == {"anime_id": "a1", "year": 2024}
    await store.delete([pid(1), pid(2)])
    assert await store.count() == N - 2
    assert await store.retrieve([pid(1)]) == []


async def test_wrong_dimension_is_a_store_error(store):
    bad = models.PointStruct(id=pid(0), vector={TITLE: [0.1] * (TEXT_DIM + 1)}, payload={})
    with pytest.raises(StoreError):
        await store.upsert([bad])


# ---------------------------------------------------------------------------- lifecycle, meta


async def test_meta_mismatch_raises_and_recreate_fixes(factory):
    first = await factory()
    await first.open(SPEC)
    await first.upsert(make_points()[0][:3])
    assert (await first.meta())["text_model"] == "test-text"
    await first.close()
    other = CollectionSpec(
        text_dim=TEXT_DIM, image_dim=IMAGE_DIM, meta={"text_model": "other", "image_model": "test-image"}
    )
    second = await factory()
    with pytest.raises(IncompatibleCollectionError, match="--recreate") as err:
        await second.open(other)
    assert "test-text" in str(err.value) and "other" in str(err.value)
    wider = CollectionSpec(text_dim=16, image_dim=IMAGE_DIM, meta=SPEC.meta)
    with pytest.raises(IncompatibleCollectionError, match="text_dim"):
        await second.open(wider)
    await second.open(other, recreate=True)
    assert await second.count() == 0
    assert (await second.meta())["text_model"] == "other"


async def test_create_false_on_missing_collection(factory):
    store = await factory()
    assert await store.meta() is None
    with pytest.raises(StoreError, match="anime-mcp index"):
        await store.open(SPEC, create=False)


async def test_reopen_keeps_data(factory, backend):
    store = await factory()
    await store.open(SPEC)
    points, _ = make_points()
    await store.upsert(points)
    await store.close()
    again = await factory()
    await again.open(SPEC, create=False)
    assert await again.count() == N
    assert (await again.retrieve([pid(11)]))[0].payload == payload_of(11)
    hits = await again.query(models.QueryRequest(query=lexical_query("mushishi"), using=LEXICAL, limit=N))
    assert {str(h.id) for h in hits} == {pid(i) for i in range(N) if i % 4 == 3}


async def test_concurrent_reads_and_writes(filled):
    store, points, _ = filled
    results: list[int] = []

    async def reader() -> None:
        for _ in range(5):
            results.append(len(await store.query(models.QueryRequest(query=[0.3] * TEXT_DIM, using=TITLE, limit=5))))

    async def writer() -> None:
        for p in points[:10]:
            await store.set_payload(str(p.id), {**p.payload, "members": 1})

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(reader)
        tg.start_soon(writer)
    assert results == [5] * 20
    assert (
        await store.count(models.Filter(must=[models.FieldCondition(key="members", match=models.MatchValue(value=1))]))
        == 10
    )
