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

from index.errors import UserFacingError


class StoreError(RuntimeError):
    """A storage failure with a message a user can act on."""


class IncompatibleCollectionError(StoreError):
    """The collection was built with other models or dimensions than the ones configured."""


class IndexDamagedError(StoreError, UserFacingError):
    """The index does not hold what its last completed write recorded (a file truncated, lost or corrupted):
    answering from it would give partial or wrong results. The one cause whose advice is to rebuild it."""


class IndexInUseError(StoreError, UserFacingError):
    """Another process holds the embedded index (a server still closing, an indexing run): it may free it
    soon, so a caller can wait and retry. Never a reason to rebuild."""


class DiskFullError(StoreError, UserFacingError):
    """The disk holding the index has too little free space for a write (or for opening it); nothing
    already indexed is lost. Never a reason to rebuild: free space, then run the command again."""


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
    """Async interface; the embedded backend runs its blocking calls in worker threads.

    Contract shared by both backends: every method except ``open``, ``close`` and ``meta``
    needs an open store; every failure is a ``StoreError`` whose message says what to do
    (never a backend exception). Point ids are the uuid strings of ``index.identity.point_id``.
    Writes are durable when they return (flushed / ``wait=True``); empty input is a no-op.
    """

    backend: str  # "edge" or "server"

    async def open(self, spec: CollectionSpec, *, recreate: bool = False, create: bool = True) -> None:
        """Create the collection (vectors, payload indexes) or open it and check its meta.

        Inputs: ``spec`` (dimensions and the models/dimensions record); ``recreate`` deletes an
        existing collection first; ``create=False`` only opens an existing one.
        Errors: StoreError when ``create=False`` and none exists, when it cannot be created or reached,
        or (embedded) when it is already open; IncompatibleCollectionError (a StoreError) when the
        collection was built with other models or dimensions (re-index with ``--recreate``).
        """

    async def close(self) -> None:
        """Release the collection. The embedded one first waits for running calls and, when points
        were written since the last optimize, builds its graphs. Closing a closed store does nothing.
        Errors: StoreError when the embedded shard cannot be closed cleanly."""

    async def meta(self) -> dict[str, Any] | None:
        """The stored models/dimensions record, or None when no collection exists (works unopened).
        Errors: StoreError when the backend cannot be reached."""

    async def upsert(self, points: list[models.PointStruct]) -> None:
        """Insert or replace whole points (named dense vectors, ``lexical`` sparse vector, payload).

        Inputs: point ids from ``point_id``; vectors named as in ``index.vectors``. An empty list does
        nothing. Errors: StoreError (store not open, a write the backend refuses).
        """

    async def update_vectors(self, points: list[models.PointVectors]) -> None:
        """Replace only the given named vectors of existing points; other vectors and the payload stay.
        An empty list does nothing. Errors: StoreError (store not open, write failure)."""

    async def delete_vectors(self, ids: list[str], names: list[str]) -> None:
        """Remove named vectors from points (a field became empty); the points and payloads stay.
        Empty ``ids`` or ``names`` does nothing. Errors: StoreError (store not open, write failure)."""

    async def set_payload(self, point_id: str, payload: dict[str, Any]) -> None:
        """Overwrite the whole payload of one point (keys not in ``payload`` are removed).
        Errors: StoreError (store not open, write failure)."""

    async def set_payloads(self, payloads: dict[str, dict[str, Any]]) -> None:
        """Overwrite the whole payloads of several points (point id -> payload) in one durable write.
        An empty mapping does nothing. Errors: StoreError (store not open, write failure)."""

    async def delete(self, ids: list[str]) -> None:
        """Delete points; ids that are not stored are ignored and an empty list does nothing.
        Errors: StoreError (store not open, write failure)."""

    async def retrieve(
        self, ids: list[str], *, with_payload: bool | list[str] = True, with_vectors: bool | list[str] = False
    ) -> list[models.Record]:
        """The stored points among ``ids``, with the payload keys and named vectors asked for.

        Missing ids are left out (no error); an empty list gives an empty list.
        Order: not guaranteed to follow ``ids``: callers match records by ``record.id``.
        Errors: StoreError (store not open, read failure).
        """

    async def query(self, request: models.QueryRequest) -> list[models.ScoredPoint]:
        """One Query API request (prefetch, fusion, recommend, formula, order_by, filter...).

        Order: best first (score descending, or in ``order_by`` order), at most ``request.limit``
        after ``request.offset``; the filter applies inside the search. Points with equal scores may
        come in either order. Errors: StoreError naming a construct the backend cannot run (never
        silently dropped), or when the store is not open.
        """

    async def query_batch(self, requests: list[models.QueryRequest]) -> list[list[models.ScoredPoint]]:
        """Several ``query`` requests in one call (each as ``query`` would answer it).
        Order: the answers come in the order of ``requests``; an empty list gives an empty list.
        Errors: as ``query``."""

    async def scroll(
        self,
        *,
        scroll_filter: models.Filter | None = None,
        limit: int = 10,
        offset: str | None = None,
        order_by: models.OrderBy | None = None,
        with_payload: bool | list[str] = True,
    ) -> tuple[list[models.Record], str | None]:
        """One page of the points matching the filter, and the offset of the next page (None at the end).

        Order: without ``order_by`` pages follow point-id order; with it (an indexed integer/float
        key) they follow that key, and the opaque offset must be passed back with the same
        ``order_by``. Pages neither repeat nor skip a point while the data does not change.
        Errors: StoreError for a non-positive ``limit``, an ``order_by`` key without such an index, an
        ordered offset passed without ``order_by``, or a store that is not open.
        """

    async def count(self, count_filter: models.Filter | None = None) -> int:
        """The exact number of points matching the filter (all points without one).
        Errors: StoreError (store not open, read failure)."""

    async def facet(
        self, key: str, *, facet_filter: models.Filter | None = None, limit: int = 20
    ) -> list[tuple[Any, int]]:
        """Value counts of one payload key among the points matching the filter (exact counts).

        Order: at most ``limit`` (value, count) pairs, most frequent first.
        Errors: StoreError for a key without a keyword, integer or bool index, or a store not open.
        """

    async def info(self) -> StoreInfo:
        """Point count, how many points hold each named vector, disk use (embedded only), backend,
        location without credentials, and the meta record. Errors: StoreError (store not open)."""
