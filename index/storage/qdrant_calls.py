"""Calls to a Qdrant server that survive its hiccups, and failures that say what to fix.

Transient failures (connection errors, timeouts, HTTP 5xx and 429) are retried with exponential
backoff and jitter (honouring Retry-After); every other failure, and a transient one that outlives
the retries, becomes a StoreError naming the setting to check. Messages show the server's URL
without credentials and the server's answer, never request headers (the API key).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from index.storage.base import StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 10.0


def safe_url(url: str) -> str:
    """The URL without user info, query or fragment: safe to log and show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def is_transient(exc: BaseException) -> bool:
    """Connection problems, timeouts, 5xx and 429 may pass on their own; retry those."""
    if isinstance(exc, UnexpectedResponse):
        return exc.status_code is not None and (exc.status_code == 429 or exc.status_code >= 500)
    return isinstance(exc, (ResponseHandlingException, httpx.TransportError, ConnectionError, TimeoutError))


def _retry_after(exc: BaseException) -> float | None:
    if isinstance(exc, UnexpectedResponse) and exc.headers is not None:
        try:
            return float(exc.headers.get("retry-after", ""))
        except ValueError:
            return None
    return None


def backoff_delay(attempt: int, exc: BaseException | None = None) -> float:
    """Exponential backoff with jitter (50-100 % of the step); honours Retry-After."""
    step = min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2**attempt))
    delay = step * random.uniform(0.5, 1.0)
    hint = _retry_after(exc) if exc is not None else None
    return min(max(delay, hint), 3 * BACKOFF_CAP_S) if hint else delay


def _describe(exc: BaseException) -> str:
    """Short text of an error: status and server message, never request headers."""
    if isinstance(exc, UnexpectedResponse):
        body = exc.content[:300].decode("utf-8", "replace") if exc.content else ""
        return f"HTTP {exc.status_code} {exc.reason_phrase or ''} {body}".strip()
    if isinstance(exc, ResponseHandlingException):
        return f"{type(exc.source).__name__}: {exc.source}"
    return f"{type(exc).__name__}: {exc}"


class ServerCalls:
    """Runs client calls against one collection on one server, retrying transient failures."""

    def __init__(self, location: str, collection_name: str, retries: int) -> None:
        self.location = location
        self.retries = max(0, retries)
        self.where = f"collection {collection_name!r} on {location}"

    async def run(self, op: str, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``; ``op`` names the operation in logs and errors."""
        attempt = 0
        while True:
            try:
                return await fn(*args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:
                if is_transient(exc) and attempt < self.retries:
                    delay = backoff_delay(attempt, exc)
                    log.warning(
                        "Qdrant %s on %s failed (%s); retry %d/%d in %.1fs",
                        op,
                        self.location,
                        type(exc).__name__,
                        attempt + 1,
                        self.retries,
                        delay,
                    )
                    attempt += 1
                    await anyio.sleep(delay)
                    continue
                raise self._error(op, exc, attempt) from exc

    def _error(self, op: str, exc: Exception, attempts: int) -> StoreError:
        if is_transient(exc):
            return StoreError(
                f"Qdrant at {self.location} did not answer {op} after {attempts + 1} tries ({_describe(exc)}); "
                "check that it runs and that ANIME_MCP_QDRANT_URL is right"
            )
        if isinstance(exc, UnexpectedResponse):
            if exc.status_code in (401, 403):
                return StoreError(
                    f"Qdrant at {self.location} refused {op} ({exc.status_code}): check ANIME_MCP_QDRANT_API_KEY"
                )
            return StoreError(f"Qdrant refused {op} on {self.where}: {_describe(exc)}")
        return StoreError(f"{op} failed on {self.where}: {exc}")
