"""Enriching Cowboy Bebop end to end against the loopback fake of all five APIs."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import pytest

from enrichment.pipeline import Enricher, enrich_entry, enrich_many
from enrichment.sources._common import name_key
from index.schema import AnimeEntry
from tests.recorded_answers import load_fixture

pytestmark = pytest.mark.anyio

MAL_ONLY = AnimeEntry(id="mal-1", title="Cowboy Bebop", sources=["https://myanimelist.net/anime/1"], genres=["Action"])


async def test_full_enrichment_follows_every_pagination(sources, tmp_path):
    progress = []
    result = await enrich_entry(
        MAL_ONLY,
        None,
        lambda o, done, total: progress.append((o.source, done, total)),
        settings=sources.settings(tmp_path, jikan_episode_details_max=30),
    )
    assert {n: o.status for n, o in result.outcomes.items()} == {
        "jikan": "ok",
        "anilist": "ok",
        "kitsu": "ok",
        "anidb": "ok",
        "animeschedule": "ok",
    }
    entry = result.entry
    assert entry.synopsis.startswith("Crime is timeless.") and entry.episodes == 26
    assert len(entry.episode_details) == 26 and all(e.synopsis for e in entry.episode_details)
    spike = next(c for c in entry.characters if c.name == "Spike Spiegel")
    assert name_key("Yamadera, Kouichi") in {name_key(v.name) for v in spike.voice_actors}
    assert [m.name for m in entry.staff_data.production_staff["directors"]] == ["Shinichirou Watanabe"]
    assert entry.studios == ["Sunrise"]
    assert {"synopsis", "characters", "episode_details", "statistics", "staff_data"} <= set(result.changed_fields)
    assert "genres" in result.changed_fields and "title" not in result.changed_fields

    # pagination was followed to the end, page by page
    jikan_pages = sorted(r.query for r in sources.requests("jikan", "/episodes") if r.path.endswith("/episodes"))
    assert jikan_pages == ["page=1", "page=2", "page=3"]  # 26 episodes, 10 a page
    edges = load_fixture("anilist_media_1.json")
    expected_posts = max(math.ceil(len(edges[k]["edges"]) / 25) for k in ("characters", "staff"))
    assert len(sources.requests("anilist")) == expected_posts  # 306 staff edges, 25 a page
    assert len(entry.staff_data.production_staff["key_animators"]) > 25  # later pages were merged in
    for what in ("episodes", "categories", "characters"):
        assert len(sources.requests("kitsu", f"/anime/1/{what}")) == 3  # 10 items, 4 a page
    assert len(sources.requests("anidb")) == 1  # its id came from Jikan's links
    assert progress[-1][1:] == (5, 5) and {p[0] for p in progress} == set(result.outcomes)
    meta = entry.enrichment_metadata
    assert meta.sources_used == ["jikan", "anilist", "kitsu", "anidb", "animeschedule"] and meta.failures == {}


async def test_warm_cache_needs_no_requests(sources, tmp_path):
    # what a warm cache saves is requests (counted here); how much time that saves is a benchmark's question
    settings = sources.settings(tmp_path)
    cold = await enrich_entry(MAL_ONLY, settings=settings)
    assert sources.requests()
    sources.reset_log()
    warm = await enrich_entry(MAL_ONLY, settings=settings)
    assert sources.requests() == []
    assert warm.outcomes and all(o.from_cache and o.requests == 0 for o in warm.outcomes.values())
    drop = {"enrichment_metadata"}
    assert warm.entry.model_dump(exclude=drop) == cold.entry.model_dump(exclude=drop)


async def test_stale_cache_fills_in_for_a_dead_source(sources, tmp_path):
    await enrich_entry(MAL_ONLY, ["jikan"], settings=sources.settings(tmp_path))
    sources.fail("jikan", "500")
    result = await enrich_entry(MAL_ONLY, ["jikan"], settings=sources.settings(tmp_path, cache_ttl_seconds=0))
    assert result.outcomes["jikan"].status == "stale"
    assert result.entry.synopsis.startswith("Crime is timeless.")


async def test_a_failed_source_never_loses_the_others(sources, tmp_path):
    sources.fail("anilist", "500")
    result = await enrich_entry(MAL_ONLY, settings=sources.settings(tmp_path))
    anilist = result.outcomes["anilist"]
    assert anilist.status == "failed" and "HTTP 500" in anilist.detail and anilist.requests == 3
    assert all(o.status == "ok" for n, o in result.outcomes.items() if n != "anilist")
    entry = result.entry
    assert entry.synopsis.startswith("Crime is timeless.") and len(entry.characters) > 100
    assert "anilist" not in entry.statistics and "kitsu" in entry.statistics
    assert entry.enrichment_metadata.failures["anilist"].startswith("failed: HTTP 500")


async def test_a_failed_secondary_request_keeps_the_main_answer(sources, tmp_path):
    sources.fail("jikan", "500", path="/characters")
    result = await enrich_entry(MAL_ONLY, ["jikan"], settings=sources.settings(tmp_path))
    assert result.outcomes["jikan"].status == "partial" and "characters" in result.outcomes["jikan"].detail
    assert result.entry.synopsis and len(result.entry.episode_details) == 26 and not result.entry.characters


async def test_slow_source_times_out_without_holding_up_the_rest(sources, tmp_path):
    sources.fail("kitsu", "slow", delay=2.0)
    settings = sources.settings(tmp_path, source_timeouts={"kitsu": 0.2}, max_retries=1)
    started = time.monotonic()
    result = await enrich_entry(MAL_ONLY, settings=settings)
    assert time.monotonic() - started < 1.8
    assert result.outcomes["kitsu"].status == "failed" and "timed out" in result.outcomes["kitsu"].detail
    assert result.outcomes["jikan"].status == "ok"


async def test_malformed_answer_fails_that_source_only(sources, tmp_path):
    sources.fail("animeschedule", "malformed")
    result = await enrich_entry(MAL_ONLY, ["animeschedule", "jikan"], settings=sources.settings(tmp_path))
    assert result.outcomes["animeschedule"].status == "failed"
    assert "malformed JSON" in result.outcomes["animeschedule"].detail
    assert result.outcomes["jikan"].status == "ok"


async def test_open_circuit_short_circuits_later_entries(sources, tmp_path):
    sources.fail("jikan", "500")
    settings = sources.settings(tmp_path, circuit_failure_threshold=2, max_retries=1)
    entries = [MAL_ONLY.model_copy(update={"id": f"mal-{i}"}) for i in range(3)]
    async with Enricher(settings) as enricher:
        results = [r async for r in enricher.enrich_many(entries, ["jikan"], concurrency=1)]
    assert len(sources.requests("jikan")) == 2
    details = [r.outcomes["jikan"].detail for r in results]
    assert "gave up after 2 attempts" in details[0]
    assert all("circuit open after 2 consecutive failures" in d for d in details[1:])
    assert all(r.entry.title == "Cowboy Bebop" for r in results)


async def test_kitsu_slug_and_animeschedule_route_from_sources(sources, tmp_path):
    entry = AnimeEntry(
        id="x",
        title="Cowboy Bebop",
        sources=["https://kitsu.io/anime/cowboy-bebop", "https://animeschedule.net/anime/cowboy-bebop"],
    )
    result = await enrich_entry(entry, ["kitsu", "animeschedule"], settings=sources.settings(tmp_path))
    assert result.outcomes["kitsu"].status == "ok" and result.outcomes["animeschedule"].status == "ok"
    assert any(
        "filter%5Bslug%5D=cowboy-bebop" in r.query or "filter[slug]" in r.query
        for r in sources.requests("kitsu", "/anime")
    )
    assert sources.requests("animeschedule")[0].path.endswith("/anime/cowboy-bebop")


async def test_unknown_anime_reports_not_found_and_keeps_the_entry(sources, tmp_path):
    entry = AnimeEntry(id="mal-999", title="Nothing Like It", sources=["https://myanimelist.net/anime/999"])
    result = await enrich_entry(entry, ["jikan", "animeschedule", "anidb"], settings=sources.settings(tmp_path))
    assert result.outcomes["jikan"].status == "not_found"
    assert result.outcomes["animeschedule"].status == "not_found"
    assert result.outcomes["anidb"].status == "skipped" and "AniDB id" in result.outcomes["anidb"].detail
    assert result.entry.title == "Nothing Like It" and result.changed_fields == []


async def test_anidb_is_skipped_without_a_client_name(sources, tmp_path):
    entry = AnimeEntry(title="Cowboy Bebop", sources=["https://anidb.net/anime/23"])
    result = await enrich_entry(entry, ["anidb"], settings=sources.settings(tmp_path, anidb_client_name=""))
    assert (
        result.outcomes["anidb"].status == "skipped"
        and "ANIME_MCP_ANIDB_CLIENT_NAME" in result.outcomes["anidb"].detail
    )
    assert sources.requests("anidb") == []


async def test_unknown_source_name_is_refused(sources, tmp_path):
    with pytest.raises(ValueError, match="unknown enrichment source 'myanimelist'"):
        await enrich_entry(MAL_ONLY, ["myanimelist"], settings=sources.settings(tmp_path))


async def test_enrich_many_skips_recent_entries_and_runs_the_rest(sources, tmp_path):
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = AnimeEntry.model_validate(
        {**MAL_ONLY.model_dump(), "id": "mal-recent", "enrichment_metadata": {"enriched_at": now}}
    )
    old = AnimeEntry.model_validate(
        {**MAL_ONLY.model_dump(), "id": "mal-old", "enrichment_metadata": {"enriched_at": "2020-01-01T00:00:00Z"}}
    )
    results = [
        r
        async for r in enrich_many(
            [recent, old, MAL_ONLY],
            ["animeschedule"],
            concurrency=2,
            skip_recent_days=7,
            settings=sources.settings(tmp_path),
        )
    ]
    by_id = {r.entry.id: r for r in results}
    assert by_id["mal-recent"].skipped and by_id["mal-recent"].outcomes == {}
    assert not by_id["mal-old"].skipped and by_id["mal-old"].outcomes["animeschedule"].status == "ok"
    assert len(results) == 3
