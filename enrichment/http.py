"""One HTTP client for every source: rate limits, retries, circuit breakers, cache.

Why one place: the public anime APIs ban clients that flood them (Jikan 3/s and
60/min, AniList by its X-RateLimit headers, AniDB one request every few seconds),
and fail in the usual ways (429, 5xx, timeouts). Each source gets its own
``SourcePolicy`` (limiter, breaker, timeout, in-flight bound), so a dead source
fails fast once its circuit opens and never slows the others.

Order of a request: fresh cache hit -> circuit check (open: stale cache or fail)
-> rate limiter -> send -> retry 429/5xx/timeouts with exponential backoff and
jitter (Retry-After honoured up to ``retry_after_max``) -> validate -> cache.
When every attempt failed, a stale cached answer is served, marked ``stale``.
The limiter, breaker and policy themselves live in enrichment.throttle.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from enrichment.cache import CachedResponse, ResponseCache, cache_key
from enrichment.settings import EnrichmentSettings

# The throttling parts live in enrichment.throttle; they are re-exported here because
# other code and tests import them from enrichment.http.
from enrichment.throttle import (  # noqa: F401
    CircuitBreaker,
    RateLimiter,
    SourcePolicy,
    SourceStats,
    _policy_for,
    parse_retry_after,
)

log = logging.getLogger(__name__)


# ----- errors -------------------------------------------------------------------------------
class SourceError(Exception):
    """A source could not give an answer; ``str()`` says which source and why."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.reason = message


class NotFoundError(SourceError):
    """The source answered, but has no such anime (HTTP 404 or an empty search)."""


class BadResponseError(SourceError):
    """The source answered something unusable (malformed JSON/XML, an error document, 4xx)."""


class SourceUnavailable(SourceError):
    """The source kept failing (timeouts, 429, 5xx) until the retries ran out."""


class CircuitOpenError(SourceUnavailable):
    """The source failed too often lately; calls are short-circuited until the cool-down ends."""


# ----- results ------------------------------------------------------------------------------
@dataclass(slots=True)
class Fetched:
    """One answer, from the network or the cache."""

    source: str
    url: str
    status: int
    text: str
    headers: dict[str, str]
    from_cache: bool = False
    stale: bool = False

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise BadResponseError(self.source, f"malformed JSON from {self.url}: {exc}") from None


Validator = Callable[[Fetched], None]


def require_json(fetched: Fetched) -> None:
    """Default validator: the body must parse as JSON (a truncated body must never be cached)."""
    fetched.json()


# ----- the client ---------------------------------------------------------------------------
class HttpClient:
    """Shared by every source of an enrichment run; use as ``async with HttpClient(settings) as http``."""

    def __init__(
        self,
        settings: EnrichmentSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: ResponseCache | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.cache = cache or ResponseCache(
            settings.cache_dir, settings.cache_ttl_seconds, enabled=settings.cache_enabled
        )
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._policies: dict[str, SourcePolicy] = {}
        self._sleep = sleep
        self._rng = rng

    async def __aenter__(self) -> HttpClient:
        self._ensure_client()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _ensure_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport,
                follow_redirects=True,
                headers={"User-Agent": self.settings.user_agent},
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            )
        return self._client

    def policy(self, source: str) -> SourcePolicy:
        if source not in self._policies:
            self._policies[source] = _policy_for(source, self.settings)
        return self._policies[source]

    def _backoff(self, attempt: int) -> float:
        delay = min(self.settings.backoff_max, self.settings.backoff_base * (2**attempt))
        return delay / 2 + self._rng() * delay / 2  # "equal jitter": never zero, never in lockstep

    def _note_rate_headers(self, policy: SourcePolicy, response: httpx.Response) -> None:
        """AniList-style headers: when the window is used up, pause the source until it resets."""
        remaining = response.headers.get("x-ratelimit-remaining")
        reset = response.headers.get("x-ratelimit-reset")
        if remaining is None or not remaining.strip().lstrip("-").isdigit() or int(remaining) > 0:
            return
        wait = 0.0
        if reset and reset.strip().replace(".", "", 1).isdigit():
            wait = float(reset) - time.time()
        wait = min(max(wait, 1.0), self.settings.retry_after_max)
        log.info("%s: rate-limit window used up, pausing %.1fs", policy.name, wait)
        policy.limiter.pause_until(time.monotonic() + wait)

    def _stale(self, policy: SourcePolicy, cached: CachedResponse, why: str) -> Fetched:
        policy.stats.stale_served += 1
        log.warning("%s: %s; serving a cached answer %.0fs old", policy.name, why, cached.age())
        return Fetched(policy.name, cached.url, cached.status, cached.text, cached.headers, from_cache=True, stale=True)

    async def request(
        self,
        source: str,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        validate: Validator | None = require_json,
        use_cache: bool = True,
        on_attempt: Callable[[], None] | None = None,
    ) -> Fetched:
        """One logical request with every protection; raises a SourceError subclass on failure.

        ``on_attempt`` is called for every request actually sent (callers count their own traffic).
        """
        policy = self.policy(source)
        client = self._ensure_client()
        request = client.build_request(method, url, params=params, json=json_body, headers=headers)
        full_url = str(request.url)
        body = json.dumps(json_body, sort_keys=True) if json_body is not None else None
        if content is not None:  # an uploaded file (a picture): keyed by its hash
            body = hashlib.sha256(content).hexdigest()
        key = cache_key(method, full_url, body)
        cached = self.cache.get(key) if use_cache else None
        if cached is not None and self.cache.is_fresh(cached):
            policy.stats.cache_hits += 1
            return Fetched(source, cached.url, cached.status, cached.text, cached.headers, from_cache=True)

        last_error = "no attempt made"
        attempts = 0
        for attempt in range(self.settings.max_retries + 1):
            if not policy.breaker.allow():
                policy.stats.short_circuited += 1
                why = (
                    f"circuit open after {policy.breaker.failures} consecutive failures "
                    f"(last: {last_error if attempts else 'earlier requests'}); "
                    f"next try in {policy.breaker.retry_in():.0f}s"
                )
                if cached is not None:
                    return self._stale(policy, cached, why)
                raise CircuitOpenError(source, why)
            verdict = False
            try:
                await policy.limiter.acquire()
                attempts += 1
                policy.stats.requests += 1
                if on_attempt is not None:
                    on_attempt()
                if attempt:
                    policy.stats.retries += 1
                retry_after: float | None = None
                try:
                    async with policy.in_flight:
                        response = await client.send(
                            client.build_request(
                                method,
                                url,
                                params=params,
                                json=json_body,
                                content=content,
                                headers=headers,
                                timeout=httpx.Timeout(policy.timeout),
                            )
                        )
                except httpx.TimeoutException:
                    last_error = f"timed out after {policy.timeout:g}s"
                except httpx.TransportError as exc:
                    last_error = f"connection failed: {type(exc).__name__}: {exc}"
                else:
                    self._note_rate_headers(policy, response)
                    status = response.status_code
                    if status == 429 or status >= 500:
                        last_error = f"HTTP {status} from {full_url}"
                        retry_after = parse_retry_after(response.headers.get("retry-after"))
                    elif status == 404:
                        policy.breaker.record_success()
                        verdict = True
                        raise NotFoundError(source, f"not found: {full_url}")
                    elif status >= 400:
                        policy.breaker.record_failure()
                        verdict = True
                        raise BadResponseError(source, f"HTTP {status} from {full_url}: {response.text[:200]}")
                    else:
                        fetched = Fetched(source, full_url, status, response.text, dict(response.headers))
                        try:
                            if validate is not None:
                                validate(fetched)
                        except BadResponseError as exc:
                            policy.breaker.record_failure()
                            verdict = True
                            if cached is not None:
                                return self._stale(policy, cached, exc.reason)
                            raise
                        policy.breaker.record_success()
                        verdict = True
                        self.cache.put(key, status=status, text=fetched.text, url=full_url, headers=fetched.headers)
                        return fetched
                # a retryable failure
                policy.breaker.record_failure()
                verdict = True
            finally:
                if not verdict:
                    policy.breaker.release()
            log.info("%s: attempt %d failed: %s", source, attempts, last_error)
            if attempt >= self.settings.max_retries:
                break
            if policy.breaker.state == "open":
                continue  # no point waiting: the next turn short-circuits (or serves the stale copy)
            delay = self._backoff(attempt)
            if retry_after is not None:
                if retry_after > self.settings.retry_after_max:
                    last_error += f" (Retry-After {retry_after:.0f}s exceeds retry_after_max)"
                    policy.limiter.pause_until(time.monotonic() + min(retry_after, 3600.0))
                    break
                policy.limiter.pause_until(time.monotonic() + retry_after)
                delay = max(delay, retry_after)
            await self._sleep(delay)

        why = f"{last_error} (gave up after {attempts} attempt{'s' if attempts != 1 else ''})"
        if cached is not None:
            return self._stale(policy, cached, why)
        raise SourceUnavailable(source, why)
