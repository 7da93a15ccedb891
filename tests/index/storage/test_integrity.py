"""The embedded index knows what it should hold and refuses to answer from less; a full disk is one clear
line and loses nothing; the advice to rebuild appears only when the cause is damage.

Stores hold small random points (tests/index/storage/helpers.py); enough of them that the engine's log no
longer replays them all, so truncating the id tracker loses most points, as it did on the demo index.
"""

from __future__ import annotations

import errno
import json
import uuid

import numpy as np
import pytest
import qdrant_edge as qe
from qdrant_client import models

from index.errors import UserFacingError
from index.storage import disk_space
from index.storage.base import DiskFullError, IndexDamagedError, IndexInUseError, StoreError
from index.storage.edge import EdgeStore
from index.storage.integrity import INTEGRITY_FILE
from index.storage.lexical import lexical_document
from index.vectors import DENSE_VECTORS, IMAGE, LEXICAL
from tests.index.storage.helpers import IMAGE_DIM, SPEC, STORAGE_MARKS, TEXT_DIM, payload_of, unit

pytestmark = STORAGE_MARKS

MANY = 1536  # the engine's log replays the last few hundred points; truncation must show past them


def points(n: int, start: int = 0) -> list[models.PointStruct]:
    rng = np.random.default_rng(start)
    out = []
    for i in range(start, start + n):
        vectors: dict = {
            name: unit(rng.normal(size=IMAGE_DIM if name == IMAGE else TEXT_DIM)) for name in DENSE_VECTORS
        }
        payload = payload_of(i)
        vectors[LEXICAL] = lexical_document(payload["title"])
        out.append(models.PointStruct(id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"p{i}")), vector=vectors, payload=payload))
    return out


async def filled(path, n: int = MANY) -> EdgeStore:
    store = EdgeStore(path)
    await store.open(SPEC)
    for start in range(0, n, 256):
        await store.upsert(points(min(256, n - start), start))
    await store.close()
    return store


def segment_files(path, name: str):
    found = sorted((path / "shard" / "segments").glob(f"*/{name}"))
    assert found, name
    return found


def never_rebuild(exc: BaseException) -> None:
    assert "--recreate" not in str(exc) and "rebuild" not in str(exc), exc


async def test_every_completed_write_records_the_count(tmp_path):
    store = EdgeStore(tmp_path / "anime")
    await store.open(SPEC)
    record = tmp_path / "anime" / INTEGRITY_FILE
    assert json.loads(record.read_text())["points_max"] == 0
    await store.upsert(points(30))
    await store.delete([str(uuid.uuid5(uuid.NAMESPACE_URL, "p3"))])
    assert json.loads(record.read_text()) == {"format": 1, "points_min": 29, "points_max": 29}
    await store.close()


async def test_a_truncated_id_tracker_is_damage_not_a_smaller_index(tmp_path):
    await filled(tmp_path / "anime")
    for f in segment_files(tmp_path / "anime", "mutable_id_tracker.mappings"):
        f.write_bytes(b"")  # `: > segments/*/mutable_id_tracker.mappings`: the engine then sees a few points
    with pytest.raises(IndexDamagedError, match="damaged") as caught:
        await EdgeStore(tmp_path / "anime").open(SPEC, create=False)
    assert isinstance(caught.value, UserFacingError) and "--recreate" in str(caught.value)
    assert f"left {MANY}" in str(caught.value)


async def test_damaged_payload_storage_is_damage(tmp_path):
    await filled(tmp_path / "anime", 300)
    for f in segment_files(tmp_path / "anime", "payload_storage/page_0.dat"):
        f.write_bytes(b"")  # the count is whole, every payload read fails
    with pytest.raises(IndexDamagedError, match="cannot be read"):
        await EdgeStore(tmp_path / "anime").open(SPEC, create=False)
    for f in segment_files(tmp_path / "anime", "payload_storage/tracker.dat"):
        f.write_bytes(b"")  # now the engine itself refuses to load the segment
    with pytest.raises(IndexDamagedError, match="--recreate"):
        await EdgeStore(tmp_path / "anime").open(SPEC, create=False)


async def test_a_write_killed_midway_leaves_an_index_that_opens(tmp_path, monkeypatch):
    """The range recorded before a write admits whatever count it stopped at (kill -9 mid-write)."""
    store = await filled(tmp_path / "anime", 40)
    await store.open(SPEC)
    real_flush = qe.EdgeShard.flush

    def killed(self):
        raise KeyboardInterrupt  # as if the process died after the update, before the record is written

    monkeypatch.setattr(qe.EdgeShard, "flush", killed)
    with pytest.raises(KeyboardInterrupt):
        await store.upsert(points(10, 40))
    monkeypatch.setattr(qe.EdgeShard, "flush", real_flush)
    assert json.loads((tmp_path / "anime" / INTEGRITY_FILE).read_text())["points_max"] == 50
    await store.close()
    reopened = EdgeStore(tmp_path / "anime")
    await reopened.open(SPEC, create=False)
    assert await reopened.count() in (40, 50)
    await reopened.close()


async def test_an_index_without_a_record_gets_one(tmp_path):
    await filled(tmp_path / "anime", 20)
    (tmp_path / "anime" / INTEGRITY_FILE).unlink()  # built before records existed
    store = EdgeStore(tmp_path / "anime")
    await store.open(SPEC, create=False)
    await store.close()
    assert json.loads((tmp_path / "anime" / INTEGRITY_FILE).read_text())["points_min"] == 20


async def test_recreate_replaces_a_damaged_index(tmp_path):
    await filled(tmp_path / "anime", 20)
    (tmp_path / "anime" / INTEGRITY_FILE).write_text("{not json")
    with pytest.raises(IndexDamagedError):
        await EdgeStore(tmp_path / "anime").open(SPEC, create=False)
    store = EdgeStore(tmp_path / "anime")
    await store.open(SPEC, recreate=True)
    assert await store.count() == 0
    await store.close()


async def test_a_full_disk_is_one_line_and_loses_nothing(tmp_path, monkeypatch):
    store = await filled(tmp_path / "anime", 40)
    await store.open(SPEC)
    monkeypatch.setattr(disk_space, "free_bytes", lambda _path: 10 * disk_space.MIB)
    with pytest.raises(DiskFullError, match="not enough free disk space") as caught:
        await store.upsert(points(10, 40))
    never_rebuild(caught.value)
    assert await store.count() == 40
    await store.close()  # too little room to optimize: closing skips it instead of failing
    with pytest.raises(DiskFullError) as caught:  # `stats` on a full disk: a line, not SIGBUS in the log's maps
        await EdgeStore(tmp_path / "anime").open(SPEC, create=False)
    never_rebuild(caught.value)
    monkeypatch.undo()
    reopened = EdgeStore(tmp_path / "anime")
    await reopened.open(SPEC, create=False)
    assert await reopened.count() == 40
    await reopened.close()


async def test_enospc_from_the_engine_is_a_disk_full_error(tmp_path, monkeypatch):
    store = await filled(tmp_path / "anime", 40)
    await store.open(SPEC)

    def full(self, operation):
        raise Exception("Service internal error: No space left on device (os error 28)")

    monkeypatch.setattr(qe.EdgeShard, "update", full)
    with pytest.raises(DiskFullError) as caught:
        await store.upsert(points(5, 40))
    never_rebuild(caught.value)
    monkeypatch.undo()
    assert await store.count() == 40
    await store.close()


async def test_enospc_writing_the_record_is_a_disk_full_error(tmp_path, monkeypatch):
    store = await filled(tmp_path / "anime", 40)
    await store.open(SPEC)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("index.storage.integrity.os.fsync", full)
    with pytest.raises(DiskFullError) as caught:
        await store.upsert(points(5, 40))
    never_rebuild(caught.value)
    monkeypatch.undo()
    await store.close()


async def test_lock_and_permissions_never_advise_a_rebuild(tmp_path, monkeypatch):
    first = await filled(tmp_path / "anime", 20)
    await first.open(SPEC)
    with pytest.raises(IndexInUseError, match="in use") as caught:
        await EdgeStore(tmp_path / "anime").open(SPEC)
    never_rebuild(caught.value)
    await first.close()

    def refused(path):
        raise Exception(f"Service runtime error: failed to open {path}: Permission denied (os error 13)")

    monkeypatch.setattr(qe.EdgeShard, "load", refused)
    with pytest.raises(StoreError, match="permissions") as caught:
        await EdgeStore(tmp_path / "anime").open(SPEC)
    assert not isinstance(caught.value, IndexDamagedError)
    never_rebuild(caught.value)


async def test_a_memory_file_system_needs_room_for_the_whole_maps(tmp_path, monkeypatch):
    """On tmpfs reading a hole of a mapped file allocates it: a 50 MB tmpfs died in `stats` (SIGBUS)."""
    await filled(tmp_path / "anime", 20)
    monkeypatch.setattr(disk_space, "file_system_type", lambda _path: "tmpfs")
    monkeypatch.setattr(disk_space, "free_bytes", lambda _path: 200 * disk_space.MIB)
    with pytest.raises(DiskFullError, match="to open the index") as caught:
        await EdgeStore(tmp_path / "anime").open(SPEC, create=False)
    never_rebuild(caught.value)
    with pytest.raises(DiskFullError, match="to create the index"):
        await EdgeStore(tmp_path / "other").open(SPEC)
