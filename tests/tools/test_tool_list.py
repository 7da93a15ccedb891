"""What a client learns before the user says anything, and the protocol details clients found (issue 20): the tool
list within its size budget in both eras, light schemas that structured results still validate against, the icon
once, image tools listed only when image search can run (and `tools/list_changed` when it becomes able to), the
unknown prompt as JSON-RPC -32602, and argument errors as one readable line. No index needed."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from bench.tool_list_size import MODEL_BUDGET, TOTAL_BUDGET, compact, model_facing
from server.app import build_server
from server.icons import ICONS
from server.state import AppState

pytestmark = pytest.mark.anyio
ERAS = {"legacy": "2025-11-25", "auto": "2026-07-28"}
IMAGE_TOOLS = {"search_anime_by_image", "search_anime_multimodal"}


async def no_index():
    raise RuntimeError("listing needs no index")


def keywords(schema) -> set[str]:
    """Every keyword used in a JSON schema (property names are not keywords)."""
    if isinstance(schema, list):
        return set().union(*(keywords(s) for s in schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key, value in schema.items():
        if key == "properties":
            found |= set().union(*(keywords(s) for s in value.values())) if value else set()
        elif key not in ("enum", "const", "default", "required", "description"):
            found |= keywords(value)
    return found


def state_with_images(status: str = "ready") -> AppState:
    """Server state as the listing sees it once an index is loaded whose image model is in ``status``."""
    state = AppState(loader=no_index)
    state.runtime = SimpleNamespace(embedder=SimpleNamespace(image_status=status))  # type: ignore[assignment]
    return state


@pytest.mark.parametrize("mode", ERAS)
async def test_tool_list_within_budget_in_both_eras(mode):
    from enrichment.settings import EnrichmentSettings

    server = build_server(state_with_images(), enrichment=EnrichmentSettings(_env_file=None))
    async with Client(server, mode=mode) as client:
        assert client.protocol_version == ERAS[mode]
        listed = await client.list_tools()
    wire = listed.model_dump(mode="json", by_alias=True, exclude_none=True)
    tools = wire["tools"]
    assert IMAGE_TOOLS <= {t["name"] for t in tools}  # the largest list: every tool, enrichment included
    assert compact(wire) <= TOTAL_BUDGET, compact(wire)
    assert compact([model_facing(t) for t in tools]) <= MODEL_BUDGET
    for tool in tools:
        assert "icons" not in tool, tool["name"]  # the icon is on the server's implementation info, once
        assert "\n    " not in (tool.get("description") or ""), tool["name"]  # no docstring indentation
        assert not keywords(tool["inputSchema"]) & {"$defs", "$ref", "title"}, tool["name"]
        output = tool.get("outputSchema")
        assert output is None or output["type"] == "object", tool["name"]


async def test_filters_are_described_once_and_their_arguments_say_what_they_take():
    async with Client(build_server(state_with_images())) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    full = [name for name, t in tools.items() if "properties" in t.input_schema["properties"].get("filters", {})]
    assert sorted(full) == ["browse_anime", "search_anime"]
    fields = tools["search_anime"].input_schema["properties"]["filters"]["properties"]
    assert "Slice of Life" in fields["genres"]["description"]
    assert fields["episodes_min"]["description"] and fields["episodes_max"]["description"]
    assert "search_anime" in tools["find_similar_anime"].input_schema["properties"]["filters"]["description"]


async def test_structured_results_validate_against_the_listed_output_schemas(client):
    """A client that validates structuredContent against outputSchema accepts every result."""
    import jsonschema

    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name, args in [
        ("search_anime", {"query": "space cowboys", "limit": 3}),
        ("browse_anime", {"limit": 2, "facets": ["genres"]}),
        ("get_anime", {"anime": "mal-1"}),
        ("anime_database_stats", {}),
    ]:
        result = await client.call_tool(name, args)
        assert not result.is_error, result.content
        jsonschema.validate(result.structured_content, tools[name].output_schema)


async def test_server_icon_is_small_and_on_the_implementation_info():
    async with Client(build_server(state_with_images()), mode="legacy") as client:
        assert client.server_info.icons == ICONS
        prompts = (await client.list_prompts()).prompts
    assert all(not p.icons for p in prompts)
    assert len(ICONS[0].src) < 400


@pytest.mark.parametrize("image_status", [None, "unavailable", "loading"])
async def test_image_tools_not_listed_while_image_search_cannot_run(image_status):
    state = AppState(loader=no_index) if image_status is None else state_with_images(image_status)
    async with Client(build_server(state)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "search_anime" in names and not names & IMAGE_TOOLS


async def test_image_tools_announced_when_image_search_becomes_able(edge_runtime):
    """Listed before the index loaded (no image tools), the client hears tools/list_changed once image search can
    run, and the list it fetches then has them (2025-11-25: on its session, which declared the capability)."""
    from mcp_types import ToolListChangedNotification

    release = anyio.Event()
    changed = anyio.Event()

    async def slow_loader():
        await release.wait()
        return edge_runtime

    async def on_message(message):
        if isinstance(message, ToolListChangedNotification):
            changed.set()

    server = build_server(AppState(loader=slow_loader))
    async with Client(server, mode="legacy", message_handler=on_message) as client:
        assert client.server_capabilities.tools.list_changed is True
        before = {t.name for t in (await client.list_tools()).tools}
        assert not before & IMAGE_TOOLS
        release.set()
        with anyio.fail_after(60):
            await changed.wait()
        after = {t.name for t in (await client.list_tools()).tools}
    assert IMAGE_TOOLS <= after


async def test_image_tools_announced_on_listen_streams(edge_runtime):
    """2026-07-28: the change reaches a `subscriptions/listen` stream that asked for tool list changes."""
    release = anyio.Event()

    async def slow_loader():
        await release.wait()
        return edge_runtime

    async with Client(build_server(AppState(loader=slow_loader)), mode="auto") as client:
        assert client.protocol_version == "2026-07-28"
        assert not {t.name for t in (await client.list_tools()).tools} & IMAGE_TOOLS
        async with client.listen(tools_list_changed=True) as events:
            release.set()
            with anyio.fail_after(60):
                async for _ in events:
                    break
        assert IMAGE_TOOLS <= {t.name for t in (await client.list_tools()).tools}


@pytest.mark.parametrize("mode", ERAS)
async def test_unknown_prompt_is_invalid_params_in_both_eras(mode):
    async with Client(build_server(state_with_images()), mode=mode) as client:
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("no_such_prompt", {})
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("season_picks", {"season": "FALL"})
    assert unknown.value.code == -32602 and "season_picks" in unknown.value.message  # names the prompts there are
    assert missing.value.code == -32602 and "year" in missing.value.message


async def test_prompt_arguments_are_described():
    async with Client(build_server(state_with_images())) as client:
        prompts = (await client.list_prompts()).prompts
    assert prompts and all(a.description for p in prompts for a in p.arguments or [])


@pytest.mark.parametrize("mode", ERAS)
async def test_invalid_arguments_are_one_readable_line(mode):
    async with Client(build_server(state_with_images()), mode=mode) as client:
        bad = await client.call_tool("search_anime", {"query": "mecha", "limit": 500})
        nested = await client.call_tool("browse_anime", {"filters": {"types": ["SERIES"], "genre": ["Drama"]}})
    assert bad.is_error and nested.is_error
    line = bad.content[0].text
    assert "\n" not in line and "pydantic" not in line and "http" not in line
    assert "limit" in line and "50" in line and "500" in line  # the argument, what it accepts, what was sent
    nested_line = nested.content[0].text
    assert "\n" not in nested_line and "filters.types[0]" in nested_line and "'TV'" in nested_line
    assert "filters.genre: not a known field" in nested_line
