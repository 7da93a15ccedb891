"""Both eras of the protocol through the SDK's client: 2025-11-25 (initialize, sessions) and
2026-07-28 (stateless, no initialize, one request per POST), in process, over streamable HTTP and
over stdio; plus the legacy SSE transport. Each era calls a tool that reports progress, and a
cancelled search stops its work (its store query is cancelled, not left running)."""

from __future__ import annotations

import base64
import io
import sys
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import Client, StdioServerParameters

from server.app import build_server
from server.state import AppState
from tests.index_fixtures import build_runtime
from tests.served import ROOT, cli_env, free_port

pytestmark = pytest.mark.anyio

ERAS = {"legacy": "2025-11-25", "2026-07-28": "2026-07-28"}


class SlowStore:
    """The real store, except that a search query waits until cancelled (and says it was)."""

    def __init__(self, inner):
        self._inner = inner
        self.started = anyio.Event()
        self.cancelled = anyio.Event()

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def query(self, request):
        self.started.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            self.cancelled.set()
            raise


@pytest.fixture
def slow_state(edge_runtime):
    """Server state whose searches hang in the store until cancelled; everything else is real."""
    from index.runtime import IndexRuntime
    from index.search.engine import SearchEngine

    store = SlowStore(edge_runtime.store)
    runtime = IndexRuntime(
        embedder=edge_runtime.embedder,
        store=store,
        fetcher=edge_runtime.fetcher,
        engine=SearchEngine(store, edge_runtime.embedder, image_fetcher=edge_runtime.fetcher),
    )

    async def loader():
        return runtime

    return AppState(loader=loader), store


@pytest.fixture
def state(edge_runtime):
    async def loader():
        return edge_runtime

    return AppState(loader=loader)


def png() -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (220, 120, 20)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


async def search_with_progress(client) -> list[tuple[float, float | None, str | None]]:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress, total, message):
        seen.append((progress, total, message))

    result = await client.call_tool(
        "search_anime_by_image", {"image": png(), "limit": 3}, progress_callback=on_progress
    )
    assert not result.is_error, result.content
    assert "results" in result.structured_content  # empty here: the shared test indexes hold no picture vectors
    return seen


async def cancelled_search_stops(client, store: SlowStore) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.call_tool, "search_anime", {"query": "space bounty hunters"})
        with anyio.fail_after(60):
            await store.started.wait()
        tg.cancel_scope.cancel()
    with anyio.fail_after(15):
        await store.cancelled.wait()  # the server stopped the search, not just the client waiting for it
    stats = await client.call_tool("anime_database_stats", {})  # and the connection still serves calls
    assert not stats.is_error and stats.structured_content["entries"] > 1800


# ----- in process ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ERAS)
async def test_in_process_eras_progress(state, mode):
    async with Client(build_server(state), mode=mode) as client:
        assert client.protocol_version == ERAS[mode]
        seen = await search_with_progress(client)
    assert [p for p, _, _ in seen] == [0, 2] and seen[-1][1] == 2


@pytest.mark.parametrize("mode", ERAS)
async def test_in_process_eras_cancel(slow_state, mode):
    state, store = slow_state
    async with Client(build_server(state), mode=mode) as client:
        await cancelled_search_stops(client, store)


# ----- streamable HTTP (and legacy SSE), the real app on a loopback port ---------------------------
@asynccontextmanager
async def serving(state: AppState, transport: str = "http"):
    import uvicorn

    from server.settings import ServerSettings
    from server.transports import http_app

    port = free_port()
    settings = ServerSettings(_env_file=None, transport=transport, port=port, rate_limit_per_minute=0)
    app = http_app(build_server(state), state, settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
        )
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(30):
            while not server.started:
                await anyio.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@pytest.mark.parametrize("mode", ERAS)
async def test_streamable_http_eras_progress(state, mode):
    async with serving(state) as base, Client(f"{base}/mcp", mode=mode) as client:
        assert client.protocol_version == ERAS[mode]
        seen = await search_with_progress(client)
    assert [p for p, _, _ in seen] == [0, 2]


async def test_streamable_http_auto_picks_the_stateless_era(state):
    async with serving(state) as base, Client(f"{base}/mcp") as client:
        assert client.protocol_version == "2026-07-28"
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "search_anime" in tools


@pytest.mark.parametrize("mode", ERAS)
async def test_streamable_http_eras_cancel(slow_state, mode):
    state, store = slow_state
    async with serving(state) as base, Client(f"{base}/mcp", mode=mode) as client:
        await cancelled_search_stops(client, store)


async def test_legacy_sse_transport_still_serves_old_clients(state):
    from mcp.client.sse import sse_client

    async with serving(state, transport="sse") as base, Client(sse_client(f"{base}/sse"), mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        result = await client.call_tool("search_anime", {"query": "space bounty hunters", "limit": 3})
        assert not result.is_error and result.structured_content["results"]


# ----- stdio: the real command as a subprocess -------------------------------------------------------
@pytest.fixture(scope="module")
async def stdio_env(tmp_path_factory, remembering_embedder, index_entries, tiny_clip, text_model_path):
    """A small index (the session's vectors, so no model time) and the env that serves it."""
    path = tmp_path_factory.mktemp("stdio-eras")
    runtime = await build_runtime("edge", path, remembering_embedder, index_entries[:40])
    await runtime.close()
    return cli_env(path, tiny_clip, ANIME_MCP_TEXT_MODEL=str(text_model_path), ANIME_MCP_LOG_LEVEL="WARNING")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ERAS)
async def test_stdio_eras_progress(stdio_env, mode):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "server.cli", "serve"], env=stdio_env, cwd=str(ROOT)
    )
    async with Client(params, mode=mode) as client:
        assert client.protocol_version == ERAS[mode]
        seen = await search_with_progress(client)
    assert [p for p, _, _ in seen] == [0, 2]


# ----- what a client shows: icons, the entry template ---------------------------------------------------
@pytest.mark.parametrize("mode,version", [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_icons_and_resource_template_in_both_eras(mode, version):
    from server.icons import ICONS

    async def no_index():  # listing needs no index
        raise RuntimeError("not needed")

    async with Client(build_server(AppState(loader=no_index)), mode=mode) as client:
        assert client.protocol_version == version
        # 2025-11-25: serverInfo of initialize; 2026-07-28: the serverInfo stamp (server/discover, every reply)
        assert client.server_info is not None and client.server_info.icons == ICONS
        tools = (await client.list_tools()).tools
        prompts = (await client.list_prompts()).prompts
        assert tools and prompts and not any(item.icons for item in [*tools, *prompts])  # once, on serverInfo
        templates = {t.uri_template: t for t in (await client.list_resource_templates()).resource_templates}
        entry = templates["anime://{anime_id}"]
        assert entry.mime_type == "application/json" and "anime://mal-1" in entry.description
        assert not entry.icons
    src = ICONS[0].src
    assert src.startswith("data:image/png;base64,") and len(src) < 400  # no fetch, stamped on every 2026 reply
