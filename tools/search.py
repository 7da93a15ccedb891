"""Search tools: by meaning (text), by picture, and by both."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field, WithJsonSchema

from index.search.filters import SearchFilters
from index.search.results import SearchPage
from index.search.tuning import SearchSettings
from index.vectors import Aspect
from tools.common import READ_ONLY, READ_ONLY_OPEN, render_hits, runtime, structured, tool_errors
from tools.runtime_access import server_context

# The schema's bounds are the engine's settings, so raising ANIME_MCP_SEARCH_MAX_LIMIT raises them over MCP too.
_LIMITS = SearchSettings()
Query = Annotated[
    str,
    Field(
        min_length=1,
        max_length=_LIMITS.max_query_chars,
        description=(
            "What the user wants, in their words: a title, a few words of an idea, facts and wishes ('best 90s mecha', "
            "'Ghibli films'), a remembered scene, or a plot description."
        ),
    ),
]
# The filters' fields are listed once, where filtering is the point (search_anime, browse_anime): six full copies
# were 40% of the model-facing tool list. Elsewhere the schema names that definition; every tool validates the
# same SearchFilters and answers a wrong field in one line.
FullFilters = Annotated[SearchFilters | None, Field(description="Exact conditions every result must meet.")]
Filters = Annotated[
    SearchFilters | None,
    WithJsonSchema({"type": "object"}),
    Field(description="Exact conditions every result must meet: the fields of search_anime's filters."),
]
Limit = Annotated[int, Field(ge=1, le=_LIMITS.max_limit, description=f"How many results (1-{_LIMITS.max_limit}).")]
Offset = Annotated[int, Field(ge=0, le=_LIMITS.max_offset, description="Skip this many results (paging).")]
Image = Annotated[
    str,
    Field(
        min_length=1,
        max_length=14_000_000,
        description=(
            "The picture: base64 bytes, a data: URL, an http(s) URL, or a local file path inside a folder the "
            "server allows."
        ),
    ),
]

# The tools that need the image model: listed only while image search can run (server/app.py).
BY_IMAGE = "search_anime_by_image"
MULTIMODAL = "search_anime_multimodal"
IMAGE_TOOLS = (BY_IMAGE, MULTIMODAL)


def register(server: MCPServer) -> None:
    @server.tool(title="Search anime by description", annotations=READ_ONLY)
    @tool_errors
    async def search_anime(
        query: Query,
        ctx: Context,
        aspects: Annotated[
            list[Aspect] | None,
            Field(
                max_length=13,
                description=(
                    "Look only at these aspects ('visual': the picture, described in words). Leave empty for the "
                    "default blend of story, titles, exact words, genre, characters and staff."
                ),
            ),
        ] = None,
        filters: FullFilters = None,
        limit: Limit = 10,
        offset: Offset = 0,
        explain: Annotated[bool, Field(description="Add the per-vector scores behind each result.")] = False,
        diversify: Annotated[bool, Field(description="Prefer variety (not many entries of one franchise).")] = False,
        interpret: Annotated[
            bool,
            Field(
                description=(
                    "Read facts and wishes in the words (decades, years, seasons, types such as 'movies', genres, "
                    "studios, "
                    "'based on a light novel', 'best', 'popular', 'hidden gems') as filters, boosts and an order, and "
                    "rank "
                    "typed titles first; the result's interpreted_as says how it was read. Explicit filters always "
                    "win. "
                    "false: search the words as they are."
                )
            ),
        ] = True,
    ) -> Annotated[CallToolResult, SearchPage]:
        """Find anime by meaning: a title (Japanese or romanised, typos are fine), a short idea, facts and wishes
        ("best 90s mecha", "comedy from 2005", "Ghibli films"), a remembered scene, or a plot description.
        Pass the user's words as they are; combine with filters for exact conditions."""
        rt = await runtime(ctx)
        page = await rt.engine.search_text(
            query,
            aspects=aspects,
            filters=filters,
            limit=limit,
            offset=offset,
            explain=explain,
            diversify=diversify,
            interpret=interpret,
        )
        header = page.interpreted_as.summary() if page.interpreted_as else None
        return structured(page, render_hits(page.results, offset, page.hint, header=header))

    @server.tool(name=BY_IMAGE, title="Search anime by picture", annotations=READ_ONLY_OPEN)
    @tool_errors
    async def search_anime_by_image(
        image: Image,
        ctx: Context,
        filters: Filters = None,
        limit: Limit = 10,
        offset: Offset = 0,
    ) -> Annotated[CallToolResult, SearchPage]:
        """Find anime whose covers and posters look like a picture (a screenshot, a poster, fan art)."""
        rt = await runtime(ctx)
        await ctx.report_progress(0, 2, "reading the picture")
        async with server_context(
            ctx
        ).expensive_slot():  # decoding and embedding pictures is the costly part: capped per server
            page = await rt.engine.search_image(image, filters=filters, limit=limit, offset=offset)
        await ctx.report_progress(2, 2, "done")
        return structured(page, render_hits(page.results, offset, page.hint))

    @server.tool(name=MULTIMODAL, title="Search anime by description and picture", annotations=READ_ONLY_OPEN)
    @tool_errors
    async def search_anime_multimodal(
        query: Query,
        image: Image,
        ctx: Context,
        text_weight: Annotated[
            float, Field(ge=0.0, le=1.0, description=("Balance between the words (1.0) and the picture (0.0)."))
        ] = 0.5,
        filters: Filters = None,
        limit: Limit = 10,
        offset: Offset = 0,
    ) -> Annotated[CallToolResult, SearchPage]:
        """Find anime matching both a description and a picture, e.g. 'this art style but a comedy'."""
        rt = await runtime(ctx)
        await ctx.report_progress(0, 2, "reading the picture")
        async with server_context(ctx).expensive_slot():
            page = await rt.engine.search_multimodal(
                query, image, text_weight=text_weight, filters=filters, limit=limit, offset=offset
            )
        await ctx.report_progress(2, 2, "done")
        return structured(page, render_hits(page.results, offset, page.hint))
