"""Results an assistant can use at once (issue 20), through the MCP client on the 1,822 + 28 shared entries: each
hit's text line names the entry as people know it (English title with the original), its type, season and year,
episodes, score and id, with one short synopsis line; ten hits fit in about 1,500 characters; the structured
content keeps every field. Also: enrich_anime's progress notifications increase."""

from __future__ import annotations

import statistics

import pytest
from mcp import Client

from server.app import build_server
from server.state import AppState
from tests.index_fixtures import build_runtime

pytestmark = pytest.mark.anyio

# A spread of requests (titles, ideas, facts, a browse): the text budget holds for results as they come.
QUERIES = [
    "space bounty hunters",
    "a boy pilots a giant robot",
    "best 90s mecha",
    "romantic comedy in high school",
    "Ghibli films",
    "psychological thriller",
    "Evangelion",
    "sports anime about volleyball",
]


async def test_hit_line_names_the_entry_as_people_know_it(client):
    result = await client.call_tool("search_anime", {"query": "Sen to Chihiro no Kamikakushi", "limit": 3})
    assert not result.is_error, result.content
    first, synopsis = result.content[0].text.split("\n")[1:3]  # line 0: how the query was read
    assert first.startswith("1. Spirited Away (Sen to Chihiro no Kamikakushi)"), first
    assert "· Movie, 2001 ·" in first and "[id mal-199]" in first
    assert any(ch.isdigit() for ch in first.split("·")[-1])  # the score
    assert synopsis.startswith("  ") and 20 < len(synopsis.strip()) <= 70 and synopsis.endswith("…")

    tv = await client.call_tool("search_anime", {"query": "Cowboy Bebop", "limit": 5})
    (line,) = [line for line in tv.content[0].text.splitlines() if "[id mal-1]" in line]
    assert ". Cowboy Bebop · TV, Spring 1998, 26 eps · " in line, line  # one title when both are the same


async def test_structured_hit_keeps_every_field(client):
    result = await client.call_tool("search_anime", {"query": "Spirited Away", "limit": 1})
    hit = result.structured_content["results"][0]
    assert hit["id"] == "mal-199" and hit["title"] == "Sen to Chihiro no Kamikakushi"
    assert hit["title_english"] == "Spirited Away" and hit["type"] == "MOVIE" and hit["year"] == 2001
    assert hit["episodes"] == 1 and hit["score"] and hit["genres"] and hit["studios"] and hit["image_url"]
    assert len(hit["synopsis"]) > 100  # the structured synopsis is longer than the text line's


async def test_ten_hits_fit_in_about_1500_characters(client):
    sizes = []
    for query in QUERIES:
        result = await client.call_tool("search_anime", {"query": query, "limit": 10})
        assert len(result.structured_content["results"]) == 10, query
        lines = result.content[0].text.splitlines()
        hits = [line for line in lines if line[:1].isdigit()]
        assert len(hits) == 10 and all(line.startswith("  ") for line in lines[lines.index(hits[0]) + 1 :: 2])
        sizes.append(sum(len(line) + 1 for line in lines[lines.index(hits[0]) :]))
    browse = await client.call_tool("browse_anime", {"limit": 10})
    sizes.append(len(browse.content[0].text))
    assert statistics.mean(sizes) <= 1500 and max(sizes) <= 1700, sizes


@pytest.fixture
async def enriching_client(tmp_path, sources, remembering_embedder, index_entries):
    entries = [e for e in index_entries if e.id == "mal-1"] + index_entries[:40]
    runtime = await build_runtime("edge", tmp_path / "index", remembering_embedder, entries)

    async def loader():
        return runtime

    settings = sources.settings(tmp_path / "cache")
    async with Client(build_server(AppState(loader=loader), enrichment=settings)) as client:
        yield client
    await runtime.close()


async def test_enrich_progress_increases(enriching_client, sources):
    """Sources answer at different times; each notification's progress is above the one before, the last is
    the total (the spec: progress MUST increase; every one used to be 0 of 3)."""
    sources.fail("kitsu", "slow", delay=0.6)
    sources.fail("anilist", "slow", delay=1.2)
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress, total, message):
        seen.append((progress, total))

    result = await enriching_client.call_tool(
        "enrich_anime",
        {"anime": "mal-1", "sources": ["jikan", "anilist", "kitsu"], "wait_seconds": 60},
        progress_callback=on_progress,
    )
    assert result.structured_content["state"] == "done", result.structured_content
    steps = [p for p, _ in seen]
    assert len(steps) >= 2 and all(b > a for a, b in zip(steps, steps[1:], strict=False)), seen
    assert seen[-1] == (3, 3), seen
