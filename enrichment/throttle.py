"""Per-source throttling: rate limiters, circuit breakers and the policy that holds them.

Why apart from the client (enrichment.http): how fast and how often a source may be
asked, and when to stop asking a failing one, is its own concern with its own clock;
the client only consults it around each request. The public anime APIs ban clients
that flood them (Jikan 3/s and 60/min, AniList by its X-RateLimit headers, AniDB one
request every few seconds), so each source gets its own ``SourcePolicy``.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from enrichment.settings import EnrichmentSettings

log = logging.getLogger(__name__)


# ----- rate limiter -------------------------------------------------------------------------
class RateLimiter:
    """Sliding-window limits (e.g. 3 per 1 s and 60 per 60 s) plus a minimum interval and pauses.

    ``pause_until`` lets a Retry-After or an exhausted X-RateLimit-Remaining hold back
    every caller of the source, not just the one that saw the header.
    """

    def __init__(
        self,
        windows: list[tuple[int, float]] | None = None,
        *,
        min_interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.windows = [(max(1, int(n)), float(p)) for n, p in (windows or []) if p > 0]
        self.min_interval = max(0.0, float(min_interval))
        self._stamps: list[deque[float]] = [deque() for _ in self.windows]
        self._last: float | None = None
        self._paused_until = 0.0
        self._clock = clock
        self._lock = anyio.Lock()

    @staticmethod
    def per(rate: float, period: float) -> tuple[int, float]:
        """A window from a rate: 3/s -> (3, 1.0); 0.5/s -> (1, 2.0)."""
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        return (int(rate), period) if rate >= 1 else (1, period / rate)

    def pause_until(self, deadline: float) -> None:
        self._paused_until = max(self._paused_until, deadline)

    def delay(self, now: float | None = None) -> float:
        """Seconds until the next call may go (0 when it may go now)."""
        now = self._clock() if now is None else now
        wait = self._paused_until - now
        if self.min_interval and self._last is not None:
            wait = max(wait, self._last + self.min_interval - now)
        for (limit, period), stamps in zip(self.windows, self._stamps, strict=True):
            while stamps and stamps[0] <= now - period:
                stamps.popleft()
            if len(stamps) >= limit:
                wait = max(wait, stamps[len(stamps) - limit] + period - now)
        return max(0.0, wait)

    async def acquire(self) -> None:
        async with self._lock:  # callers queue here, so the order is fair and bursts cannot slip through
            while (wait := self.delay()) > 0:
                await anyio.sleep(wait)
            now = self._clock()
            self._last = now
            for stamps in self._stamps:
                stamps.append(now)


# ----- circuit breaker ----------------------------------------------------------------------
class CircuitBreaker:
    """Closed -> open after ``threshold`` consecutive failures -> half-open after ``reset_seconds``.

    Half-open lets one trial call through: success closes the circuit, failure opens it again.
    """

    def __init__(self, threshold: int, reset_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, int(threshold))
        self.reset_seconds = float(reset_seconds)
        self.failures = 0
        self._opened_at: float | None = None
        self._trial = False
        self._clock = clock

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_seconds:
            return "half_open"
        return "open"

    def retry_in(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.reset_seconds - self._clock())

    def allow(self) -> bool:
        """May a call go now? In half-open state only one trial call at a time may."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def record_success(self) -> None:
        self.failures = 0
        self._opened_at = None
        self._trial = False

    def record_failure(self) -> None:
        self.failures += 1
        if self._trial or self.failures >= self.threshold:
            if self._opened_at is None or self._trial:
                log.warning("circuit opened after %d consecutive failures", self.failures)
            self._opened_at = self._clock()
        self._trial = False

    def release(self) -> None:
        """A trial call ended without a verdict (cancelled): let another one try."""
        self._trial = False


# ----- per-source policy --------------------------------------------------------------------
@dataclass
class SourceStats:
    requests: int = 0  # sent over the network
    retries: int = 0
    cache_hits: int = 0
    stale_served: int = 0
    short_circuited: int = 0


@dataclass
class SourcePolicy:
    name: str
    limiter: RateLimiter
    breaker: CircuitBreaker
    timeout: float
    in_flight: anyio.Semaphore
    stats: SourceStats = field(default_factory=SourceStats)


def _policy_for(name: str, s: EnrichmentSettings) -> SourcePolicy:
    per = RateLimiter.per
    windows: list[tuple[int, float]]
    min_interval = 0.0
    if name == "jikan":
        windows = [per(s.jikan_per_second, 1.0), per(s.jikan_per_minute, 60.0)]
    elif name == "anilist":
        windows = [per(s.anilist_per_minute, 60.0)]
    elif name == "kitsu":
        windows = [per(s.kitsu_per_second, 1.0)]
    elif name == "anidb":
        windows, min_interval = [], s.anidb_min_interval
    elif name == "animeschedule":
        windows = [per(s.animeschedule_per_second, 1.0)]
    else:
        windows = [(2, 1.0)]
    concurrency = 1 if name == "anidb" else s.source_concurrency
    return SourcePolicy(
        name=name,
        limiter=RateLimiter(windows, min_interval=min_interval),
        breaker=CircuitBreaker(s.circuit_failure_threshold, s.circuit_reset_seconds),
        timeout=s.timeout_for(name),
        in_flight=anyio.Semaphore(concurrency),
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))
