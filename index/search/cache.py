"""Small in-memory LRU caches: query embeddings and result pages, so a repeated question costs nothing.

An assistant often sends the same search again in its next turn (or a second client asks the same
thing). Encoding the query is most of the cost of a text search, and the whole page is cheap to keep.

* `LRUCache`: bounded in entries and in bytes, optional time to live, hit/miss/eviction counters;
  a lock around every operation (no awaits inside), so it is safe from the event loop and threads.
* Result pages are keyed by (method, arguments, index version). The version is a counter on the store
  object that `track_writes` bumps before and after every write through this process (ingestion,
  enrichment re-indexing), plus the cache's own epoch that `SearchEngine.invalidate_caches` bumps: a page
  computed before a write is keyed by the old version and never served after it. Writes by another
  process (a shared Qdrant server) are not seen: the time to live bounds how stale a page can get.
* `cached_page`: the decorator the engine's public read methods wear.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

T = TypeVar("T")
MISS: Any = object()
_WRITES = ("open", "upsert", "update_vectors", "delete_vectors", "set_payload", "set_payloads", "delete")


class CacheSettings(BaseSettings):
    """Sizes of the query-embedding and result-page caches (0 entries or bytes turns one off)."""

    model_config = SettingsConfigDict(env_prefix="ANIME_MCP_", env_file=".env", extra="ignore")

    query_cache_enabled: bool = Field(
        True, description="Keep recent query embeddings in memory (a repeated query is not encoded again)."
    )
    query_cache_entries: int = Field(
        4096, description="Most query embeddings kept (least recently used dropped first)."
    )
    query_cache_mb: float = Field(32.0, description="Most megabytes of query embeddings kept.")
    result_cache_enabled: bool = Field(
        True, description="Keep recent result pages in memory; any write to the index invalidates them."
    )
    result_cache_entries: int = Field(1024, description="Most result pages kept.")
    result_cache_mb: float = Field(64.0, description="Most megabytes of result pages kept (estimated from their JSON).")
    result_cache_ttl_seconds: float = Field(
        300.0,
        description="Age after which a page is recomputed (bounds staleness when another process writes to a shared "
        "Qdrant server); 0: no limit.",
    )


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    entries: int = 0
    bytes: int = 0

    @property
    def hit_rate(self) -> float:
        return self.hits / max(1, self.hits + self.misses)


class LRUCache:
    """Least-recently-used map bounded by `max_entries` and `max_bytes` (each value's size is given at
    `put`); entries older than `ttl_s` (0: never) count as misses. Thread- and asyncio-safe."""

    def __init__(
        self, max_entries: int, max_bytes: int, ttl_s: float = 0.0, clock: Callable[[], float] = time.monotonic
    ):
        self.max_entries, self.max_bytes, self.ttl_s = max(0, max_entries), max(0, max_bytes), max(0.0, ttl_s)
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[Any, int, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._stats = CacheStats()

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.max_bytes > 0

    def get(self, key: Hashable) -> Any:
        """The value, or `MISS`."""
        with self._lock:
            item = self._data.get(key)
            if item is not None and self.ttl_s and self._clock() - item[2] > self.ttl_s:
                self._drop(key)
                item = None
            if item is None:
                self._stats.misses += 1
                return MISS
            self._data.move_to_end(key)
            self._stats.hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any, nbytes: int) -> None:
        """Keep `value`; a value larger than the whole byte budget is not kept."""
        if not self.enabled or nbytes > self.max_bytes:
            return
        with self._lock:
            if key in self._data:
                self._drop(key)
            self._data[key] = (value, nbytes, self._clock())
            self._stats.bytes += nbytes
            while len(self._data) > self.max_entries or self._stats.bytes > self.max_bytes:
                self._drop(next(iter(self._data)))
                self._stats.evictions += 1

    def _drop(self, key: Hashable) -> None:
        _, nbytes, _ = self._data.pop(key)
        self._stats.bytes -= nbytes

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._stats.bytes = 0

    def stats(self) -> CacheStats:
        with self._lock:
            s = self._stats
            return CacheStats(s.hits, s.misses, s.evictions, len(self._data), s.bytes)


def normalise_text(text: str) -> str:
    """Key form of a query: Unicode NFC, whitespace collapsed (case kept: some models are cased)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def query_cache(settings: CacheSettings | None = None) -> LRUCache | None:
    """The query-embedding cache these settings ask for, or None when it is off."""
    s = settings or CacheSettings()
    cache = LRUCache(s.query_cache_entries, int(s.query_cache_mb * 2**20))
    return cache if s.query_cache_enabled and cache.enabled else None


# ----- index version -------------------------------------------------------------------------------


def track_writes(store: Any) -> Any:
    """Make every write method of `store` bump `store.write_version` before and after it runs (idempotent).

    Patched on the instance (the store object the runtime, the ingestor and the engine all share), so
    writes through any of them are counted and `isinstance` checks on the store still hold."""
    if getattr(store, "_writes_tracked", False):
        return store
    store.write_version = 0

    def bumping(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def write(*args: Any, **kwargs: Any) -> Any:
            store.write_version += 1  # before: a read racing the write never keys its page on the new version
            try:
                return await method(*args, **kwargs)
            finally:
                store.write_version += 1

        return write

    for name in _WRITES:
        method = getattr(store, name, None)
        if method is not None:
            setattr(store, name, bumping(method))
    store._writes_tracked = True
    return store


class PageCache:
    """Result pages keyed by (method, arguments, store write version, epoch)."""

    def __init__(self, store: Any, settings: CacheSettings | None = None):
        s = settings or CacheSettings()
        self.store = track_writes(store)
        self.epoch = 0
        self.lru = LRUCache(
            s.result_cache_entries if s.result_cache_enabled else 0,
            int(s.result_cache_mb * 2**20),
            ttl_s=s.result_cache_ttl_seconds,
        )

    def invalidate(self) -> None:
        """The index changed in a way the store did not see (or a caller wants fresh pages)."""
        self.epoch += 1
        self.lru.clear()

    def version(self) -> tuple[int, int]:
        return getattr(self.store, "write_version", 0), self.epoch


def _key_part(value: Any) -> Any:
    """A hashable, exact form of one argument (filters, aspect lists, enums, bytes)."""
    if isinstance(value, BaseModel):
        return value.model_dump_json(exclude_defaults=True)
    if isinstance(value, (bytes, bytearray)):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, (list, tuple)):
        return tuple(_key_part(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    if hasattr(value, "value") and not isinstance(value, (str, int, float)):  # enums
        return value.value
    return value


def cached_page(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Serve a repeated call of an engine read method from `self.page_cache` (when the engine has one).

    Each caller gets its own copy (callers may edit a page). Errors are not cached."""
    signature = inspect.signature(method)
    name = method.__name__

    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        cache: PageCache | None = getattr(self, "page_cache", None)
        if cache is None or not cache.lru.enabled:
            return await method(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        key = (name, cache.version(), tuple((k, _key_part(v)) for k, v in bound.arguments.items() if k != "self"))
        try:
            hash(key)
        except TypeError:  # an argument of a shape this cache does not know: compute, do not guess
            return await method(self, *args, **kwargs)
        kept = cache.lru.get(key)
        if kept is not MISS:
            kind, text = kept
            return kind.model_validate_json(text)
        page = await method(self, *args, **kwargs)
        if isinstance(page, BaseModel):
            # kept as JSON: each hit parses its own copy (0.04 ms for a 10-hit page, against 0.2 ms for a
            # deep copy), so no caller can change what the next one gets
            text = page.model_dump_json()
            cache.lru.put(key, (type(page), text), len(text))
        return page

    return wrapper
