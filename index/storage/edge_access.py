"""Reads and writes on an open Qdrant Edge shard: the data half of the embedded backend.

Why apart from index.storage.edge (the folder: creating, opening, checking and closing the shard):
running engine calls and translating their inputs and outputs changes for other reasons than the
files on disk do. The engine is blocking and safe to call from several threads, so reads run
concurrently in worker threads; writes are serialised (an update and its flush form one step) and
every write is flushed before it returns, so a crash loses nothing already acknowledged.
``EdgeStore.close()`` waits for every call still running here.

Each write also checks the free disk space it needs first (index.storage.disk_space: a full disk would
otherwise kill the process in the engine's memory maps) and leaves the point count in the integrity record
(index.storage.integrity) that opening checks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio
import qdrant_edge as qe
from qdrant_client import models

from index.storage import edge_points as pts
from index.storage.base import StoreError, StoreInfo
from index.storage.collection import VectorLayout, check_facet_key, check_order_key, prepare_request
from index.storage.disk_space import BYTES_PER_POINT, disk_bytes, disk_full, is_disk_full, require_free
from index.storage.edge_filters import filter_in, order_by_in
from index.storage.edge_translate import QueryTranslator
from index.storage.integrity import Expected, write_expected
from index.storage.paging import is_ordered_cursor, ordered_page
from index.vectors import DENSE_VECTORS, LEXICAL

T = TypeVar("T")


class EdgeShardAccess:
    """The VectorStore reads and writes over ``self._shard``; EdgeStore adds opening and closing it."""

    backend = "edge"

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory).expanduser()
        self._shard: qe.EdgeShard | None = None
        self._meta: dict[str, Any] | None = None
        self._layouts: dict[str, VectorLayout] = {}
        self._write_lock = anyio.Lock()
        self._active = 0
        self._idle: anyio.Event | None = None
        self._dirty = False  # points written since the last optimize()
        self._expected: Expected | None = None  # what the integrity record says; None while not open

    # -- running engine calls

    def _require(self) -> qe.EdgeShard:
        if self._shard is None:
            raise StoreError(f"the index at {self.directory} is not open; call open() first")
        return self._shard

    async def _read(self, fn: Callable[[qe.EdgeShard], T]) -> T:
        shard = self._require()
        self._active += 1
        try:
            return await anyio.to_thread.run_sync(partial(self._guarded, fn, shard))
        finally:
            self._active -= 1
            if self._active == 0 and self._idle is not None:
                self._idle.set()

    async def _write(
        self,
        fn: Callable[[qe.EdgeShard], T],
        *,
        flush: bool = True,
        change: tuple[int, int] = (0, 0),
        needs: int = 0,
    ) -> T:
        """One serialised, flushed write. ``change``: by how much it may lower and raise the point count
        (recorded before it runs, so a process killed mid-write leaves a count the record admits);
        ``needs``: the disk space it may take, checked before it runs."""
        async with self._write_lock:

            def step(shard: qe.EdgeShard) -> T:
                require_free(self.directory, needs, "write to the index")
                if change != (0, 0) and self._expected is not None:
                    lo, hi = self._expected.points_min + change[0], self._expected.points_max + change[1]
                    self._record(Expected(max(0, lo), hi))
                result = fn(shard)
                if flush:
                    shard.flush()
                self._record(Expected.exactly(shard.count(qe.CountRequest(exact=True))))
                return result

            return await self._read(step)

    def _record(self, expected: Expected) -> None:
        if expected != self._expected:
            write_expected(self.directory, expected)
            self._expected = expected

    def _guarded(self, fn: Callable[[qe.EdgeShard], T], shard: qe.EdgeShard) -> T:
        try:
            return fn(shard)
        except StoreError:
            raise
        except Exception as exc:  # the engine raises plain Exception / TypeError / ValueError
            if is_disk_full(exc):
                raise disk_full(self.directory, "write to it") from exc
            raise StoreError(f"embedded index {self.directory}: {exc}") from exc

    # -- writes

    async def upsert(self, points: list[models.PointStruct]) -> None:
        if not points:
            return
        edge_points = [pts.point_in(p) for p in points]
        await self._write(
            lambda s: s.update(qe.UpdateOperation.upsert_points(edge_points)),
            change=(0, len(edge_points)),
            needs=len(edge_points) * BYTES_PER_POINT,
        )
        self._dirty = True

    async def update_vectors(self, points: list[models.PointVectors]) -> None:
        if not points:
            return
        edge_points = [pts.point_vectors_in(p) for p in points]
        await self._write(
            lambda s: s.update(qe.UpdateOperation.update_vectors(edge_points)), needs=len(edge_points) * BYTES_PER_POINT
        )
        self._dirty = True

    async def delete_vectors(self, ids: list[str], names: list[str]) -> None:
        if not ids or not names:
            return
        point_ids = [pts.id_in(i) for i in ids]
        await self._write(lambda s: s.update(qe.UpdateOperation.delete_vectors(point_ids, list(names))))
        self._dirty = True

    async def set_payload(self, point_id: str, payload: dict[str, Any]) -> None:
        await self.set_payloads({point_id: payload})

    async def set_payloads(self, payloads: dict[str, dict[str, Any]]) -> None:
        if not payloads:
            return
        items = [(pts.id_in(pid), payload) for pid, payload in payloads.items()]

        def run(shard: qe.EdgeShard) -> None:  # one flush for all: a flush per point made re-indexing crawl
            for pid, payload in items:
                shard.update(qe.UpdateOperation.overwrite_payload([pid], payload))

        await self._write(run, needs=len(items) * BYTES_PER_POINT)

    async def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        point_ids = [pts.id_in(i) for i in ids]
        await self._write(lambda s: s.update(qe.UpdateOperation.delete_points(point_ids)), change=(-len(point_ids), 0))
        self._dirty = True

    # -- reads

    async def retrieve(
        self, ids: list[str], *, with_payload: bool | list[str] = True, with_vectors: bool | list[str] = False
    ) -> list[models.Record]:
        if not ids:
            return []
        point_ids = [pts.id_in(i) for i in ids]
        wp, wv = pts.with_payload_in(with_payload), pts.with_vector_in(with_vectors)
        records = await self._read(lambda s: s.retrieve(point_ids, wp, wv))
        return [pts.record_out(r, with_vectors) for r in records]

    @staticmethod
    def _lookup(shard: qe.EdgeShard, ids: list[Any], using: str) -> dict[str, Any]:
        found = {}
        for r in shard.retrieve(ids, False, [using]):
            vector = r.vector.get(using) if isinstance(r.vector, dict) else None  # named vectors: a dict
            if vector is not None:
                found[str(pts.id_out(r.id))] = vector
        return found

    def _translate(self, shard: qe.EdgeShard, request: models.QueryRequest) -> qe.QueryRequest:
        if not isinstance(request, models.QueryRequest):
            raise StoreError(f"expected a qdrant_client.models.QueryRequest, got {type(request).__name__}")
        translator = QueryTranslator(partial(self._lookup, shard))
        return translator.request(prepare_request(request, self._layouts))

    async def query(self, request: models.QueryRequest) -> list[models.ScoredPoint]:
        points = await self._read(lambda s: s.query(self._translate(s, request)))
        return [pts.scored_point_out(p, request.with_vector) for p in points]

    async def query_batch(self, requests: list[models.QueryRequest]) -> list[list[models.ScoredPoint]]:
        if not requests:
            return []

        def run(s: qe.EdgeShard) -> list[list[qe.ScoredPoint]]:
            return s.query_batch(qe.QueryBatchRequest([self._translate(s, r) for r in requests]))

        batches = await self._read(run)
        pairs = zip(batches, requests, strict=True)
        return [[pts.scored_point_out(p, r.with_vector) for p in points] for points, r in pairs]

    async def scroll(
        self,
        *,
        scroll_filter: models.Filter | None = None,
        limit: int = 10,
        offset: str | None = None,
        order_by: models.OrderBy | None = None,
        with_payload: bool | list[str] = True,
    ) -> tuple[list[models.Record], str | None]:
        wp = pts.with_payload_in(with_payload)
        if order_by is not None:
            check_order_key(order_by if isinstance(order_by, str) else order_by.key)

            async def fetch(flt: models.Filter | None, order: models.OrderBy, n: int) -> list[models.Record]:
                req = qe.ScrollRequest(limit=n, filter=filter_in(flt), with_payload=wp, order_by=order_by_in(order))
                records, _ = await self._read(lambda s: s.scroll(req))
                return [pts.record_out(r, False) for r in records]

            return await ordered_page(fetch, scroll_filter=scroll_filter, limit=limit, offset=offset, order_by=order_by)
        if is_ordered_cursor(offset):
            raise StoreError("this offset comes from an ordered scroll; pass the same order_by to continue it")
        if limit <= 0:
            raise StoreError(f"scroll limit must be positive, got {limit}")
        req = qe.ScrollRequest(
            offset=pts.id_in(offset) if offset is not None else None,
            limit=limit,
            filter=filter_in(scroll_filter),
            with_payload=wp,
        )
        records, next_offset = await self._read(lambda s: s.scroll(req))
        nxt = pts.id_out(next_offset) if next_offset is not None else None
        return [pts.record_out(r, False) for r in records], (str(nxt) if nxt is not None else None)

    async def count(self, count_filter: models.Filter | None = None) -> int:
        req = qe.CountRequest(exact=True, filter=filter_in(count_filter))
        return await self._read(lambda s: s.count(req))

    async def facet(
        self, key: str, *, facet_filter: models.Filter | None = None, limit: int = 20
    ) -> list[tuple[Any, int]]:
        check_facet_key(key)
        req = qe.FacetRequest(key, limit=limit, exact=True, filter=filter_in(facet_filter))
        response = await self._read(lambda s: s.facet(req))
        return [(hit.value, hit.count) for hit in response.hits]

    async def info(self) -> StoreInfo:
        def run(s: qe.EdgeShard) -> tuple[int, dict[str, int]]:
            total = s.count(qe.CountRequest(exact=True))
            present = {
                name: s.count(qe.CountRequest(exact=True, filter=qe.Filter(must=[qe.HasVectorCondition(name)])))
                for name in (*DENSE_VECTORS, LEXICAL)
            }
            return total, present

        total, present = await self._read(run)
        disk = await anyio.to_thread.run_sync(disk_bytes, self.directory)
        return StoreInfo(
            points=total,
            vectors_present=present,
            disk_bytes=disk,
            backend=self.backend,
            location=str(self.directory),
            meta=dict(self._meta or {}),
        )
