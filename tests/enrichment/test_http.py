"""The shared HTTP client against the loopback fake: rate limits, retries, circuit breaker, cache."""

from __future__ import annotations

import json
import time

import anyio
import pytest

from enrichment.cache import ResponseCache, cache_key
from enrichment.http import (
    BadResponseError,
    CircuitBreaker,
    CircuitOpenError,
    HttpClient,
    NotFoundError,
    RateLimiter,
    SourceUnavailable,
    parse_retry_after,
)
from tests.fake_sources import FakeSources

pytestmark = pytest.mark.anyio


def full_url(fake: FakeSources) -> str:
    return f"{fake.url}/jikan/v4/anime/1/full"


# ----- units with a fake clock -----------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_windows_and_min_interval():
    clock = Clock()
    limiter = RateLimiter([(3, 1.0), (5, 60.0)], clock=clock)
    for _ in range(3):
        assert limiter.delay() == 0
        limiter._stamps[0].append(clock.now)
        limiter._stamps[1].append(clock.now)
    assert limiter.delay() == pytest.approx(1.0)  # 3/s used up
    clock.now += 1.0
    for _ in range(2):
        limiter._stamps[0].append(clock.now)
        limiter._stamps[1].append(clock.now)
    clock.now += 1.0
    assert limiter.delay() == pytest.approx(58.0)  # 5/min used up, although 3/s is free
    spaced = RateLimiter([], min_interval=4.0, clock=clock)
    spaced._last = clock.now
    assert spaced.delay() == pytest.approx(4.0)
    spaced.pause_until(clock.now + 10)
    assert spaced.delay() == pytest.approx(10.0)
    assert RateLimiter.per(0.5, 1.0) == (1, 2.0)


def test_circuit_breaker_states():
    clock = Clock()
    breaker = CircuitBreaker(3, 30.0, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 30
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # one trial call at a time
    breaker.record_failure()
    assert breaker.state == "open"  # the trial failed: open again
    clock.now += 30
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.failures == 0


def test_retry_after_parsing():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 10) == pytest.approx(10.0)


def test_cache_key_and_corrupt_files(tmp_path):
    assert cache_key("GET", "http://x/a") != cache_key("POST", "http://x/a")
    assert cache_key("POST", "http://x/a", '{"page": 1}') != cache_key("POST", "http://x/a", '{"page": 2}')
    cache = ResponseCache(tmp_path, ttl=60)
    key = cache_key("GET", "http://x/a")
    cache.put(key, status=200, text="{}", url="http://x/a")
    assert cache.get(key).text == "{}"
    next(tmp_path.glob("*/*.json")).write_text("{not json")
    assert cache.get(key) is None


# ----- against the fake sources -----------------------------------------------------------------
async def test_rate_limit_holds_on_the_wire(sources, tmp_path):
    settings = sources.settings(tmp_path, jikan_per_second=10, jikan_per_minute=1000, cache_enabled=False)
    async with HttpClient(settings) as http:
        async with anyio.create_task_group() as tg:
            for n in range(1, 16):
                tg.start_soon(http.request, "jikan", "GET", f"{sources.url}/jikan/v4/anime/1/episodes/{n}")
    stamps = sorted(r.at for r in sources.requests("jikan"))
    assert len(stamps) == 15
    # no 1-second window holds more than 10 requests
    assert all(stamps[i + 10] - stamps[i] >= 0.85 for i in range(len(stamps) - 10))  # unlimited: ~0.1s


async def test_429_retry_after_is_honoured(sources, tmp_path):
    sources.fail("jikan", "429", times=1, retry_after=0.4)
    async with HttpClient(sources.settings(tmp_path)) as http:
        got = await http.request("jikan", "GET", full_url(sources))
    assert got.json()["data"]["title"] == "Cowboy Bebop"
    first, second = sources.requests("jikan")
    assert second.at - first.at >= 0.38


async def test_a_retry_after_beyond_the_maximum_fails_at_once(sources, tmp_path):
    sources.fail("jikan", "429", retry_after=120)
    async with HttpClient(sources.settings(tmp_path, retry_after_max=1.0)) as http:
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match="Retry-After 120s"):
            await http.request("jikan", "GET", full_url(sources))
    assert time.monotonic() - started < 1.0 and len(sources.requests("jikan")) == 1


async def test_retries_stop_after_the_maximum(sources, tmp_path):
    sources.fail("jikan", "500")
    async with HttpClient(sources.settings(tmp_path, max_retries=2)) as http:
        with pytest.raises(SourceUnavailable, match="gave up after 3 attempts"):
            await http.request("jikan", "GET", full_url(sources))
    assert len(sources.requests("jikan")) == 3


async def test_a_timeout_is_retried(sources, tmp_path):
    sources.fail("kitsu", "timeout", times=1, delay=1.0)
    settings = sources.settings(tmp_path, source_timeouts={"kitsu": 0.25})
    async with HttpClient(settings) as http:
        started = time.monotonic()
        got = await http.request("kitsu", "GET", f"{sources.url}/kitsu/api/edge/anime/1")
        assert time.monotonic() - started < 0.9
    assert got.json()["data"]["id"] == "1"
    assert len(sources.requests("kitsu")) == 2


async def test_circuit_opens_and_short_circuits_only_that_source(sources, tmp_path):
    sources.fail("jikan", "500")
    settings = sources.settings(tmp_path, circuit_failure_threshold=3, max_retries=5, circuit_reset_seconds=0.3)
    async with HttpClient(settings) as http:
        with pytest.raises(CircuitOpenError, match="circuit open after 3 consecutive failures"):
            await http.request("jikan", "GET", full_url(sources))
        assert len(sources.requests("jikan")) == 3  # the breaker cut the retries short
        started = time.monotonic()
        with pytest.raises(CircuitOpenError):
            await http.request("jikan", "GET", f"{sources.url}/jikan/v4/anime/1/characters")
        assert time.monotonic() - started < 0.05 and len(sources.requests("jikan")) == 3
        assert http.policy("jikan").stats.short_circuited == 2
        # another source is not affected
        got = await http.request("animeschedule", "GET", f"{sources.url}/animeschedule/api/v3/anime/cowboy-bebop")
        assert got.json()["route"] == "cowboy-bebop"
        # after the cool-down one trial call goes through; success closes the circuit
        sources.heal("jikan")
        await anyio.sleep(0.35)
        await http.request("jikan", "GET", full_url(sources))
        assert http.policy("jikan").breaker.state == "closed"


async def test_cache_serves_repeats_without_requests(sources, tmp_path):
    async with HttpClient(sources.settings(tmp_path)) as http:
        first = await http.request("jikan", "GET", full_url(sources))
    async with HttpClient(sources.settings(tmp_path)) as http:
        second = await http.request("jikan", "GET", full_url(sources))
    assert not first.from_cache and second.from_cache and not second.stale
    assert second.text == first.text
    assert len(sources.requests("jikan")) == 1


async def test_stale_cache_is_served_when_the_source_is_down(sources, tmp_path):
    async with HttpClient(sources.settings(tmp_path)) as http:
        await http.request("jikan", "GET", full_url(sources))
    sources.fail("jikan", "500")
    async with HttpClient(sources.settings(tmp_path, cache_ttl_seconds=0)) as http:
        got = await http.request("jikan", "GET", full_url(sources))
    assert got.from_cache and got.stale
    assert got.json()["data"]["title"] == "Cowboy Bebop"
    assert len(sources.requests("jikan")) == 1 + 3  # refetch tried (1 + 2 retries) before falling back


async def test_malformed_json_is_an_error_and_never_cached(sources, tmp_path):
    sources.fail("jikan", "malformed", times=1)
    async with HttpClient(sources.settings(tmp_path)) as http:
        with pytest.raises(BadResponseError, match="malformed JSON"):
            await http.request("jikan", "GET", full_url(sources))
        got = await http.request("jikan", "GET", full_url(sources))
    assert not got.from_cache and json.loads(got.text)["data"]["mal_id"] == 1


async def test_not_found_is_not_retried(sources, tmp_path):
    async with HttpClient(sources.settings(tmp_path)) as http:
        with pytest.raises(NotFoundError):
            await http.request("jikan", "GET", f"{sources.url}/jikan/v4/anime/999/full")
        assert http.policy("jikan").breaker.failures == 0
    assert len(sources.requests("jikan")) == 1


async def test_anilist_rate_limit_headers_pause_the_source(sources, tmp_path):
    sources.anilist_remaining = 0
    sources.anilist_reset_in = 1.0
    try:
        async with HttpClient(sources.settings(tmp_path, cache_enabled=False)) as http:
            body = {"query": "{}", "variables": {"id": 1, "chars": False, "staff": False}}
            await http.request("anilist", "POST", f"{sources.url}/anilist", json_body=body)
            await http.request("anilist", "POST", f"{sources.url}/anilist", json_body=body)
    finally:
        sources.anilist_remaining = None
    first, second = sources.requests("anilist")
    assert second.at - first.at >= 0.95
