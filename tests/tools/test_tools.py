"""Every tool through the MCP protocol (in-process client): inputs, structured output, errors.

The tool list with its input and output schemas is snapshotted in tests/snapshots/tools.json:
an interface change must be deliberate (re-run with UPDATE_SNAPSHOTS=1 and review the diff).
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from mcp import Client

from server.app import build_server
from server.state import AppState

pytestmark = pytest.mark.anyio
SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "tools.json"


def text_of(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def call(client, name, args):
    result = await client.call_tool(name, args)
    return result


async def test_tool_list_matches_snapshot():
    from enrichment.settings import EnrichmentSettings

    async def no_index():  # listing tools must not need the index (or wait for the models)
        raise RuntimeError("not needed")

    state = AppState(loader=no_index)
    state.runtime = SimpleNamespace(embedder=SimpleNamespace(image_status="ready"))  # every tool listed
    server = build_server(state, enrichment=EnrichmentSettings(_env_file=None))
    async with Client(server) as lister:
        tools = (await lister.list_tools()).tools
    current = {
        t.name: {
            "title": t.title,
            "description": t.description,
            "input_schema": t.input_schema,
            "output_schema": t.output_schema,
            "annotations": t.annotations.model_dump(exclude_none=True) if t.annotations else None,
        }
        for t in sorted(tools, key=lambda t: t.name)
    }
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), f"{SNAPSHOT} is missing: create it with UPDATE_SNAPSHOTS=1 and review it"
    assert current == json.loads(SNAPSHOT.read_text()), "tool interface changed: review, then UPDATE_SNAPSHOTS=1"
    assert {
        "search_anime",
        "search_anime_by_image",
        "search_anime_multimodal",
        "find_similar_anime",
        "recommend_anime",
        "get_anime",
        "browse_anime",
        "anime_database_stats",
    } <= set(current)
    for name, tool in current.items():
        assert tool["annotations"]["read_only_hint"] is True or name == "enrich_anime"


async def test_search_anime_structured_and_text(client):
    result = await call(
        client,
        "search_anime",
        {"query": "a student finds a notebook that kills anyone whose name is written in it", "limit": 3},
    )
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert [r["id"] for r in data["results"]][:3].count("mal-1535") == 1
    assert "Death Note" in text_of(result) and "[id mal-1535]" in text_of(result)


async def test_search_with_filters_and_explain(client):
    result = await call(
        client,
        "search_anime",
        {
            "query": "mecha war",
            "filters": {"types": ["TV"], "year_min": 2000, "genres": ["sci-fi"]},
            "limit": 5,
            "explain": True,
        },
    )
    assert not result.is_error, text_of(result)
    assert result.structured_content["results"], "a loop over no results would assert nothing"
    for hit in result.structured_content["results"]:
        assert hit["type"] == "TV" and hit["year"] >= 2000 and "Sci-Fi" in hit["genres"]
        assert hit["vector_scores"]


@pytest.mark.parametrize(
    "args,needle",
    [
        ({"query": "robots", "filters": {"year_min": 2010, "year_max": 2000}}, "year_min"),
        ({"query": "robots", "filters": {"genres": ["Sci Fi"]}}, "Did you mean"),
        ({"query": "robots", "limit": 0}, "limit"),
        ({"query": ""}, "query"),
        ({"query": "robots", "aspects": ["smell"]}, "aspects"),
        ({"query": "robots", "filters": {"unknown_key": 1}}, "unknown_key"),
    ],
)
async def test_bad_input_is_a_tool_error_the_assistant_can_act_on(client, args, needle):
    result = await call(client, "search_anime", args)
    assert result.is_error
    assert needle in text_of(result)
    assert "Traceback" not in text_of(result) and "/work" not in text_of(result)


async def test_no_results_is_success_with_hint(client):
    result = await call(client, "search_anime", {"query": "robots", "filters": {"year_min": 2090}})
    assert not result.is_error
    assert result.structured_content["results"] == []
    assert "widen" in result.structured_content["hint"]


async def test_find_similar_and_recommend(client):
    result = await call(
        client, "find_similar_anime", {"anime": "Neon Genesis Evangelion", "limit": 5, "include_same_franchise": True}
    )
    assert not result.is_error, text_of(result)
    got = [r["id"] for r in result.structured_content["results"]]
    assert "mal-30" not in got and {"mal-31", "mal-32"} & set(got)
    result = await call(client, "recommend_anime", {"liked": ["mal-1"], "disliked": ["mal-20"], "limit": 5})
    assert not result.is_error
    assert not {"mal-1", "mal-20"} & {r["id"] for r in result.structured_content["results"]}
    missing = await call(client, "find_similar_anime", {"anime": "qqqq zzzz no such anime"})
    assert missing.is_error and "No anime matches" in text_of(missing)


async def test_get_anime_and_resource(client):
    result = await call(client, "get_anime", {"anime": "mal-1"})
    assert not result.is_error
    assert result.structured_content["title"] == "Cowboy Bebop"
    assert "Spike Spiegel" in result.structured_content["synopsis"]
    resource = await client.read_resource("anime://mal-1")
    assert json.loads(resource.contents[0].text)["id"] == "mal-1"
    schema = await client.read_resource("anime://schema")
    doc = json.loads(schema.contents[0].text)
    assert doc["statistics"]["entries"] > 1800 and "story" in doc["aspects"]


async def test_browse_and_stats(client):
    result = await call(
        client, "browse_anime", {"filters": {"genres": ["Sports"]}, "sort_by": "score", "limit": 5, "facets": ["type"]}
    )
    assert not result.is_error, text_of(result)
    scores = [r["score"] for r in result.structured_content["results"]]
    assert scores == sorted(scores, reverse=True)
    assert result.structured_content["facets"]["type"]
    stats = await call(client, "anime_database_stats", {})
    assert stats.structured_content["entries"] > 1800


async def test_image_tools_explain_when_images_unavailable_or_bad(client, edge_runtime):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buf, format="PNG")
    good = base64.b64encode(buf.getvalue()).decode()
    result = await call(client, "search_anime_by_image", {"image": good, "limit": 3})
    if edge_runtime.embedder.image_available:
        assert not result.is_error, text_of(result)
    else:
        assert result.is_error and "ANIME_MCP_IMAGE" in text_of(result)
    bad = await call(client, "search_anime_by_image", {"image": base64.b64encode(b"not an image").decode()})
    assert bad.is_error and "image" in text_of(bad).lower()


async def test_prompts_are_listed(client):
    prompts = {p.name for p in (await client.list_prompts()).prompts}
    assert {"like_x_but_y", "identify_anime"} <= prompts
