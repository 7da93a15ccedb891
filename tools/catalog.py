"""Catalog tools: one entry in full, browsing with filters and order, database statistics."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from index.schema import AnimeEntry, AnimeType
from index.search.browse import FACET_KEYS, SortBy
from index.search.results import BrowsePage, DatabaseStats
from tools.common import READ_ONLY, render_hits, runtime, structured, tool_errors
from tools.search import FullFilters, Limit, Offset
from tools.similar import AnimeRef

Facet = Literal[FACET_KEYS]  # type: ignore[valid-type]  # the engine's facet keys, defined once


def render_entry(entry: AnimeEntry) -> str:
    lines = [f"{entry.title} [id {entry.id}]"]
    if entry.title_english and entry.title_english != entry.title:
        lines.append(f"English title: {entry.title_english}")
    # a modern catalogue entry may have no known type or status: say nothing rather than "UNKNOWN"
    facts = [e.value for e in (entry.type, entry.status) if e.value != AnimeType.UNKNOWN.value]
    if entry.year:
        facts.append(f"{entry.season.value.title() + ' ' if entry.season else ''}{entry.year}")
    if entry.episodes:
        facts.append(f"{entry.episodes} episodes")
    if entry.mal_score() is not None:
        facts.append(f"MAL score {entry.mal_score():.2f}")
    if facts:
        lines.append(", ".join(facts))
    if entry.genres:
        lines.append("Genres: " + ", ".join(entry.genres))
    if entry.studios:
        lines.append("Studios: " + ", ".join(entry.studios))
    if entry.synopsis:
        lines.append(entry.synopsis)
    if entry.characters:
        lines.append("Characters: " + ", ".join(c.name for c in entry.characters[:10]))
    lines.append("Sources: " + ", ".join(entry.sources))
    return "\n".join(lines)


def register(server: MCPServer) -> None:
    @server.tool(title="Get anime details", annotations=READ_ONLY)
    @tool_errors
    async def get_anime(anime: AnimeRef, ctx: Context) -> Annotated[CallToolResult, AnimeEntry]:
        """Everything the database knows about one anime: titles, synopsis, genres, staff, characters,
        episodes, statistics, images and source links. Takes an id or the name people use ("Evangelion", "Totoro")."""
        rt = await runtime(ctx)
        found = await rt.engine.find_anime(anime)  # the note says which entry a name was read as, and the others
        entry = found.entry
        text = f"{found.note}\n{render_entry(entry)}" if found.note else render_entry(entry)
        return CallToolResult(
            content=[{"type": "text", "text": text}],
            structured_content=entry.model_dump(mode="json", by_alias=True, exclude_none=True),
        )

    @server.tool(title="Browse anime", annotations=READ_ONLY)
    @tool_errors
    async def browse_anime(
        ctx: Context,
        filters: FullFilters = None,
        sort_by: Annotated[
            SortBy,
            Field(
                description=(
                    "Order: score (best first), popularity (most popular first), members, year (newest first), title."
                )
            ),
        ] = "score",
        limit: Limit = 10,
        offset: Offset = 0,
        facets: Annotated[
            list[Facet] | None,
            Field(
                max_length=10,
                description=("Also count matching entries per value of these fields (e.g. genres, year)."),
            ),
        ] = None,
    ) -> Annotated[CallToolResult, BrowsePage]:
        """List anime matching filters, without a query, in a chosen order; optionally with facet counts."""
        rt = await runtime(ctx)
        page = await rt.engine.browse(filters, sort_by=sort_by, limit=limit, offset=offset, facets=facets or [])
        text = render_hits(page.results, offset, page.hint, header=f"{page.total} matching, sorted by {sort_by}:")
        for name, values in page.facets.items():
            text += f"\n{name}: " + ", ".join(f"{v.value} ({v.count})" for v in values[:15])
        return structured(page, text)

    @server.tool(title="Anime database statistics", annotations=READ_ONLY)
    @tool_errors
    async def anime_database_stats(ctx: Context) -> Annotated[CallToolResult, DatabaseStats]:
        """How many anime are indexed, which vectors they have, which models built the index, top genres."""
        rt = await runtime(ctx)
        stats = await rt.engine.stats()
        text = (
            f"{stats.entries} anime indexed ({stats.backend} index); text model "
            f"{stats.text_model}, image search {'on' if stats.image_search_available else 'off'}.\n"
            "Top genres: " + ", ".join(f"{g.value} ({g.count})" for g in stats.top_genres[:10])
        )
        return structured(stats, text)
