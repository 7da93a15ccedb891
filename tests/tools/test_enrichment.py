"""Enrichment end to end through the MCP tools: Cowboy Bebop enriched from the recorded
responses (served by the loopback fake sources), re-indexed in place, then found by its
characters and its staff among the 1,822 shared entries."""

from __future__ import annotations

import pytest
from mcp import Client

from index.identity import point_id
from server.app import build_server
from server.state import AppState
from tests.index_fixtures import build_runtime

pytestmark = pytest.mark.anyio


@pytest.fixture
async def enriching_client(tmp_path, fake, remembering_embedder, index_entries):
    runtime = await build_runtime("edge", tmp_path / "index", remembering_embedder, index_entries)

    async def loader():
        return runtime

    state = AppState(loader=loader)
    settings = fake.settings(tmp_path / "cache", jikan_episode_details_max=30)
    async with Client(build_server(state, enrichment=settings)) as client:
        yield client, runtime
    await runtime.close()


async def test_enrich_through_the_tool_then_find_by_characters_and_staff(enriching_client):
    client, runtime = enriching_client
    pid = point_id("mal-1")
    old = (await runtime.store.retrieve([pid], with_vectors=True))[0]
    before, before_hashes = old.vector, old.payload["text_hashes"]
    assert "character_vector" not in before and "episode_vector" not in before

    started = await client.call_tool("enrich_anime", {"anime": "Cowboy Bebop"})
    assert not started.is_error, started.content
    job_id = started.structured_content["job_id"]
    waited = await client.call_tool("enrich_anime", {"anime": "mal-1", "wait_seconds": 60})
    assert waited.structured_content["state"] == "done", waited.structured_content
    status = await client.call_tool("enrichment_status", {"job_id": job_id})
    assert status.structured_content["state"] in ("running", "done")
    report = waited.structured_content
    assert {"characters", "episode_details", "staff_data"} <= set(report["changed_fields"])
    assert report["outcomes"]["jikan"]["status"] == "ok"

    new = (await runtime.store.retrieve([pid], with_vectors=True))[0]
    after, after_hashes = new.vector, new.payload["text_hashes"]
    for name in ("character_vector", "staff_vector", "episode_vector"):
        assert after.get(name) is not None, name
    for name, digest in before_hashes.items():  # a vector whose text did not change is not re-embedded
        if after_hashes.get(name) == digest and name in before:
            assert after[name] == before[name], name

    chars = await client.call_tool(
        "search_anime", {"query": "Vicious and Julia", "aspects": ["characters"], "limit": 3}
    )
    assert chars.structured_content["results"][0]["id"] == "mal-1", chars.structured_content
    entry = await client.call_tool("get_anime", {"anime": "mal-1"})
    assert len(entry.structured_content["episode_details"]) == 26

    staff = await client.call_tool(
        "search_anime",
        {"query": "directed by Shinichirou Watanabe, music by Yoko Kanno", "aspects": ["staff"], "limit": 3},
    )
    assert staff.structured_content["results"][0]["id"] == "mal-1", staff.structured_content
