"""Similarity tools: more like one anime, or recommendations from likes and dislikes."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import Field

from index.search.resolve import resolved_line
from index.search.results import SearchPage
from index.vectors import Aspect
from tools.common import READ_ONLY, render_hits, runtime, structured, tool_errors
from tools.search import Filters, Limit, Offset
from tools.watch_live import FromList, taste

AnimeRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        description="An anime id ('mal-1') or a name as people say it ('Evangelion', 'Spirited Away').",
    ),
]
# "overall" (the blend) plus every aspect the index defines (index/vectors.py), in its order; written out for the type
# checker and the tool schema, and checked against Aspect at import.
SimilarAspect = Literal[
    "overall",
    "story",
    "characters",
    "genre",
    "staff",
    "technical",
    "temporal",
    "streaming",
    "related",
    "franchise",
    "episodes",
    "reviews",
    "identifiers",
    "visual",
]
if get_args(SimilarAspect) != ("overall", *(a.value for a in Aspect)):
    raise ImportError("SimilarAspect must list 'overall' then every index.vectors.Aspect value, in order")


def _header(page: SearchPage, method: str | None = None) -> str | None:
    """How each named anime was read ("'Evangelion' read as ...; also: ..."), then the method, one per line."""
    lines = [resolved_line(r) for r in page.resolved or []]
    return "\n".join(x for x in [*lines, method] if x) or None


def register(server: MCPServer) -> None:
    @server.tool(title="Find similar anime", annotations=READ_ONLY)
    @tool_errors
    async def find_similar_anime(
        anime: AnimeRef,
        ctx: Context,
        aspect: Annotated[
            SimilarAspect,
            Field(
                description=(
                    "What should be similar: 'overall' (default blend), or one aspect such as story, genre, staff, "
                    "characters, visual."
                )
            ),
        ] = "overall",
        filters: Filters = None,
        limit: Limit = 10,
        offset: Offset = 0,
        diversify: Annotated[bool, Field(description="Prefer variety: one entry per franchise.")] = False,
        include_same_franchise: Annotated[
            bool,
            Field(
                description=("Also return the anime's own sequels, films, specials and recaps (left out by default).")
            ),
        ] = False,
    ) -> Annotated[CallToolResult, SearchPage]:
        """Anime similar to one you name: other shows first (never the anime itself, nor by default its own
        franchise's sequels, films and specials)."""
        rt = await runtime(ctx)
        page = await rt.engine.find_similar(
            anime,
            aspect=aspect,
            filters=filters,
            limit=limit,
            offset=offset,
            diversify=diversify,
            include_same_franchise=include_same_franchise,
        )
        return structured(page, render_hits(page.results, offset, page.hint, header=_header(page, page.method)))

    @server.tool(title="Recommend anime", annotations=READ_ONLY)
    @tool_errors
    async def recommend_anime(
        ctx: Context,
        liked: Annotated[
            list[str] | None, Field(min_length=1, max_length=10, description="Anime the user liked (ids or titles).")
        ] = None,
        disliked: Annotated[list[str] | None, Field(max_length=10, description="Anime the user did not like.")] = None,
        filters: Filters = None,
        limit: Limit = 10,
        offset: Offset = 0,
        diversify: Annotated[bool, Field(description="Prefer variety: one entry per franchise.")] = False,
        include_same_franchise: Annotated[
            bool,
            Field(description=("Also return sequels, films and specials of the named anime (left out by default).")),
        ] = False,
        from_list: Annotated[
            FromList | None, Field(description="A public AniList/Kitsu list; its scores give likes and dislikes.")
        ] = None,
    ) -> Annotated[CallToolResult, SearchPage]:
        """Recommendations from liked and disliked anime: close to the likes, away from the dislikes;
        the named anime themselves are never returned, nor by default their franchises."""
        rt = await runtime(ctx)
        if not liked and from_list is None:
            raise ToolError("Name at least one liked anime, or give from_list.")
        likes = await taste(ctx, rt.store, from_list, liked or [], disliked or [])
        page = await rt.engine.recommend(
            likes.liked,
            likes.disliked,
            filters=filters,
            limit=likes.ask(limit, rt.engine.settings.max_limit),
            offset=offset,
            diversify=diversify,
            include_same_franchise=include_same_franchise,
        )
        page = page.model_copy(update={"results": likes.trim(page.results, limit)})  # the cached page stays whole
        return structured(page, render_hits(page.results, offset, page.hint, header=_header(page, likes.note)))
