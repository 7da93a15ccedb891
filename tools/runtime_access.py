"""What the tools need from the server that runs them, as an interface the server provides.

Why: server/ imports tools/ to register them, so tools/ must not import server/ (one direction
only, checked by tests/test_layering.py). The server hands its state to every call as the
lifespan context (``server.state.AppState``); tools see it only through ``ServerContext``.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, cast

from mcp.server.mcpserver import Context

from index.runtime import IndexRuntime


class ServerContext(Protocol):
    """The lifespan context of the server: the index runtime once loaded, the enrichment jobs,
    the admin check and the cap on expensive calls."""

    runtime: IndexRuntime | None  # None while loading; ``ready()`` waits for it
    enrichment: Any  # enrichment.jobs.JobManager while enrichment is enabled, else None

    async def ready(self) -> IndexRuntime:
        """The loaded runtime; raises index.runtime.NotReadyError (saying why) when it is not available."""
        ...

    def is_admin(self, ctx: Any) -> bool:
        """May this call's caller run admin actions (enrichment)?"""
        ...

    def expensive_slot(self) -> AbstractAsyncContextManager[None]:
        """Hold one of the server's slots for expensive calls (image searches); waits for a free one."""
        ...


def server_context(ctx: Context) -> ServerContext:
    """The server's state for this call."""
    # The SDK types the lifespan context by its default (a dict): tools take a plain ``Context``. This server's
    # lifespan yields its AppState (server/app.py), which provides ServerContext.
    return cast(ServerContext, ctx.request_context.lifespan_context)
