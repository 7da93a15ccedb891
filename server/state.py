"""Server state shared by every tool: loaded once, in the background, so `initialize` is instant.

Big models can take minutes to load; a client's connect timeout is seconds. The lifespan
starts loading in a background task and the tools wait on `ready()`, which reports a
clear error if loading failed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from index.errors import without_paths
from index.runtime import IndexRuntime, NotReadyError
from index.storage.base import IndexInUseError
from server.auth import is_admin
from server.limits import ExpensiveCalls

log = logging.getLogger(__name__)
#: Seconds one tool call waits for an index another process holds before it is told to retry.
LOCK_WAIT_PER_CALL = 5.0


@dataclass
class AppState:
    """Owns the index runtime and the optional enrichment job manager. It is the lifespan context
    the tools receive: it provides tools.runtime_access.ServerContext, so tools never import server/."""

    loader: Callable[[], Awaitable[IndexRuntime]]
    enrichment: Any = None  # enrichment.jobs.JobManager while the server runs with enrichment enabled
    admin_tokens: list[str] = field(default_factory=list)
    ready_timeout: float = 600.0
    index_on_start: list[Path] = field(default_factory=list)  # ServerSettings.index_on_start
    index_report: dict[str, Any] | None = None  # how indexing them went (shown by /health)
    max_concurrent_expensive: int = 4  # ServerSettings.max_concurrent_expensive (the CLI passes the setting)
    retry_max_seconds: float = 30.0  # ServerSettings.index_retry_max_seconds: longest wait between tries
    runtime: IndexRuntime | None = None
    error: str | None = None
    #: Why the server is not ready yet while it waits for something it expects to get (shown by /health).
    waiting_for: str | None = None
    _loaded: anyio.Event | None = None
    _loading: bool = False
    _expensive: ExpensiveCalls = field(init=False)

    def __post_init__(self) -> None:
        self._expensive = ExpensiveCalls(self.max_concurrent_expensive)

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
            runtime = await self._open_when_free()
            if self.index_on_start:
                await self._index_files(runtime)
            self.runtime = runtime
            log.info("index ready (%s backend)", self.runtime.engine.store.backend)
        except Exception as exc:  # reported to every tool call, never crashes the server
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("loading the index failed: %s", self.error)
        finally:
            self._loading = False
            if self.runtime is not None or self.error is not None:
                event.set()

    async def _open_when_free(self) -> IndexRuntime:
        """The loader's runtime; while another process holds the index (a server still closing, an
        indexing run), try again with backoff rather than failing for good."""
        delay = min(0.25, self.retry_max_seconds)
        while True:
            try:
                runtime = await self.loader()
            except IndexInUseError as exc:
                self.waiting_for = (
                    "the index is in use by another process (a server still closing or an indexing run); "
                    f"trying again in {delay:g} s"
                )
                log.warning("%s; trying again in %g s", exc, delay)
                await anyio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)
                continue
            self.waiting_for = None
            return runtime

    @property
    def status(self) -> str:
        """ "ok", "starting" (models loading, or waiting for the index) or "error" (what /health says)."""
        if self.runtime is not None:
            return "ok"
        return "error" if self.error else "starting"

    async def ready(self) -> IndexRuntime:
        event = self._event()
        waited = 0.0
        while not event.is_set() and waited < self.ready_timeout:
            if self.waiting_for and waited >= LOCK_WAIT_PER_CALL:
                break  # the other process may hold the index for long: say so rather than hang the call
            step = min(1.0, self.ready_timeout - waited)
            with anyio.move_on_after(step):
                await event.wait()
            waited += step
        if self.runtime is not None:
            return self.runtime
        if self.error:
            raise NotReadyError(f"The anime index could not be loaded: {without_paths(self.error)}")
        if self.waiting_for:
            raise NotReadyError(
                "The server is starting: the anime index is in use by another process (a server still closing "
                "or an indexing run); it is retried and served once free. Try again shortly."
            )
        raise NotReadyError(f"The models are still loading after {self.ready_timeout:.0f}s; try again shortly.")

    async def _index_files(self, runtime: IndexRuntime) -> None:
        """ANIME_MCP_INDEX_ON_START: index the files before the tools answer (unchanged entries are
        skipped by hash). A failure is logged and reported by /health; the server then serves what
        the index already holds rather than nothing."""
        from index.ingest import Ingestor  # ~22 ms on the serve path; only with ANIME_MCP_INDEX_ON_START

        names = [Path(p).name for p in self.index_on_start]  # /health is public: file names, not paths
        self.index_report = {"status": "running", "files": names}
        try:
            missing = [Path(p).name for p in self.index_on_start if not Path(p).is_file()]
            if missing:
                raise FileNotFoundError(f"ANIME_MCP_INDEX_ON_START names no file {', '.join(missing)}")
            summary = await Ingestor(runtime.store, runtime.embedder, runtime.fetcher).ingest_paths(self.index_on_start)
            runtime.engine.invalidate_caches()
            log.info("indexed on start (%s): %s", ", ".join(names), summary.line())
            self.index_report = {
                "status": "failed" if summary.failed else "done",
                "files": names,
                "read": summary.read,
                "failed": len(summary.failed),
            }
        except Exception as exc:  # the index may still hold entries: serve them
            log.error(
                "indexing %s on start failed: %s: %s", ", ".join(map(str, self.index_on_start)), type(exc).__name__, exc
            )
            self.index_report = {
                "status": "failed",
                "files": names,
                "error": without_paths(f"{type(exc).__name__}: {exc}"),
            }

    async def reindex(self, result: Any) -> None:
        """Enrichment finished: re-embed only the vectors whose text changed, then refresh caches."""
        from index.ingest import Ingestor  # ~22 ms on the serve path; only after an enrichment job

        runtime = await self.ready()
        summary = await Ingestor(runtime.store, runtime.embedder, runtime.fetcher).ingest_entries([result.entry])
        if summary.failed:
            raise RuntimeError(f"re-indexing {result.entry.id} failed: {summary.failed[0][1]}")
        runtime.engine.invalidate_caches()

    def is_admin(self, ctx: Any) -> bool:
        """May this call's caller run admin actions (enrichment)? See server.auth.is_admin."""
        return is_admin(ctx, self.admin_tokens)

    def expensive_slot(self) -> AbstractAsyncContextManager[None]:
        """One of the server's ``max_concurrent_expensive`` slots (image searches, enrichment jobs)."""
        return self._expensive.slot()

    @property
    def is_ready(self) -> bool:
        return self.runtime is not None

    async def close(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()
