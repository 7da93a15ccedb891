"""Server assembly: the MCP server, its lifespan, and the tools it offers. Wiring only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp_types import Icon, ToolAnnotations

from server.icons import ICONS
from server.state import AppState
from server.version import package_version
from tools import catalog, completions, resources, search, similar

INSTRUCTIONS = """\
Search an anime database by meaning, picture, exact filters and similarity.
- search_anime: pass the user's words as they are: a title (typos, Japanese), a short idea, facts and wishes
  ("best 90s mecha", "Ghibli films"), a remembered scene, a plot. Facts and wishes in the words become filters
  and an order; `interpreted_as` says how the query was read. Add `filters` for exact conditions (they win over
  what was read) and `aspects` to focus.
- find_similar_anime / recommend_anime: from titles or ids the user names.
- browse_anime: filters plus ordering, no query; get_anime: all details of one entry.
- search_anime_by_image / search_anime_multimodal: from a picture (base64, data URL or URL).
Ids look like 'mal-1'; every result carries one. Results never include adult titles unless
filters.include_nsfw is true."""


class AnimeServer(MCPServer):
    """MCPServer whose tools carry the server's icon unless they name their own."""

    # The parent's parameters spelled out: with ``*args`` an ``icons`` passed by position would reach the parent twice.
    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        super().add_tool(
            fn,
            name=name,
            title=title,
            description=description,
            annotations=annotations,
            icons=icons if icons is not None else ICONS,
            meta=meta,
            structured_output=structured_output,
        )


def build_server(state: AppState, *, name: str = "anime-search", enrichment: Any = None) -> MCPServer:
    """``enrichment``: EnrichmentSettings to offer the enrichment tools (they make network calls)."""

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[AppState]:
        # Loading runs in the background so `initialize` answers at once; tools wait for it.
        async with AsyncExitStack() as stack:
            if enrichment is not None and state.enrichment is None:
                from enrichment.jobs import JobManager  # off by default: ~36 ms on the serve path

                state.enrichment = await stack.enter_async_context(JobManager(enrichment, on_done=state.reindex))
                stack.callback(setattr, state, "enrichment", None)
            tg = await stack.enter_async_context(anyio.create_task_group())
            if state.needs_loading:
                tg.start_soon(state.load)
            try:
                yield state
            finally:
                tg.cancel_scope.cancel()

    server = AnimeServer(
        name=name,
        title="Anime search",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        version=package_version(),
        icons=ICONS,
    )
    search.register(server)
    similar.register(server)
    catalog.register(server)
    resources.register(server, state)
    completions.register(server, state)
    if enrichment is not None:
        from tools import enrichment as enrichment_tools  # off by default: ~5 ms on the serve path

        enrichment_tools.register(server)
    return server
