"""Server backend: a Qdrant server or cluster through ``AsyncQdrantClient``.

Requests pass ``qdrant_client.models`` through unchanged (plus per-vector default
search params, see ``collection.prepare_request``). Every client call goes through
``qdrant_calls.ServerCalls``: transient failures are retried with backoff, every
other failure becomes a StoreError naming the fix.

The models/dimensions record lives in the collection's own ``metadata`` (set on
``create_collection``, qdrant-client >= 1.16 with a server >= 1.16): it is created
and deleted atomically with the collection, so no companion collection can drift
out of step with it. A collection without the record (another tool, an older
server) is refused with IncompatibleCollectionError.

The API key is passed to the client only; it never appears in logs, errors or
``StoreInfo.location`` (which is the URL without credentials or query).
``AsyncQdrantClient(location=":memory:")`` may be passed as ``client`` for tests;
it is never a product default.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from qdrant_client import AsyncQdrantClient, models

from index.settings import StorageSettings
from index.storage.base import CollectionSpec, IncompatibleCollectionError, StoreError, StoreInfo
from index.storage.collection import (
    VectorLayout,
    check_facet_key,
    check_meta,
    check_order_key,
    collection_meta,
    payload_indexes,
    prepare_request,
    vector_layouts,
)
from index.storage.paging import is_ordered_cursor, ordered_page
from index.storage.qdrant_calls import ServerCalls, safe_url
from index.storage.qdrant_config import server_index_schema, server_sparse_config, server_vectors_config
from index.vectors import DENSE_VECTORS, LEXICAL

log = logging.getLogger(__name__)


class ServerStore:
    """VectorStore on a Qdrant server or cluster."""

    backend = "server"

    def __init__(self, settings: StorageSettings | None = None, *, client: AsyncQdrantClient | None = None) -> None:
        """Connect to ``settings.qdrant_url``, or use ``client`` (tests: ``location=":memory:"``)."""
        settings = settings or StorageSettings()
        url = settings.qdrant_url
        if client is None and not url:
            raise StoreError("the server backend needs a Qdrant URL (ANIME_MCP_QDRANT_URL)")
        self._owns_client = client is None
        if client is None:
            # The URL decides http/https; a URL without a port uses Qdrant's 6333.
            client = AsyncQdrantClient(
                url=url,
                api_key=settings.qdrant_api_key,
                timeout=max(1, math.ceil(settings.qdrant_timeout)),
                check_compatibility=False,
            )
        self._client = client
        self.collection_name = settings.collection_name
        self.location = safe_url(url) if url else "in-process client"
        self._calls = ServerCalls(self.location, self.collection_name, settings.qdrant_retries)
        self._shard_number = settings.shard_number
        self._replication_factor = settings.replication_factor
        self._meta: dict[str, Any] | None = None
        self._layouts: dict[str, VectorLayout] = {}
        self._open = False

    def _require(self) -> None:
        if not self._open:
            raise StoreError(f"{self._calls.where} is not open; call open() first")

    # -- lifecycle

    async def open(self, spec: CollectionSpec, *, recreate: bool = False, create: bool = True) -> None:
        expected = collection_meta(spec)
        self._layouts = vector_layouts(spec)
        name = self.collection_name
        exists = await self._calls.run("collection_exists", self._client.collection_exists, name)
        if exists and recreate:
            log.info("deleting %s for re-indexing", self._calls.where)
            await self._calls.run("delete_collection", self._client.delete_collection, name)
            exists = False
        if exists:
            info = await self._calls.run("get_collection", self._client.get_collection, name)
            stored = info.config.metadata or None
            if stored is None:
                raise IncompatibleCollectionError(
                    f"{self._calls.where} has no anime-mcp meta record (models and dimensions): it was made by another "
                    "tool, or the server is too old to keep collection metadata (Qdrant 1.16+ is needed). "
                    "Re-index with `anime-mcp index --recreate`, or set ANIME_MCP_COLLECTION_NAME to another "
                    "collection."
                )
            check_meta(stored, expected, self._calls.where)
            await self._ensure_indexes(set(info.payload_schema or {}))
        elif not create:
            raise StoreError(f"{self._calls.where} does not exist: run `anime-mcp index` first")
        else:
            await self._calls.run(
                "create_collection",
                self._client.create_collection,
                name,
                vectors_config=server_vectors_config(spec),
                sparse_vectors_config=server_sparse_config(),
                shard_number=self._shard_number,
                replication_factor=self._replication_factor,
                on_disk_payload=True,
                metadata=expected,
            )
            await self._ensure_indexes(set())
            log.info("created %s", self._calls.where)
        self._meta = expected
        self._open = True

    async def _ensure_indexes(self, present: set[str]) -> None:
        for key, kind in payload_indexes().items():
            if key not in present:
                await self._calls.run(
                    "create_payload_index",
                    self._client.create_payload_index,
                    self.collection_name,
                    field_name=key,
                    field_schema=server_index_schema(key, kind),
                    wait=True,
                )

    async def close(self) -> None:
        self._open = False
        if self._owns_client:
            await self._client.close()

    async def optimize(self) -> bool:
        """The server optimizes in the background; nothing to do (kept for parity with edge)."""
        return False

    async def meta(self) -> dict[str, Any] | None:
        if self._meta is not None:
            return dict(self._meta)
        if not await self._calls.run("collection_exists", self._client.collection_exists, self.collection_name):
            return None
        info = await self._calls.run("get_collection", self._client.get_collection, self.collection_name)
        return dict(info.config.metadata) if info.config.metadata else None

    # -- writes

    async def upsert(self, points: list[models.PointStruct]) -> None:
        self._require()
        if points:
            await self._calls.run("upsert", self._client.upsert, self.collection_name, points=points, wait=True)

    async def update_vectors(self, points: list[models.PointVectors]) -> None:
        self._require()
        if points:
            await self._calls.run(
                "update_vectors", self._client.update_vectors, self.collection_name, points=points, wait=True
            )

    async def delete_vectors(self, ids: list[str], names: list[str]) -> None:
        self._require()
        if ids and names:
            await self._calls.run(
                "delete_vectors",
                self._client.delete_vectors,
                self.collection_name,
                vectors=list(names),
                points=list(ids),
                wait=True,
            )

    async def set_payload(self, point_id: str, payload: dict[str, Any]) -> None:
        await self.set_payloads({point_id: payload})

    async def set_payloads(self, payloads: dict[str, dict[str, Any]]) -> None:
        self._require()
        if not payloads:
            return
        operations = [
            models.OverwritePayloadOperation(overwrite_payload=models.SetPayload(payload=payload, points=[pid]))
            for pid, payload in payloads.items()
        ]
        await self._calls.run(
            "batch_update_points",
            self._client.batch_update_points,
            self.collection_name,
            update_operations=operations,
            wait=True,
        )

    async def delete(self, ids: list[str]) -> None:
        self._require()
        if ids:
            await self._calls.run(
                "delete",
                self._client.delete,
                self.collection_name,
                points_selector=models.PointIdsList(points=list(ids)),
                wait=True,
            )

    # -- reads

    async def retrieve(
        self, ids: list[str], *, with_payload: bool | list[str] = True, with_vectors: bool | list[str] = False
    ) -> list[models.Record]:
        self._require()
        if not ids:
            return []
        return await self._calls.run(
            "retrieve",
            self._client.retrieve,
            self.collection_name,
            ids=list(ids),
            with_payload=with_payload,
            with_vectors=with_vectors,
        )

    async def query(self, request: models.QueryRequest) -> list[models.ScoredPoint]:
        return (await self.query_batch([request]))[0]

    async def query_batch(self, requests: list[models.QueryRequest]) -> list[list[models.ScoredPoint]]:
        self._require()
        if not requests:
            return []
        prepared = [prepare_request(r, self._layouts) for r in requests]
        responses = await self._calls.run(
            "query", self._client.query_batch_points, self.collection_name, requests=prepared
        )
        return [r.points for r in responses]

    async def scroll(
        self,
        *,
        scroll_filter: models.Filter | None = None,
        limit: int = 10,
        offset: str | None = None,
        order_by: models.OrderBy | None = None,
        with_payload: bool | list[str] = True,
    ) -> tuple[list[models.Record], str | None]:
        self._require()
        if order_by is not None:
            check_order_key(order_by if isinstance(order_by, str) else order_by.key)

            async def fetch(flt: models.Filter | None, order: models.OrderBy, n: int) -> list[models.Record]:
                records, _ = await self._scroll(flt, n, order_by=order, with_payload=with_payload)
                return records

            return await ordered_page(fetch, scroll_filter=scroll_filter, limit=limit, offset=offset, order_by=order_by)
        if is_ordered_cursor(offset):
            raise StoreError("this offset comes from an ordered scroll; pass the same order_by to continue it")
        if limit <= 0:
            raise StoreError(f"scroll limit must be positive, got {limit}")
        records, next_offset = await self._scroll(scroll_filter, limit, offset=offset, with_payload=with_payload)
        return records, (str(next_offset) if next_offset is not None else None)

    async def _scroll(
        self,
        scroll_filter: models.Filter | None,
        limit: int,
        *,
        offset: str | None = None,
        order_by: models.OrderBy | None = None,
        with_payload: bool | list[str],
    ) -> tuple[list[models.Record], Any]:
        """One scroll call of the client (payloads only, never vectors)."""
        return await self._calls.run(
            "scroll",
            self._client.scroll,
            self.collection_name,
            scroll_filter=scroll_filter,
            limit=limit,
            offset=offset,
            order_by=order_by,
            with_payload=with_payload,
            with_vectors=False,
        )

    async def count(self, count_filter: models.Filter | None = None) -> int:
        self._require()
        result = await self._calls.run(
            "count", self._client.count, self.collection_name, count_filter=count_filter, exact=True
        )
        return result.count

    async def facet(
        self, key: str, *, facet_filter: models.Filter | None = None, limit: int = 20
    ) -> list[tuple[Any, int]]:
        self._require()
        check_facet_key(key)
        response = await self._calls.run(
            "facet",
            self._client.facet,
            self.collection_name,
            key=key,
            facet_filter=facet_filter,
            limit=limit,
            exact=True,
        )
        return [(hit.value, hit.count) for hit in response.hits]

    async def info(self) -> StoreInfo:
        self._require()
        total = await self.count()
        present = {}
        for name in (*DENSE_VECTORS, LEXICAL):
            present[name] = await self.count(models.Filter(must=[models.HasVectorCondition(has_vector=name)]))
        return StoreInfo(
            points=total,
            vectors_present=present,
            disk_bytes=None,
            backend=self.backend,
            location=f"{self.location}/collections/{self.collection_name}",
            meta=dict(self._meta or {}),
        )
