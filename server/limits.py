"""Limits on expensive tool calls and the admin check; tools reach them through the lifespan
context (server.state.AppState, seen by tools as tools.runtime_access.ServerContext).

Image decoding/embedding and enrichment jobs cost far more CPU/memory than a text search; a cap
on how many run at once keeps one client from starving the others (or the box of memory).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from server.auth import ADMIN_SCOPE, caller

_limiter: anyio.CapacityLimiter | None = None
_capacity: int = 4


def configure(max_concurrent: int) -> None:
    """Set the cap (ServerSettings.max_concurrent_expensive); called once when the server starts."""
    global _capacity, _limiter
    if max_concurrent < 1:
        raise ValueError(f"max_concurrent_expensive must be at least 1 (got {max_concurrent}).")
    _capacity = max_concurrent
    if _limiter is not None:
        _limiter.total_tokens = max_concurrent


def limiter() -> anyio.CapacityLimiter:
    """The process-wide limiter (created lazily: anyio primitives want a running event loop)."""
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(_capacity)
    return _limiter


@asynccontextmanager
async def expensive_slot() -> AsyncIterator[None]:
    """Hold one of the `max_concurrent_expensive` slots while an image search or enrichment runs;
    further callers wait (they are not refused) until a slot frees up."""
    async with limiter():
        yield


def is_admin(ctx: Any, admin_tokens: list[str]) -> bool:
    """May this caller run admin actions (enrichment)? A verified caller (static token or OAuth
    JWT, see server.security) needs the anime:admin scope; an anonymous one (stdio, or HTTP
    without authentication) only when no admin tokens are configured: with them set, a caller
    must show one."""
    try:
        request = ctx.request_context.request
    except (AttributeError, ValueError):  # no request (a Context outside a call)
        request = None
    found = caller(request)
    if found is not None:
        return ADMIN_SCOPE in found.scopes
    return not admin_tokens
