"""Server assembly: the MCP server, its lifespan, and the tools it offers. Wiring only."""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from mcp.server import NotificationOptions
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ToolsListChanged
from mcp_types import INVALID_PARAMS, ListToolsResult
from mcp_types import Tool as MCPTool
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from index.runtime import NotReadyError
from server.icons import ICONS
from server.state import AppState
from server.tool_listing import light_tool
from server.version import package_version
from tools import catalog, completions, resources, search, similar, watch
from tools.common import invalid_arguments
from tools.search import IMAGE_TOOLS

log = logging.getLogger(__name__)

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
    """MCPServer as this project lists it (server/tool_listing.py: light schemas, clean descriptions, the icon
    once on the implementation info), with the image tools listed only while image search can run (clients
    hear `notifications/tools/list_changed` when it becomes able to), readable argument errors, and
    JSON-RPC -32602 for an unknown prompt or bad prompt arguments."""

    def __init__(self, *args: Any, image_search: Callable[[], bool] = lambda: True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._image_search = image_search
        self._listed: dict[str, MCPTool] = {}  # name -> the light form, made once per tool
        # 2025-11-25 connections that listed tools while the image tools were hidden, told once when they appear
        # (weakly held: a closed connection drops out).
        self._listers: weakref.WeakSet[Any] = weakref.WeakSet()
        low = self._lowlevel_server
        initialization_options = low.create_initialization_options

        # 2025-11-25 declares tools.listChanged from NotificationOptions the transports never pass; the image tools'
        # arrival is announced, so the capability is declared (2026-07-28 derives it from subscriptions/listen).
        def with_tools_changed(notification_options: Any = None, *rest: Any, **kw: Any) -> Any:
            options = notification_options or NotificationOptions(tools_changed=True)
            return initialization_options(options, *rest, **kw)

        low.create_initialization_options = with_tools_changed  # type: ignore[method-assign]

    async def _handle_list_tools(self, ctx: Any, params: Any) -> ListToolsResult:
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS and not self._image_search():
            # ctx.session is made per request; the connection under it is what lasts (the SDK names it only privately)
            self._listers.add(ctx.session._connection)
        return await super()._handle_list_tools(ctx, params)

    async def list_tools(self) -> list[MCPTool]:
        images = self._image_search()
        listed = []
        for tool in await super().list_tools():
            if tool.name in IMAGE_TOOLS and not images:
                continue  # still callable: a call says why image search is off
            if tool.name not in self._listed:
                self._listed[tool.name] = light_tool(tool)
            listed.append(self._listed[tool.name])
        return listed

    async def announce_tools_changed(self) -> None:
        """Tell clients the tool list changed: listen streams (2026-07-28) and sessions that listed (2025-11-25)."""
        await self._subscriptions.publish(ToolsListChanged())
        listers, self._listers = list(self._listers), weakref.WeakSet()
        for connection in listers:
            try:
                await connection.send_tool_list_changed()
            except Exception as exc:  # a session that went away must not stop the others hearing it
                log.debug("tools/list_changed not delivered: %s", exc)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError) and not isinstance(exc, UnexpectedToolError):
                raise ToolError(invalid_arguments(exc.__cause__, name)) from exc.__cause__
            raise

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
        if self._prompt_manager.get_prompt(name) is None:
            known = ", ".join(p.name for p in self._prompt_manager.list_prompts())
            raise MCPError(INVALID_PARAMS, f"Unknown prompt {name!r}; this server's prompts: {known}.")
        try:
            return await super().get_prompt(name, arguments, context)
        except MCPError:
            raise
        except ValueError as exc:  # missing or invalid arguments: the caller's to correct
            cause = exc.__cause__
            message = invalid_arguments(cause, name) if isinstance(cause, ValidationError) else str(exc)
            raise MCPError(INVALID_PARAMS, message) from exc


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
            tg.start_soon(announce_image_tools)
            try:
                yield state
            finally:
                tg.cancel_scope.cancel()

    def image_search() -> bool:
        """Image search can run: the index is loaded and its image model is ready."""
        return state.runtime is not None and state.runtime.embedder.image_status == "ready"

    async def announce_image_tools() -> None:
        """The image tools join the list once image search can run: say so to clients that listed before."""
        if image_search():
            return
        while True:  # ready() gives up early while another process holds the index: keep waiting for it
            try:
                runtime = await state.ready()
                break
            except NotReadyError:
                if state.error is not None:
                    return  # it will never load: the image tools stay unlisted
                await anyio.sleep(1)
        if await runtime.embedder.await_image():
            await server.announce_tools_changed()

    server = AnimeServer(
        name=name,
        title="Anime search",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        version=package_version(),
        icons=ICONS,
        image_search=image_search,
    )
    search.register(server)
    similar.register(server)
    catalog.register(server)
    watch.register(server, enrichment)
    resources.register(server, state)
    completions.register(server, state)
    if enrichment is not None:
        from tools import enrichment as enrichment_tools  # off by default: ~5 ms on the serve path

        enrichment_tools.register(server)
    return server
