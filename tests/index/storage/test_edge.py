"""The embedded backend alone: constructs it refuses, folders it will not touch or share,
optimize keeping answers.
"""

from __future__ import annotations

import uuid

import pytest
from qdrant_client import models

from index.storage.base import StoreError
from index.storage.edge import EdgeStore
from index.vectors import TITLE
from tests.index.storage.helpers import SPEC, STORAGE_MARKS, TEXT_DIM, ids_of, make_points, pid, unit

pytestmark = STORAGE_MARKS


async def test_edge_unsupported_constructs_raise(tmp_path):
    store = EdgeStore(tmp_path / "anime")
    await store.open(SPEC)
    await store.upsert(make_points()[0][:5])
    geo = models.Filter(
        must=[
            models.FieldCondition(
                key="where", geo_radius=models.GeoRadius(center=models.GeoPoint(lon=0, lat=0), radius=10)
            )
        ]
    )
    bad_requests = [
        models.QueryRequest(query=[0.1] * TEXT_DIM, using=TITLE, filter=geo),
        models.QueryRequest(query=[0.1] * TEXT_DIM, using=TITLE, lookup_from=models.LookupLocation(collection="x")),
        models.QueryRequest(query=models.Document(text="hi", model="m"), using=TITLE),
        models.QueryRequest(
            query=models.DiscoverQuery(discover=models.DiscoverInput(target=pid(1), context=[])), using=TITLE
        ),
    ]
    for request in bad_requests:
        with pytest.raises(StoreError, match="does not support"):
            await store.query(request)
    with pytest.raises(StoreError, match="does not exist or has no"):
        await store.query(models.QueryRequest(query=str(uuid.uuid4()), using=TITLE))
    await store.close()


async def test_edge_second_process_and_bad_folders(tmp_path):
    first = EdgeStore(tmp_path / "anime")
    await first.open(SPEC)
    second = EdgeStore(tmp_path / "anime")
    with pytest.raises(StoreError, match="in use"):
        await second.open(SPEC)
    await first.close()
    (tmp_path / "anime" / "shard" / "segments").mkdir(exist_ok=True)
    corrupt = tmp_path / "anime" / "shard"
    for child in corrupt.rglob("*"):
        if child.is_file():
            child.write_bytes(b"garbage")
    with pytest.raises(StoreError, match="--recreate"):
        await EdgeStore(tmp_path / "anime").open(SPEC)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="ANIME_MCP_DATA_DIR"):
        await EdgeStore(blocker / "anime").open(SPEC)
    foreign = tmp_path / "mine"
    (foreign / "shard").mkdir(parents=True)
    (foreign / "shard" / "x").write_text("x")
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(StoreError, match="will not delete"):
        await EdgeStore(foreign).open(SPEC, recreate=True)
    assert (foreign / "notes.txt").exists()


async def test_edge_optimize_keeps_answers(tmp_path):
    store = EdgeStore(tmp_path / "anime")
    await store.open(SPEC)
    points, raw = make_points()
    await store.upsert(points)
    before = ids_of(await store.query(models.QueryRequest(query=unit(raw[pid(5)][TITLE]), using=TITLE, limit=5)))
    await store.optimize()
    after = ids_of(await store.query(models.QueryRequest(query=unit(raw[pid(5)][TITLE]), using=TITLE, limit=5)))
    assert before[0] == after[0] == pid(5)
    await store.close()
