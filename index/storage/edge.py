"""Embedded backend: one Qdrant Edge shard in a local folder, no server to run.

Folder layout (``settings.data_dir / settings.collection_name``)::

    meta.json        models and dimensions the index was built with (written last on create)
    integrity.json   the point count its last completed write left (index.storage.integrity)
    shard/           the qdrant-edge shard (segments, WAL)

This module owns the folder: creating, opening (checking the models recorded in
``meta.json``), recreating and closing the shard. The reads and writes on an open shard
(worker threads, serialised and flushed writes) are in index.storage.edge_access;
``close()`` waits for every call still running there.

The engine has no background optimizer: HNSW graphs and quantized codes are built by
``optimize()``. ``close()`` runs it when points were written since the last run, so
an indexing run leaves an optimized index; the indexer may call it itself to show
progress. Until then searches are exact scans (correct, slower).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import qdrant_edge as qe
from qdrant_client import models

from index.payload_fields import IndexKind
from index.storage.base import CollectionSpec, IndexDamagedError, IndexInUseError, StoreError
from index.storage.collection import (
    LEXICAL_FULL_SCAN_THRESHOLD,
    SEGMENT_POINTS,
    TITLE_TEXT_INDEX,
    VectorLayout,
    check_meta,
    collection_meta,
    filter_graph,
    max_segment_kb,
    payload_indexes,
    vector_layouts,
)
from index.storage.disk_space import (
    FRESH_SHARD_BYTES,
    MEMORY_FILE_SYSTEMS,
    disk_bytes,
    disk_full,
    file_system_type,
    free_bytes,
    is_disk_full,
    require_free,
    reserve,
)
from index.storage.edge_access import EdgeShardAccess
from index.storage.integrity import INTEGRITY_FILE, REBUILD_ADVICE, Expected, damaged, read_expected, write_expected
from index.vectors import LEXICAL

log = logging.getLogger(__name__)

META_FILE = "meta.json"
SHARD_DIR = "shard"
_OWN_ENTRIES = {META_FILE, META_FILE + ".tmp", INTEGRITY_FILE, INTEGRITY_FILE + ".tmp", SHARD_DIR}
#: Engine messages that mean the files cannot be written or read for lack of rights, not damage.
_NO_ACCESS = ("Permission denied", "Read-only file system", "os error 13", "os error 30")


# ---------------------------------------------------------------------------- configuration


def _vector_params(layout: VectorLayout) -> qe.EdgeVectorParams:
    codes = qe.Memory.Cold if layout.codes_on_disk else qe.Memory.Pinned
    if layout.quantization == "int8":
        quant: Any = qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=0.99, memory=codes)
    else:
        quant = qe.BinaryQuantizationConfig(memory=codes)
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


def edge_config(spec: CollectionSpec, segment_points: int = SEGMENT_POINTS) -> qe.EdgeConfig:
    """The shard configuration rendered from the shared collection layout, with segments capped at
    ``segment_points`` (the optimizer neither builds nor merges a bigger one)."""
    layouts = vector_layouts(spec)
    return qe.EdgeConfig(
        vectors={name: _vector_params(layout) for name, layout in layouts.items()},
        sparse_vectors={
            LEXICAL: qe.EdgeSparseVectorParams(
                full_scan_threshold=LEXICAL_FULL_SCAN_THRESHOLD, modifier=qe.Modifier.Idf
            )
        },
        optimizers=qe.EdgeOptimizersConfig(max_segment_size=max_segment_kb(layouts, segment_points)),
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


# ---------------------------------------------------------------------------- store


class EdgeStore(EdgeShardAccess):
    """VectorStore on an embedded Qdrant Edge shard in ``directory``.

    Every ``segment_points`` points written, the store optimizes what it holds so far: the
    engine builds one segment's graphs and codes at once (its heap grows with the segment), so
    a bounded segment bounds the memory of a build at any index size (see collection.py).
    """

    segment_points = SEGMENT_POINTS
    _written = 0  # points written since the last optimize()
    verify_on_open = True  # `anime-mcp check` turns it off to report what opening would refuse

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
            if exc.errno == errno.ENOSPC:
                raise disk_full(self.directory, "open the index") from exc
            raise StoreError(
                f"cannot use the index folder {self.directory}: {exc.strerror or exc}; check its permissions "
                "or set ANIME_MCP_DATA_DIR to a writable folder"
            ) from exc

    def _open_sync(self, spec: CollectionSpec, expected: dict[str, Any], recreate: bool, create: bool) -> None:
        if recreate:
            self._remove_sync()
        if self._shard_exists():
            check_meta(self._read_meta(), expected, f"the index at {self.directory}")
            require_free(self.directory, 0, "open the index")  # the engine's log maps grow on open
            shard = self._load_sync()
            try:
                if self.verify_on_open:
                    self._verify(shard)
                self._ensure_indexes(shard)
            except BaseException:
                shard.close()
                raise
            self._shard, self._meta = shard, expected
            log.info("opened embedded index %s", self.directory)
            return
        if not create:
            raise StoreError(f"no index at {self.directory}: run `anime-mcp index` first (or set ANIME_MCP_DATA_DIR)")
        require_free(self.directory, 0, "create the index")
        self._create_sync(spec, expected)

    def _verify(self, shard: qe.EdgeShard) -> None:
        """The cheap check at open: the count the last completed write recorded, and one point's payload
        and vectors readable (a damaged payload file fails every search while the count looks right).
        `anime-mcp check` reads every point. An index made before integrity records gets one now."""
        points = shard.count(qe.CountRequest(exact=True))
        expected = read_expected(self.directory)
        if expected is not None and not expected.admits(points):
            raise damaged(self.directory, points, expected)
        try:
            records, _ = shard.scroll(qe.ScrollRequest(limit=1, with_payload=True))
            if records:
                shard.retrieve([records[0].id], True, True)
        except Exception as exc:  # the engine raises plain Exception
            raise IndexDamagedError(
                f"the index at {self.directory} is damaged: its stored entries cannot be read ({exc}); "
                f"`anime-mcp check` lists the problems; {REBUILD_ADVICE}"
            ) from exc
        self._expected = Expected.exactly(points)
        if expected != self._expected:
            write_expected(self.directory, self._expected)

    def _shard_exists(self) -> bool:
        return self._shard_dir.is_dir() and any(self._shard_dir.iterdir())

    def _read_meta(self) -> dict[str, Any] | None:
        try:
            return json.loads(self._meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise IndexDamagedError(
                f"the index at {self.directory} is damaged: {META_FILE} is not valid JSON; {REBUILD_ADVICE}"
            ) from exc
        except OSError as exc:
            raise StoreError(
                f"cannot read {self._meta_path}: {exc.strerror or exc}; check the folder's permissions"
            ) from exc

    def _load_sync(self) -> qe.EdgeShard:
        try:
            return qe.EdgeShard.load(str(self._shard_dir))
        except Exception as exc:  # the engine raises plain Exception
            text = str(exc)
            if "WouldBlock" in text:
                raise IndexInUseError(
                    f"the index at {self.directory} is in use by another process (an MCP server or an indexing run); "
                    "stop it, or use a Qdrant server (ANIME_MCP_QDRANT_URL) for shared access"
                ) from exc
            if is_disk_full(exc):
                raise disk_full(self.directory, "open the index") from exc
            if any(marker in text for marker in _NO_ACCESS):
                raise StoreError(
                    f"cannot open the index at {self.directory}: {text}; check the folder's permissions (opening "
                    "writes to it) or set ANIME_MCP_DATA_DIR to a writable folder"
                ) from exc
            raise IndexDamagedError(
                f"cannot open the index at {self.directory}, it is damaged: {text}; {REBUILD_ADVICE}"
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
            shard = qe.EdgeShard.create(str(self._shard_dir), edge_config(spec, self.segment_points))
        except Exception as exc:
            if is_disk_full(exc):
                raise disk_full(self.directory, "create the index") from exc
            raise StoreError(f"cannot create the index at {self.directory}: {exc}") from exc
        try:
            self._ensure_indexes(shard)
            shard.flush()
            write_expected(self.directory, Expected.exactly(0))
            tmp = self._meta_path.with_name(META_FILE + ".tmp")
            tmp.write_text(json.dumps(expected, indent=2, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self._meta_path)
        except Exception as exc:
            shard.close()
            shutil.rmtree(self._shard_dir, ignore_errors=True)
            if is_disk_full(exc):
                raise disk_full(self.directory, "create the index") from exc
            raise StoreError(f"cannot create the index at {self.directory}: {exc}") from exc
        self._shard, self._meta, self._expected = shard, expected, Expected.exactly(0)
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
        (self.directory / INTEGRITY_FILE).unlink(missing_ok=True)
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
            self._expected = None
            await anyio.to_thread.run_sync(partial(self._close_sync, shard, dirty))

    def _close_sync(self, shard: qe.EdgeShard, dirty: bool) -> None:
        try:
            if dirty and self._room_to_optimize():
                log.info("optimizing embedded index %s before closing", self.directory)
                shard.optimize()
            shard.flush()
        except Exception as exc:
            if is_disk_full(exc):
                raise disk_full(self.directory, "optimize it while closing") from exc
            raise StoreError(f"closing the index at {self.directory} failed: {exc}") from exc
        finally:
            shard.close()

    def _optimize_needs(self) -> int:
        """An optimize writes segments anew before it drops the old ones: at most the shard's size again (and
        where files live in memory, a new segment's maps whole)."""
        fresh = FRESH_SHARD_BYTES if file_system_type(self.directory) in MEMORY_FILE_SYSTEMS else 0
        return disk_bytes(self._shard_dir / "segments") + fresh

    def _room_to_optimize(self) -> bool:
        """Closing on a nearly full disk skips the optimize (searches stay exact scans until the next one)
        rather than fill the disk inside the engine's maps."""
        needs = self._optimize_needs()
        if free_bytes(self.directory) < needs + reserve(self.directory):
            log.warning("not optimizing %s: too little free disk space (needs ~%d MiB)", self.directory, needs >> 20)
            return False
        return True

    async def optimize(self) -> bool:
        """Build HNSW graphs and quantized codes for everything written so far (blocking, minutes at 100k)."""
        needs = await anyio.to_thread.run_sync(self._optimize_needs)
        result = await self._write(lambda s: s.optimize(), flush=True, needs=needs)
        self._dirty, self._written = False, 0
        return bool(result)

    async def upsert(self, points: list[models.PointStruct]) -> None:
        await super().upsert(points)
        await self._bound_segment(len(points))

    async def update_vectors(self, points: list[models.PointVectors]) -> None:
        await super().update_vectors(points)  # rewritten points move to the unoptimized segment too
        await self._bound_segment(len(points))

    async def _bound_segment(self, written: int) -> None:
        self._written += written
        if self._written >= self.segment_points:
            log.info("optimizing embedded index %s after %d points written", self.directory, self._written)
            await self.optimize()

    async def meta(self) -> dict[str, Any] | None:
        if self._meta is not None:
            return dict(self._meta)
        if not self._shard_exists():
            return None
        return await anyio.to_thread.run_sync(self._read_meta)
