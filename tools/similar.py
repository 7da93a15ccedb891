"""Similarity tools: more like one anime, or recommendations from likes and dislikes."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from index.search.results import SearchPage
from tools.common import READ_ONLY, render_hits, runtime, structured, tool_errors
from tools.search import Filters, Limit, Offset

AnimeRef = Annotated[str, Field(min_length=1, max_length=300,
                                description="An anime id (e.g. 'mal-1') or its title (e.g. 'Cowboy Bebop').")]
SimilarAspect = Literal["overall", "story", "characters", "genre", "staff", "technical", "temporal", "streaming",
                        "related", "franchise", "episodes", "reviews", "identifiers", "visual"]


def register(server: MCPServer) -> None:
    @server.tool(title="Find similar anime", annotations=READ_ONLY)
    @tool_errors
    async def find_similar_anime(
        anime: AnimeRef,
        ctx: Context,
        aspect: Annotated[SimilarAspect, Field(description=(
            "What should be similar: 'overall' (default blend), or one aspect such as story, genre, staff, "
            "characters, visual."))] = "overall",
        filters: Filters = None,
        limit: Limit = 10,
        offset: Offset = 0,
        diversify: Annotated[bool, Field(description="Prefer variety over near-duplicates.")] = False,
    ) -> Annotated[CallToolResult, SearchPage]:
        """Anime similar to one you name (never the anime itself)."""
        rt = await runtime(ctx)
        page = await rt.engine.find_similar(anime, aspect=aspect, filters=filters, limit=limit, offset=offset,
                                            diversify=diversify)
        return structured(page, render_hits(page.results, offset, page.hint, header=page.method))

    @server.tool(title="Recommend anime", annotations=READ_ONLY)
    @tool_errors
    async def recommend_anime(
        liked: Annotated[list[str], Field(min_length=1, max_length=10, description="Anime the user liked (ids or titles).")],
        ctx: Context,
        disliked: Annotated[list[str] | None, Field(max_length=10, description="Anime the user did not like.")] = None,
        filters: Filters = None,
        limit: Limit = 10,
        offset: Offset = 0,
        diversify: Annotated[bool, Field(description="Prefer variety over near-duplicates.")] = False,
    ) -> Annotated[CallToolResult, SearchPage]:
        """Recommendations from liked and disliked anime: close to the likes, away from the dislikes;
        the named anime themselves are never returned."""
        rt = await runtime(ctx)
        page = await rt.engine.recommend(liked, disliked or [], filters=filters, limit=limit, offset=offset,
                                         diversify=diversify)
        return structured(page, render_hits(page.results, offset, page.hint))
