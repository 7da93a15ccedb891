"""Caches of query embeddings and result pages: bounded, counted, and never serving a page older than
the last write to the index."""

from __future__ import annotations

import anyio
import numpy as np
import pytest
from mcp import Client

from index.search.cache import MISS, CacheSettings, LRUCache, PageCache, cached_page, query_cache, track_writes
from server.app import build_server
from server.state import AppState

pytestmark = pytest.mark.anyio


def test_lru_is_bounded_by_entries_and_bytes_and_counts_hits():
    cache = LRUCache(max_entries=3, max_bytes=100)
    for k in "abc":
        cache.put(k, k.upper(), 10)
    assert cache.get("a") == "A"  # a is now the most recent: b goes first
    cache.put("d", "D", 10)
    assert cache.get("b") is MISS and [cache.get(k) for k in "acd"] == ["A", "C", "D"]
    cache.put("big", "X", 90)  # 30 + 90 > 100 bytes: the oldest go until it fits
    s = cache.stats()
    assert s.bytes <= 100 and s.entries <= 3 and cache.get("big") == "X"
    assert s.evictions >= 2 and s.hits == 4 and s.misses == 1
    cache.put("huge", "Y", 101)  # larger than the whole budget: not kept, nothing else dropped
    assert cache.get("huge") is MISS and cache.get("big") == "X"


def test_lru_entries_expire_after_their_time_to_live():
    now = [0.0]
    cache = LRUCache(max_entries=10, max_bytes=1000, ttl_s=5, clock=lambda: now[0])
    cache.put("q", 1, 8)
    now[0] = 4.9
    assert cache.get("q") == 1
    now[0] = 5.1
    assert cache.get("q") is MISS and cache.stats().entries == 0


def test_caches_can_be_sized_or_turned_off():
    assert query_cache(CacheSettings(_env_file=None, query_cache_enabled=False)) is None
    assert query_cache(CacheSettings(_env_file=None, query_cache_entries=0)) is None
    sized = query_cache(CacheSettings(_env_file=None, query_cache_entries=7, query_cache_mb=1))
    assert (sized.max_entries, sized.max_bytes) == (7, 2**20)


async def test_a_repeated_query_is_not_encoded_again(embedding_module):
    text = "a lighthouse keeper befriends a ghost (cache test)"
    before = embedding_module.query_encoder_calls
    first = await embedding_module.aembed_query(text)
    again = await embedding_module.aembed_query(f"  {text}\n")  # same words, other whitespace
    assert embedding_module.query_encoder_calls == before + 1
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, embedding_module.embed_queries([text])[0], atol=1e-5)
    with pytest.raises(ValueError):  # shared by every caller: read-only
        first[0] = 0.0


async def test_a_repeated_search_is_served_from_the_page_cache(edge_runtime):
    async def loader():
        return edge_runtime

    stats = edge_runtime.engine.page_cache.lru.stats
    args = {
        "query": "pirates looking for a legendary treasure",
        "limit": 5,
        "filters": {"year_min": 1990, "genres": ["Action"]},
    }
    async with Client(build_server(AppState(loader=loader))) as client:
        first = await client.call_tool("search_anime", args)
        hits_before = stats().hits
        second = await client.call_tool("search_anime", args)
        other = await client.call_tool("search_anime", {**args, "limit": 6})
    assert not first.is_error and first.structured_content["results"]
    assert second.structured_content == first.structured_content
    assert stats().hits == hits_before + 1  # the repeat hit; the other page size did not
    assert len(other.structured_content["results"]) == 6


async def test_a_cached_page_equals_the_computed_one(edge_runtime):
    """Pages are kept as JSON: what a hit parses back must be the very page the engine computed."""
    engine = edge_runtime.engine
    calls = [
        ("search_text", ("a cursed sword and a wandering samurai",), {"limit": 7, "explain": True}),
        ("find_similar", ("mal-1",), {"limit": 5}),
        ("recommend", (["mal-1", "mal-5"],), {"limit": 5}),
        ("browse", (), {"sort_by": "year", "limit": 4, "facets": ["genres"]}),
        ("get_entry", ("mal-1",), {}),
    ]
    for name, args, kwargs in calls:
        computed = await getattr(engine, name)(*args, **kwargs)
        cached = await getattr(engine, name)(*args, **kwargs)
        assert cached == computed and cached is not computed, name
        if hasattr(cached, "results"):
            assert cached.results, name


class _Store:
    """A store stand-in whose one write changes what a read returns, with a pause inside both."""

    backend = "fake"

    def __init__(self):
        self.title = "old"

    async def set_payload(self, point_id, payload):
        await anyio.sleep(0.002)
        self.title = payload["title"]
        await anyio.sleep(0.002)

    async def read(self):
        seen = self.title
        await anyio.sleep(0.003)  # a write may land while this read is in flight
        return seen


class _Engine:
    def __init__(self, store):
        from index.search.results import SearchPage

        self.store, self.page_cache, self._page = store, PageCache(store), SearchPage

    @cached_page
    async def search_text(self, query: str, limit: int = 10):
        return self._page(results=[], offset=0, limit=limit, method=await self.store.read())


async def test_a_page_computed_before_a_write_is_never_served_after_it():
    store = _Store()
    engine = _Engine(store)
    assert (await engine.search_text("q")).method == "old"
    for i in range(30):  # writes racing with repeated reads of the same page
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.search_text, "q")
            tg.start_soon(store.set_payload, "p", {"title": f"new {i}"})
            tg.start_soon(engine.search_text, "q")
        assert (await engine.search_text("q")).method == f"new {i}"
    assert engine.page_cache.lru.stats().hits > 0  # the cache was used between the writes
    engine.page_cache.invalidate()  # what SearchEngine.invalidate_caches does
    assert engine.page_cache.lru.stats().entries == 0


async def test_indexing_through_the_runtime_invalidates_cached_pages(tmp_path, embedding_module, index_entries):
    """End to end on a real embedded index: a title changed by re-indexing shows up in the next
    identical search_anime call, never the cached page from before."""
    from index.ingest import Ingestor
    from index.runtime import open_runtime
    from index.settings import ImageFetchSettings, StorageSettings
    from index.storage.factory import open_store

    entries = [e.model_copy(deep=True) for e in index_entries[:20]]
    runtime = await open_runtime(
        embedder=embedding_module,
        warmup=False,
        store=open_store(StorageSettings(_env_file=None, data_dir=tmp_path / "index")),
        fetch=ImageFetchSettings(_env_file=None, image_cache_dir=tmp_path / "images"),
    )
    ingest = Ingestor(runtime.store, embedding_module, runtime.fetcher, fetch_images=False).ingest_entries

    async def loader():
        return runtime

    try:
        assert not (await ingest(entries)).failed
        target = entries[3]
        args = {"query": target.title, "limit": 3}
        async with Client(build_server(AppState(loader=loader))) as client:
            before = (await client.call_tool("search_anime", args)).structured_content["results"]
            assert before and before[0]["id"] == target.id
            assert (await client.call_tool("search_anime", args)).structured_content["results"] == before
            renamed = target.model_copy(update={"title": "Zyxwvut Renamed Quasar"})
            assert not (await ingest([renamed])).failed
            after = (await client.call_tool("search_anime", args)).structured_content["results"]
            by_id = {hit["id"]: hit["title"] for hit in after}
            assert by_id.get(target.id) in (None, "Zyxwvut Renamed Quasar")
            assert by_id.get(target.id) != target.title
            got = await client.call_tool("get_anime", {"anime": target.id})
            assert got.structured_content["title"] == "Zyxwvut Renamed Quasar"
    finally:
        await runtime.close()


def test_tracking_writes_is_idempotent():
    store = _Store()
    track_writes(store)
    patched = store.set_payload
    track_writes(store)
    assert store.set_payload is patched and store.write_version == 0
