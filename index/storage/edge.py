"""Embedded backend: one Qdrant Edge shard in a local folder, no server to run.

Folder layout (``settings.data_dir / settings.collection_name``)::

    meta.json   models and dimensions the index was built with (written last on create)
    shard/      the qdrant-edge shard (segments, WAL)

The engine is blocking and safe to call from several threads, so reads run
concurrently in worker threads; writes are serialised (an update and its flush form
one step) and ``close()`` waits for every running call. Each write is flushed before
it returns, so a crash loses nothing already acknowledged.

The engine has no background optimizer: HNSW graphs and quantized codes are built by
``optimize()``. ``close()`` runs it when points were written since the last run, so
an indexing run leaves an optimized index; the indexer may call it itself to show
progress. Until then searches are exact scans (correct, slower).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from functools import partial
from pathlib import Path
from typing import Any, Callable, TypeVar

import anyio
import qdrant_edge as qe
from qdrant_client import models

from index.payload_fields import IndexKind
from index.storage import edge_translate as tr
from index.storage.base import CollectionSpec, StoreError, StoreInfo
from index.storage.collection import (
    LEXICAL_FULL_SCAN_THRESHOLD,
    TITLE_TEXT_INDEX,
    VectorLayout,
    check_facet_key,
    check_meta,
    check_order_key,
    collection_meta,
    filter_graph,
    payload_indexes,
    vector_layouts,
    prepare_request,
)
from index.storage.paging import is_ordered_cursor, ordered_page
from index.vectors import DENSE_VECTORS, LEXICAL

log = logging.getLogger(__name__)
T = TypeVar("T")

META_FILE = "meta.json"
SHARD_DIR = "shard"
_OWN_ENTRIES = {META_FILE, META_FILE + ".tmp", SHARD_DIR}


# ---------------------------------------------------------------------------- configuration


def _vector_params(layout: VectorLayout) -> qe.EdgeVectorParams:
    if layout.quantization == "int8":
        quant: Any = qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=0.99, memory=qe.Memory.Pinned)
    else:
        quant = qe.BinaryQuantizationConfig(memory=qe.Memory.Pinned)
    hnsw = qe.HnswIndexConfig(
        m=layout.hnsw_m, ef_construct=layout.ef_construct, full_scan_threshold=layout.full_scan_threshold_kb
    )
    return qe.EdgeVectorParams(
        size=layout.size,
        distance=qe.Distance.Cosine,
        quantization_config=quant,
        hnsw_config=hnsw,
        memory=qe.Memory.Cold if layout.on_disk else qe.Memory.Cached,
    )


def edge_config(spec: CollectionSpec) -> qe.EdgeConfig:
    """The shard configuration rendered from the shared collection layout."""
    return qe.EdgeConfig(
        vectors={name: _vector_params(layout) for name, layout in vector_layouts(spec).items()},
        sparse_vectors={
            LEXICAL: qe.EdgeSparseVectorParams(full_scan_threshold=LEXICAL_FULL_SCAN_THRESHOLD, modifier=qe.Modifier.Idf)
        },
    )


def _index_schema(key: str, kind: IndexKind) -> Any:
    graph = filter_graph(key)
    if kind == IndexKind.KEYWORD:
        return qe.KeywordIndexParams(enable_hnsw=graph)
    if kind == IndexKind.INTEGER:
        return qe.IntegerIndexParams(lookup=True, range=True, enable_hnsw=graph)
    if kind == IndexKind.FLOAT:
        return qe.FloatIndexParams(enable_hnsw=graph)
    if kind == IndexKind.BOOL:
        return qe.BoolIndexParams(enable_hnsw=graph)
    if kind == IndexKind.TEXT:
        t = TITLE_TEXT_INDEX
        return qe.TextIndexParams(
            tokenizer=qe.TokenizerType.Multilingual,
            lowercase=t["lowercase"],
            ascii_folding=t["ascii_folding"],
            min_token_len=t["min_token_len"],
            max_token_len=t["max_token_len"],
            enable_hnsw=graph,
        )
    raise StoreError(f"no index type for payload kind {kind!r}")


def _disk_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:
                continue
            blocks = getattr(st, "st_blocks", None)
            total += blocks * 512 if blocks is not None else st.st_size
    return total


# ---------------------------------------------------------------------------- store


class EdgeStore:
    """VectorStore on an embedded Qdrant Edge shard in ``directory``."""

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

    @property
    def _shard_dir(self) -> Path:
        return self.directory / SHARD_DIR

    @property
    def _meta_path(self) -> Path:
        return self.directory / META_FILE

    # -- lifecycle

    async def open(self, spec: CollectionSpec, *, recreate: bool = False, create: bool = True) -> None:
        if self._shard is not None:
            raise StoreError(f"the index at {self.directory} is already open")
        expected = collection_meta(spec)
        self._layouts = vector_layouts(spec)
        await anyio.to_thread.run_sync(partial(self._open_checked, spec, expected, recreate, create))

    def _open_checked(self, spec: CollectionSpec, expected: dict[str, Any], recreate: bool, create: bool) -> None:
        try:
            self._open_sync(spec, expected, recreate, create)
        except OSError as exc:
            raise StoreError(
                f"cannot use the index folder {self.directory}: {exc.strerror or exc}; check its permissions "
                "or set ANIME_MCP_DATA_DIR to a writable folder"
            ) from exc

    def _open_sync(self, spec: CollectionSpec, expected: dict[str, Any], recreate: bool, create: bool) -> None:
        if recreate:
            self._remove_sync()
        if self._shard_exists():
            check_meta(self._read_meta(), expected, f"the index at {self.directory}")
            self._shard = self._load_sync()
            self._ensure_indexes(self._shard)
            self._meta = expected
            log.info("opened embedded index %s", self.directory)
            return
        if not create:
            raise StoreError(f"no index at {self.directory}: run `anime-mcp index` first (or set ANIME_MCP_DATA_DIR)")
        self._create_sync(spec, expected)

    def _shard_exists(self) -> bool:
        return self._shard_dir.is_dir() and any(self._shard_dir.iterdir())

    def _read_meta(self) -> dict[str, Any] | None:
        try:
            return json.loads(self._meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"cannot read {self._meta_path}: {exc}. Rebuild the index with `anime-mcp index --recreate`"
            ) from exc

    def _load_sync(self) -> qe.EdgeShard:
        try:
            return qe.EdgeShard.load(str(self._shard_dir))
        except Exception as exc:  # the engine raises plain Exception
            text = str(exc)
            if "WouldBlock" in text:
                raise StoreError(
                    f"the index at {self.directory} is in use by another process (an MCP server or an indexing run); "
                    "stop it, or use a Qdrant server (ANIME_MCP_QDRANT_URL) for shared access"
                ) from exc
            raise StoreError(
                f"cannot open the index at {self.directory}: {text}. If it is damaged, rebuild it with "
                "`anime-mcp index --recreate`"
            ) from exc

    def _create_sync(self, spec: CollectionSpec, expected: dict[str, Any]) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the index folder {self.directory}: {exc.strerror or exc}; "
                "set ANIME_MCP_DATA_DIR to a writable folder"
            ) from exc
        try:
            shard = qe.EdgeShard.create(str(self._shard_dir), edge_config(spec))
        except Exception as exc:
            raise StoreError(f"cannot create the index at {self.directory}: {exc}") from exc
        try:
            self._ensure_indexes(shard)
            shard.flush()
            tmp = self._meta_path.with_name(META_FILE + ".tmp")
            tmp.write_text(json.dumps(expected, indent=2, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self._meta_path)
        except Exception as exc:
            shard.close()
            shutil.rmtree(self._shard_dir, ignore_errors=True)
            raise StoreError(f"cannot create the index at {self.directory}: {exc}") from exc
        self._shard, self._meta = shard, expected
        log.info("created embedded index %s", self.directory)

    def _ensure_indexes(self, shard: qe.EdgeShard) -> None:
        """Create payload indexes that are missing (also on indexes built by an older version)."""
        present = set(shard.info().payload_schema)
        for key, kind in payload_indexes().items():
            if key not in present:
                shard.update(qe.UpdateOperation.create_field_index(key, _index_schema(key, kind)))

    def _remove_sync(self) -> None:
        if not self.directory.exists():
            return
        foreign = sorted(p.name for p in self.directory.iterdir() if p.name not in _OWN_ENTRIES)
        if foreign:
            raise StoreError(
                f"will not delete {self.directory}: it holds files anime-mcp did not write ({', '.join(foreign[:5])}); "
                "point ANIME_MCP_DATA_DIR or ANIME_MCP_COLLECTION_NAME elsewhere"
            )
        if self._shard_exists():
            try:  # refuse to delete a shard another process has open (the WAL lock says so)
                qe.EdgeShard.load(str(self._shard_dir)).close()
            except Exception as exc:
                if "WouldBlock" in str(exc):
                    raise StoreError(
                        f"cannot recreate {self.directory}: it is in use by another process (an MCP server or "
                        "an indexing run); stop it first"
                    ) from exc
        self._meta_path.unlink(missing_ok=True)  # first, so a half-deleted folder never looks valid
        if self._shard_dir.exists():
            try:
                shutil.rmtree(self._shard_dir)
            except OSError as exc:
                raise StoreError(f"cannot delete the old index {self._shard_dir}: {exc}") from exc

    async def close(self) -> None:
        if self._shard is None:
            return
        async with self._write_lock:
            while self._active:
                self._idle = anyio.Event()
                await self._idle.wait()
            shard, self._shard = self._shard, None
            dirty = self._dirty
            await anyio.to_thread.run_sync(partial(self._close_sync, shard, dirty))

    def _close_sync(self, shard: qe.EdgeShard, dirty: bool) -> None:
        try:
            if dirty:
                log.info("optimizing embedded index %s before closing", self.directory)
                shard.optimize()
            shard.flush()
        except Exception as exc:
            raise StoreError(f"closing the index at {self.directory} failed: {exc}") from exc
        finally:
            shard.close()

    async def optimize(self) -> bool:
        """Build HNSW graphs and quantized codes for everything written so far (blocking, minutes at 100k)."""
        result = await self._write(lambda s: s.optimize(), flush=True)
        self._dirty = False
        return bool(result)

    async def meta(self) -> dict[str, Any] | None:
        if self._meta is not None:
            return dict(self._meta)
        if not self._shard_exists():
            return None
        return await anyio.to_thread.run_sync(self._read_meta)

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

    async def _write(self, fn: Callable[[qe.EdgeShard], T], *, flush: bool = True) -> T:
        async with self._write_lock:
            def step(shard: qe.EdgeShard) -> T:
                result = fn(shard)
                if flush:
                    shard.flush()
                return result

            return await self._read(step)

    def _guarded(self, fn: Callable[[qe.EdgeShard], T], shard: qe.EdgeShard) -> T:
        try:
            return fn(shard)
        except StoreError:
            raise
        except Exception as exc:  # the engine raises plain Exception / TypeError / ValueError
            raise StoreError(f"embedded index {self.directory}: {exc}") from exc

    # -- writes

    async def upsert(self, points: list[models.PointStruct]) -> None:
        if not points:
            return
        edge_points = [tr.point_in(p) for p in points]
        await self._write(lambda s: s.update(qe.UpdateOperation.upsert_points(edge_points)))
        self._dirty = True

    async def update_vectors(self, points: list[models.PointVectors]) -> None:
        if not points:
            return
        edge_points = [tr.point_vectors_in(p) for p in points]
        await self._write(lambda s: s.update(qe.UpdateOperation.update_vectors(edge_points)))
        self._dirty = True

    async def delete_vectors(self, ids: list[str], names: list[str]) -> None:
        if not ids or not names:
            return
        point_ids = [tr.id_in(i) for i in ids]
        await self._write(lambda s: s.update(qe.UpdateOperation.delete_vectors(point_ids, list(names))))
        self._dirty = True

    async def set_payload(self, point_id: str, payload: dict[str, Any]) -> None:
        await self.set_payloads({point_id: payload})

    async def set_payloads(self, payloads: dict[str, dict[str, Any]]) -> None:
        if not payloads:
            return
        items = [(tr.id_in(pid), payload) for pid, payload in payloads.items()]

        def run(shard: qe.EdgeShard) -> None:  # one flush for all: a flush per point made re-indexing crawl
            for pid, payload in items:
                shard.update(qe.UpdateOperation.overwrite_payload([pid], payload))

        await self._write(run)

    async def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        point_ids = [tr.id_in(i) for i in ids]
        await self._write(lambda s: s.update(qe.UpdateOperation.delete_points(point_ids)))
        self._dirty = True

    # -- reads

    async def retrieve(
        self, ids: list[str], *, with_payload: bool | list[str] = True, with_vectors: bool | list[str] = False
    ) -> list[models.Record]:
        if not ids:
            return []
        point_ids = [tr.id_in(i) for i in ids]
        wp, wv = tr.with_payload_in(with_payload), tr.with_vector_in(with_vectors)
        records = await self._read(lambda s: s.retrieve(point_ids, wp, wv))
        return [tr.record_out(r, with_vectors) for r in records]

    @staticmethod
    def _lookup(shard: qe.EdgeShard, ids: list[Any], using: str) -> dict[str, Any]:
        found = {}
        for r in shard.retrieve(ids, False, [using]):
            vector = (r.vector or {}).get(using)
            if vector is not None:
                found[str(tr.id_out(r.id))] = vector
        return found

    def _translate(self, shard: qe.EdgeShard, request: models.QueryRequest) -> qe.QueryRequest:
        if not isinstance(request, models.QueryRequest):
            raise StoreError(f"expected a qdrant_client.models.QueryRequest, got {type(request).__name__}")
        translator = tr.QueryTranslator(partial(self._lookup, shard))
        return translator.request(prepare_request(request, self._layouts))

    async def query(self, request: models.QueryRequest) -> list[models.ScoredPoint]:
        points = await self._read(lambda s: s.query(self._translate(s, request)))
        return [tr.scored_point_out(p, request.with_vector) for p in points]

    async def query_batch(self, requests: list[models.QueryRequest]) -> list[list[models.ScoredPoint]]:
        if not requests:
            return []

        def run(s: qe.EdgeShard) -> list[list[qe.ScoredPoint]]:
            return s.query_batch(qe.QueryBatchRequest([self._translate(s, r) for r in requests]))

        batches = await self._read(run)
        return [[tr.scored_point_out(p, r.with_vector) for p in points] for points, r in zip(batches, requests)]

    async def scroll(
        self,
        *,
        scroll_filter: models.Filter | None = None,
        limit: int = 10,
        offset: str | None = None,
        order_by: models.OrderBy | None = None,
        with_payload: bool | list[str] = True,
    ) -> tuple[list[models.Record], str | None]:
        wp = tr.with_payload_in(with_payload)
        if order_by is not None:
            check_order_key(order_by if isinstance(order_by, str) else order_by.key)

            async def fetch(flt: models.Filter | None, order: models.OrderBy, n: int) -> list[models.Record]:
                req = qe.ScrollRequest(limit=n, filter=tr.filter_in(flt), with_payload=wp, order_by=tr.order_by_in(order))
                records, _ = await self._read(lambda s: s.scroll(req))
                return [tr.record_out(r, False) for r in records]

            return await ordered_page(fetch, scroll_filter=scroll_filter, limit=limit, offset=offset, order_by=order_by)
        if is_ordered_cursor(offset):
            raise StoreError("this offset comes from an ordered scroll; pass the same order_by to continue it")
        if limit <= 0:
            raise StoreError(f"scroll limit must be positive, got {limit}")
        req = qe.ScrollRequest(
            offset=tr.id_in(offset) if offset is not None else None,
            limit=limit,
            filter=tr.filter_in(scroll_filter),
            with_payload=wp,
        )
        records, next_offset = await self._read(lambda s: s.scroll(req))
        nxt = tr.id_out(next_offset) if next_offset is not None else None
        return [tr.record_out(r, False) for r in records], (str(nxt) if nxt is not None else None)

    async def count(self, count_filter: models.Filter | None = None) -> int:
        req = qe.CountRequest(exact=True, filter=tr.filter_in(count_filter))
        return await self._read(lambda s: s.count(req))

    async def facet(
        self, key: str, *, facet_filter: models.Filter | None = None, limit: int = 20
    ) -> list[tuple[Any, int]]:
        check_facet_key(key)
        req = qe.FacetRequest(key, limit=limit, exact=True, filter=tr.filter_in(facet_filter))
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
        disk = await anyio.to_thread.run_sync(_disk_bytes, self.directory)
        return StoreInfo(
            points=total,
            vectors_present=present,
            disk_bytes=disk,
            backend=self.backend,
            location=str(self.directory),
            meta=dict(self._meta or {}),
        )
