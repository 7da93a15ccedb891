"""Resources (an entry as JSON, the collection's schema and statistics) and prompts that show
an assistant how to combine the tools."""

from __future__ import annotations

import json
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from pydantic import Field

from index.runtime import NotReadyError
from index.search.filters import SearchFilters
from index.search.resolve import AnimeNotFoundError
from index.vectors import ASPECT_VECTOR, PRIORITY
from tools.runtime_access import ServerContext, server_context


async def _read_name(ctx: Context, anime: str) -> tuple[str, str]:
    """A prompt's anime argument read as the tools read it: (the id to pass on, a line saying how the name was read
    or that nothing is titled so). Before the index is ready the name is passed on as given."""
    try:
        runtime = await server_context(ctx).ready()
        found = await runtime.engine.find_anime(anime)
    except AnimeNotFoundError as exc:
        return anime, f"Note: {exc} Ask the user which one they mean.\n"
    except NotReadyError:
        return anime, ""
    return found.entry.id, (f"({found.note})\n" if found.note else "")


def register(server: MCPServer, state: ServerContext) -> None:
    """Resources and prompts. ``state`` serves only the static schema resource: the SDK injects no Context into a
    resource without URI variables, so that one reads the server's state it was registered with."""
    icons = None  # the server's icon is on its implementation info, once (issue 20: it was on every item)

    @server.resource(
        "anime://{anime_id}",
        title="Anime entry",
        mime_type="application/json",
        icons=icons,
        description="One anime entry as JSON (all fields), by its id, e.g. anime://mal-1. "
        "Ids complete from titles (completion/complete).",
    )
    async def anime_entry(anime_id: str, ctx: Context) -> str:
        try:
            runtime = await server_context(ctx).ready()
            entry = await runtime.engine.get_entry(anime_id)
        except AnimeNotFoundError as exc:
            raise ResourceNotFoundError(str(exc)) from exc
        except NotReadyError as exc:
            raise ResourceError(str(exc)) from exc
        return entry.model_dump_json(by_alias=True, exclude_none=True, indent=1)

    @server.resource(
        "anime://schema",
        title="Anime index schema and statistics",
        mime_type="application/json",
        icons=icons,
        description="Named vectors and what they cover, search aspects, filters, and current counts.",
    )
    async def anime_schema() -> str:
        try:
            runtime = await state.ready()
            stats = (await runtime.engine.stats()).model_dump(mode="json")
        except NotReadyError as exc:
            raise ResourceError(str(exc)) from exc
        doc = {
            "aspects": {a.value: v for a, v in ASPECT_VECTOR.items()},
            "vector_priority": {k: v.value for k, v in PRIORITY.items()},
            "filters": SearchFilters.model_json_schema(),
            "statistics": stats,
        }
        return json.dumps(doc, indent=1)

    @server.prompt(title="Like X but Y", icons=icons)
    async def like_x_but_y(
        anime: Annotated[str, Field(description="The anime the user liked, by title or id.")],
        difference: Annotated[str, Field(description="How the picks should differ, e.g. 'more comedic'.")],
        ctx: Context,
    ) -> str:
        """Find anime similar to one title but different in one way (e.g. 'Cowboy Bebop', 'more comedic')."""
        ref, read = await _read_name(ctx, anime)
        return (
            f"The user wants anime like {anime!r}, but {difference}.\n{read}"
            f"1. Call get_anime with {ref!r} to learn its genres, themes and staff.\n"
            "2. Call find_similar_anime with that id (aspect 'overall', diversify=true) for candidates.\n"
            f"3. Call search_anime with a description that combines what they liked with {difference!r}, "
            "adding filters (genres, exclude_genres, year range, types) where the difference is exact.\n"
            "4. Merge both lists, drop the original and its sequels unless asked, and explain each pick in one line."
        )

    @server.prompt(title="Identify an anime from a vague memory", icons=icons)
    def identify_anime(
        memory: Annotated[str, Field(description="What the user remembers, in their words.")],
    ) -> str:
        """Turn a half-remembered description into a ranked list of candidates."""
        return (
            f"The user half-remembers an anime: {memory!r}.\n"
            "Call search_anime with their words (explain=true); if they recall characters, also search with "
            "aspects ['characters']; if they recall a year or format, add filters. If they have a screenshot, "
            "use search_anime_by_image. Show the top candidates with why each matches, and ask one question "
            "that would tell them apart."
        )

    @server.prompt(title="Best of a season", icons=icons)
    def season_picks(
        season: Annotated[str, Field(description="SPRING, SUMMER, FALL or WINTER.")],
        year: Annotated[str, Field(description="The year, e.g. 1998.")],
        genre: Annotated[str, Field(description="Only this genre, e.g. Comedy.")] = "",
        type: Annotated[str, Field(description="Only this type: TV, MOVIE, OVA, ...")] = "",
    ) -> str:
        """The best-rated anime of one season and year (e.g. FALL 1998), optionally of one genre or type."""
        when: int | str = int(year) if year.strip().isdigit() else year
        filters: dict[str, object] = {"seasons": [season.upper()], "year_min": when, "year_max": when}
        if genre:
            filters["genres"] = [genre]
        if type:
            filters["types"] = [type.upper()]
        return (
            f"The user wants the best anime of {season} {year}{f' ({genre})' if genre else ''}"
            f"{f', {type} only' if type else ''}.\n"
            f"1. Call browse_anime with filters {json.dumps(filters)}, sort_by 'score', limit 10, facets ['genres'].\n"
            "2. Present the list with one line each on what it is; mention the genres the season was strongest in.\n"
            "3. Offer to narrow by a genre from the facets, or to find more like any pick (find_similar_anime)."
        )

    @server.prompt(title="A studio's work", icons=icons)
    def studio_spotlight(
        studio: Annotated[str, Field(description="The studio's name, e.g. sunrise.")],
        tag: Annotated[str, Field(description="Only titles with this tag, e.g. mecha.")] = "",
    ) -> str:
        """What one studio made (e.g. 'sunrise'), best first, optionally only titles with one tag."""
        filters: dict[str, list[str]] = {"studios": [studio]}
        if tag:
            filters["tags"] = [tag]
        return (
            f"The user wants to know the work of the studio {studio!r}{f' tagged {tag!r}' if tag else ''}.\n"
            f"1. Call browse_anime with filters {json.dumps(filters)}, sort_by 'score', limit 15, "
            "facets ['year', 'genres'].\n"
            "2. Summarise what the studio is known for (its genres and most active years), then list the best titles.\n"
            "3. Offer search_anime with aspects ['staff'] for its directors, or find_similar_anime for any title."
        )
