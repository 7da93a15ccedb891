"""Limits on expensive tool calls and the admin check, shared by tools.

Image decoding/embedding and enrichment jobs cost far more CPU/memory than a text search; a cap
on how many run at once keeps one client from starving the others (or the box of memory).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from server.security import token_matches

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


def bearer_token(headers: Any) -> str | None:
    """The bearer token of an HTTP request's headers (a mapping; None on stdio)."""
    if not headers:
        return None
    auth = ""
    for key in ("authorization", "Authorization"):
        value = headers.get(key) if hasattr(headers, "get") else None
        if value:
            auth = value
            break
    if not auth.lower().startswith("bearer "):
        return None
    return auth[7:].strip() or None


def is_admin(ctx: Any, admin_tokens: list[str]) -> bool:
    """True when no admin tokens are configured (every authenticated caller, or the local stdio
    user, may act), or the request carries one of them. `ctx.headers` is the HTTP request's
    headers in the SDK (None on stdio, where there is no token to check)."""
    if not admin_tokens:
        return True
    token = bearer_token(getattr(ctx, "headers", None))
    return bool(token) and token_matches(token, admin_tokens)
