"""Server state shared by every tool: loaded once, in the background, so `initialize` is instant.

Big models can take minutes to load; a client's connect timeout is seconds. The lifespan
starts loading in a background task and the tools wait on `ready()`, which reports a
clear error if loading failed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from index.runtime import IndexRuntime

log = logging.getLogger(__name__)


class NotReadyError(RuntimeError):
    """The index or the models are not available; the message says why and what to do."""


@dataclass
class AppState:
    """Owns the index runtime and the optional enrichment job manager."""

    loader: Callable[[], Awaitable[IndexRuntime]]
    enrichment: Any = None  # enrichment.jobs.JobManager while the server runs with enrichment enabled
    admin_tokens: list[str] = field(default_factory=list)
    ready_timeout: float = 600.0
    runtime: IndexRuntime | None = None
    error: str | None = None
    _loaded: anyio.Event | None = None
    _loading: bool = False

    def _event(self) -> anyio.Event:
        if self._loaded is None:  # created lazily: anyio events need a running event loop
            self._loaded = anyio.Event()
        return self._loaded

    @property
    def needs_loading(self) -> bool:
        return not self._loading and self.runtime is None and self.error is None

    async def load(self) -> None:
        """Load once per process; a lifespan cancelled mid-load lets the next one start again."""
        if not self.needs_loading:
            return
        self._loading = True
        event = self._event()
        try:
            self.runtime = await self.loader()
            log.info("index ready (%s backend)", self.runtime.engine.store.backend)
        except Exception as exc:  # reported to every tool call, never crashes the server
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("loading the index failed: %s", self.error)
        finally:
            self._loading = False
            if self.runtime is not None or self.error is not None:
                event.set()

    async def ready(self) -> IndexRuntime:
        event = self._event()
        if not event.is_set():
            with anyio.move_on_after(self.ready_timeout):
                await event.wait()
        if self.runtime is not None:
            return self.runtime
        if self.error:
            raise NotReadyError(f"The anime index could not be loaded: {self.error}")
        raise NotReadyError(f"The models are still loading after {self.ready_timeout:.0f}s; try again shortly.")

    async def reindex(self, result: Any) -> None:
        """Enrichment finished: re-embed only the vectors whose text changed, then refresh caches."""
        from index.ingest import Ingestor

        runtime = await self.ready()
        summary = await Ingestor(runtime.store, runtime.embedder, runtime.fetcher).ingest_entries([result.entry])
        if summary.failed:
            raise RuntimeError(f"re-indexing {result.entry.id} failed: {summary.failed[0][1]}")
        runtime.engine.invalidate_caches()

    @property
    def is_ready(self) -> bool:
        return self.runtime is not None

    async def close(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()
