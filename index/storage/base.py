"""The one storage interface the ingestion and search code talk to.

Queries, filters and points are expressed with ``qdrant_client.models`` types, the
vocabulary of Qdrant's Query API. The server backend passes them through; the
embedded backend (qdrant-edge) translates them to its own types. Code above this
interface never knows which backend runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from qdrant_client import models


class StoreError(RuntimeError):
    """A storage failure with a message a user can act on."""


class IncompatibleCollectionError(StoreError):
    """The collection was built with other models or dimensions than the ones configured."""


@dataclass(frozen=True)
class CollectionSpec:
    """What the collection must look like: dense vector sizes, models, sparse lexical vector.

    ``meta`` records the models and dimensions the collection is built with; opening a
    collection whose stored meta differs raises IncompatibleCollectionError.
    """

    text_dim: int
    image_dim: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class StoreInfo:
    points: int
    vectors_present: dict[str, int]  # named vector -> number of points that have it
    disk_bytes: int | None
    backend: str  # "edge" or "server"
    location: str  # directory or URL (without credentials)
    meta: dict[str, Any]


@runtime_checkable
class VectorStore(Protocol):
    """Async interface; the embedded backend runs its blocking calls in worker threads."""

    backend: str

    async def open(self, spec: CollectionSpec, *, recreate: bool = False, create: bool = True) -> None:
        """Create the collection (vectors, payload indexes) or open it and check its meta."""

    async def close(self) -> None: ...

    async def meta(self) -> dict[str, Any] | None:
        """The stored models/dimensions record, or None when no collection exists."""

    async def upsert(self, points: list[models.PointStruct]) -> None: ...

    async def update_vectors(self, points: list[models.PointVectors]) -> None:
        """Replace only the given named vectors of existing points."""

    async def delete_vectors(self, ids: list[str], names: list[str]) -> None:
        """Remove named vectors from points (a field became empty)."""

    async def set_payload(self, point_id: str, payload: dict[str, Any]) -> None:
        """Overwrite the whole payload of one point."""

    async def set_payloads(self, payloads: dict[str, dict[str, Any]]) -> None:
        """Overwrite the whole payloads of several points (point id -> payload) in one durable write."""

    async def delete(self, ids: list[str]) -> None: ...

    async def retrieve(
        self, ids: list[str], *, with_payload: bool | list[str] = True, with_vectors: bool | list[str] = False
    ) -> list[models.Record]: ...

    async def query(self, request: models.QueryRequest) -> list[models.ScoredPoint]:
        """One Query API request (prefetch, fusion, recommend, order_by, filter...)."""

    async def query_batch(self, requests: list[models.QueryRequest]) -> list[list[models.ScoredPoint]]: ...

    async def scroll(
        self,
        *,
        scroll_filter: models.Filter | None = None,
        limit: int = 10,
        offset: str | None = None,
        order_by: models.OrderBy | None = None,
        with_payload: bool | list[str] = True,
    ) -> tuple[list[models.Record], str | None]: ...

    async def count(self, count_filter: models.Filter | None = None) -> int: ...

    async def facet(self, key: str, *, facet_filter: models.Filter | None = None, limit: int = 20) -> list[tuple[Any, int]]:
        """Value counts of one payload key among the points matching the filter."""

    async def info(self) -> StoreInfo: ...
