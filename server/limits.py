"""Limits on expensive tool calls; tools reach them through the lifespan context (server.state.AppState,
seen by tools as tools.runtime_access.ServerContext), never through process-wide state.

Image decoding/embedding and enrichment jobs cost far more CPU/memory than a text search; a cap
on how many run at once keeps one client from starving the others (or the box of memory).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio


class ExpensiveCalls:
    """At most ``max_concurrent`` image searches and enrichment jobs at once, per server."""

    def __init__(self, max_concurrent: int) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent_expensive must be at least 1 (got {max_concurrent}).")
        self.max_concurrent = max_concurrent
        self._limiter: anyio.CapacityLimiter | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot while an image search or enrichment runs; further callers wait (they are not
        refused) until a slot frees up."""
        if self._limiter is None:  # created on first use: anyio primitives want a running event loop
            self._limiter = anyio.CapacityLimiter(self.max_concurrent)
        async with self._limiter:
            yield
