"""What viewers ask besides search: the watch order of a franchise, where to stream it, what airs
next, which anime a screenshot is from.

watch_order answers from the index alone. The others add live answers from public sites (AniList,
Kitsu, trace.moe) only when the server allows live calls (ANIME_MCP_LIVE_APIS_ENABLED); otherwise
they give what the index holds, or one line saying why they cannot answer.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from enrichment.ids import extract_ids
from index.errors import UserFacingError
from index.search.filters import SearchFilters
from index.search.watch_order import WatchOrder
from index.search.watch_order import watch_order as franchise_in_order
from tools.common import READ_ONLY, READ_ONLY_OPEN, runtime, structured, tool_errors
from tools.runtime_access import server_context
from tools.similar import AnimeRef
from tools.watch_live import configure, display_title, entries_by_site_ids, live_apis, site_ids

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SEASONS = ("WINTER", "SPRING", "SUMMER", "FALL")
SCENE_MAX_SIDE = 1024  # trace.moe matches on small frames; a smaller upload is faster and within its size limit


class WatchInputError(UserFacingError, ValueError):
    """An argument of a watch tool that cannot be read (time zone, day, season)."""


# ----- results ----------------------------------------------------------------------------------
class Link(BaseModel):
    site: str
    url: str
    source: str = Field(description="index, anilist or kitsu.")
    region: str | None = None
    subtitles: list[str] = Field(default_factory=list)
    dubs: list[str] = Field(default_factory=list)
    free: bool | None = None


class WhereToWatch(BaseModel):
    anime_id: str
    title: str
    links: list[Link]
    note: str | None = None


class Episode(BaseModel):
    title: str
    episode: int
    airs_at: str = Field(description="Local time in the asked time zone (ISO 8601).")
    anime_id: str | None = Field(None, description="Our id, when the index holds the show.")


class Schedule(BaseModel):
    timezone: str
    episodes: list[Episode] = Field(default_factory=list)
    season: str | None = None
    entries: list[dict[str, Any]] = Field(
        default_factory=list, description="The season's shows in the index: id, title, type, episodes."
    )
    note: str | None = None


class Scene(BaseModel):
    similarity: float = Field(description="0-1; below 0.9 the match is often wrong.")
    title: str | None
    episode: str | None
    at: str | None = Field(None, description="Moment in the episode, m:ss.")
    anime_id: str | None = Field(None, description="Our id, when the index holds the anime.")


class SceneResult(BaseModel):
    matches: list[Scene]
    note: str | None = None


# ----- reading arguments ------------------------------------------------------------------------
def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo((name or "UTC").strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise WatchInputError(
            f"Unknown time zone {name!r}: give an IANA name such as 'Europe/Paris' or 'America/New_York'."
        ) from None


def day_window(day: str, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """Local midnight to midnight of 'today', 'tomorrow', a weekday (the next one, today included) or a date."""
    text = day.strip().lower()
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if text in ("today", "now"):
        start = today
    elif text == "tomorrow":
        start = today + timedelta(days=1)
    elif text[:3] in (d[:3] for d in _DAYS) and not text[:1].isdigit():
        ahead = ([d[:3] for d in _DAYS].index(text[:3]) - today.weekday()) % 7
        start = today + timedelta(days=ahead)
    else:
        try:
            start = datetime.fromisoformat(text).replace(tzinfo=tz)
        except ValueError:
            raise WatchInputError(f"Unknown day {day!r}: use today, tomorrow, a weekday or YYYY-MM-DD.") from None
    return start, start + timedelta(days=1)


def season_of(text: str, now: datetime) -> tuple[str, int]:
    """'spring 2006', '2006 fall', 'current' or 'next' -> (SEASON, year)."""
    words = text.strip().upper().replace("AUTUMN", "FALL").split()
    current = (_SEASONS[(now.month - 1) // 3], now.year)
    if words in (["CURRENT"], ["NOW"], ["THIS"], ["THIS", "SEASON"]):
        return current
    if words in (["NEXT"], ["NEXT", "SEASON"]):
        i = _SEASONS.index(current[0]) + 1
        return (_SEASONS[i % 4], current[1] + i // 4)
    seasons = [w for w in words if w in _SEASONS]
    years = [int(w) for w in words if re.fullmatch(r"(19|20)\d\d", w)]
    if len(seasons) == 1 and len(years) <= 1 and len(words) == len(seasons) + len(years):
        return seasons[0], years[0] if years else now.year
    raise WatchInputError(f"Unknown season {text!r}: use e.g. 'spring 2006', 'current' or 'next'.")


def clock(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def jpeg_bytes(picture: Any) -> bytes:
    """The picture as a JPEG no larger than SCENE_MAX_SIDE on its long side."""
    image = picture.convert("RGB")
    image.thumbnail((SCENE_MAX_SIDE, SCENE_MAX_SIDE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


# ----- text renderings --------------------------------------------------------------------------
def render_order(order: WatchOrder) -> str:
    lines = [f"Watch order for {order.title} ({len(order.entries)} entries, by release date):"]
    for e in order.entries:
        bits = ", ".join(b for b in (e.type, f"{e.episodes} ep" if e.episodes else None, e.released) if b)
        rel = f", {e.relation.lower()}" if e.relation else ""
        lines.append(f"{e.position}. {e.title} ({bits}) - {e.role}{rel} [id {e.id}]")
    if order.note:
        lines.append(order.note)
    return "\n".join(lines)


def render_links(answer: WhereToWatch) -> str:
    lines = [f"Where to watch {answer.title}:"]
    for link in answer.links:
        extra = [x for x in (link.region, "free" if link.free else None) if x]
        if link.subtitles:
            extra.append("subs " + "/".join(link.subtitles))
        if link.dubs:
            extra.append("dubs " + "/".join(link.dubs))
        lines.append(f"- {link.site}: {link.url}" + (f" ({', '.join(extra)})" if extra else ""))
    if not answer.links:
        lines.append("No streaming links known.")
    if answer.note:
        lines.append(answer.note)
    return "\n".join(lines)


def render_schedule(s: Schedule) -> str:
    lines = [f"Episodes ({s.timezone}):"] if s.episodes else []
    lines += [f"- {e.airs_at[:16].replace('T', ' ')} {e.title} episode {e.episode}" for e in s.episodes]
    if s.season:
        lines.append(f"{s.season} in the index ({len(s.entries)} shown):")
        lines += [f"- {e['title']} ({e.get('type') or '?'}) [id {e['id']}]" for e in s.entries]
    if s.note:
        lines.append(s.note)
    return "\n".join(lines) or "Nothing found."


# ----- the tools --------------------------------------------------------------------------------
def register(server: MCPServer, enrichment: Any = None) -> None:
    """``enrichment``: the server's EnrichmentSettings, if it was built with them (else read on first use)."""
    configure(server, enrichment)

    @server.tool(title="Watch order of a franchise", annotations=READ_ONLY)
    @tool_errors
    async def watch_order(anime: AnimeRef, ctx: Context) -> Annotated[CallToolResult, WatchOrder]:
        """The anime's franchise in release order, each entry marked main story, side story, recap, special,
        film or music video (with the relation type where known)."""
        rt = await runtime(ctx)
        order = await franchise_in_order(rt.store, rt.engine.resolver, anime)
        return structured(order, render_order(order))

    @server.tool(title="Where to watch an anime", annotations=READ_ONLY_OPEN)
    @tool_errors
    async def where_to_watch(
        anime: AnimeRef,
        ctx: Context,
        region: Annotated[str | None, Field(max_length=40, description="Country or language, e.g. 'US'.")] = None,
    ) -> Annotated[CallToolResult, WhereToWatch]:
        """Streaming links (site, region, subs/dubs, free) from the index and, when allowed, AniList and Kitsu."""
        rt = await runtime(ctx)
        entry = (await rt.engine.get_entry(anime)).model_dump(mode="json", by_alias=True)
        links = [
            Link(
                site=s["platform"],
                url=s["url"],
                source="index",
                region=s.get("region"),
                subtitles=s.get("subtitle_languages") or [],
                dubs=s.get("dub_languages") or [],
                free=s.get("free"),
            )
            for s in entry.get("streaming_info") or []
            if s.get("url")
        ]
        note = None
        live = live_apis(ctx)
        if live.enabled:
            ids = extract_ids(entry.get("sources") or [])
            mal = int(ids["mal"]) if ids.get("mal", "").isdigit() else None
            anilist = int(ids["anilist"]) if ids.get("anilist", "").isdigit() else None
            found = [*await live.anilist_links(mal, anilist), *await live.kitsu_links(mal, ids.get("kitsu"))]
            have = {(link.site.lower(), link.url) for link in links}
            for w in found:
                if (w.site.lower(), w.url) not in have:
                    have.add((w.site.lower(), w.url))
                    links.append(Link(**{k: getattr(w, k) for k in Link.model_fields}))
        elif not links:
            raise WatchInputError(
                f"The index has no streaming links for {display_title(entry)}; "
                + live.off_message("asking the streaming sites")
            )
        else:
            note = "From the index only (live lookups are off on this server)."
        if region:
            wanted = region.strip().lower()
            unknown = sum(1 for link in links if not link.region)
            links = [link for link in links if not link.region or wanted in link.region.lower()]
            if unknown:
                note = (note + " " if note else "") + f"{unknown} link(s) do not say their region; check the site."
        answer = WhereToWatch(anime_id=str(entry.get("id")), title=display_title(entry), links=links, note=note)
        return structured(answer, render_links(answer))

    @server.tool(title="Airing schedule", annotations=READ_ONLY_OPEN)
    @tool_errors
    async def airing_schedule(
        ctx: Context,
        anime: Annotated[str | None, Field(max_length=300, description="One show's next episodes.")] = None,
        day: Annotated[
            str | None, Field(max_length=20, description="today, tomorrow, a weekday or YYYY-MM-DD.")
        ] = None,
        season: Annotated[
            str | None, Field(max_length=20, description="'spring 2006', 'current' or 'next': from the index.")
        ] = None,
        timezone: Annotated[str, Field(max_length=60, description="IANA time zone for the times.")] = "UTC",
    ) -> Annotated[CallToolResult, Schedule]:
        """Next episodes of a show or of a day (live, from AniList), or a season's shows (from the index)."""
        if not (anime or day or season):
            raise WatchInputError("Name an anime, a day or a season.")
        tz = zone(timezone)
        now = datetime.now(UTC)
        window = day_window(day, tz, now) if day else None
        rt = await runtime(ctx)
        result = Schedule(timezone=str(tz))
        notes: list[str] = []
        if season:
            name, year = season_of(season, now.astimezone(tz))
            filters = SearchFilters(seasons=[name], year_min=year, year_max=year)
            page = await rt.engine.browse(filters=filters, sort_by="members", limit=25)
            result.season = f"{name.lower()} {year}"
            result.entries = [
                {"id": h.id, "title": h.title_english or h.title, "type": h.type, "episodes": h.episodes}
                for h in page.results
            ]
            if page.total > len(page.results):
                notes.append(f"{page.total} shows that season; the 25 most followed are listed.")
            elif not page.results:
                notes.append(page.hint or "The index has no show from that season.")
        if anime or day:
            live = live_apis(ctx)
            if not live.enabled:
                message = live.off_message("Looking up episode times")
                if not season:
                    raise WatchInputError(message)
                notes.append(message)
            elif anime:
                entry = (await rt.engine.get_entry(anime)).model_dump(mode="json", by_alias=True)
                ids = extract_ids(entry.get("sources") or [])
                mal = int(ids["mal"]) if ids.get("mal", "").isdigit() else None
                anilist = int(ids["anilist"]) if ids.get("anilist", "").isdigit() else None
                status, airing = await live.airing(mal, anilist)
                upcoming = [a for a in airing if a.airing_at > now.timestamp()]
                result.episodes = [
                    Episode(
                        title=display_title(entry),
                        episode=a.episode,
                        airs_at=datetime.fromtimestamp(a.airing_at, tz).isoformat(),
                        anime_id=str(entry.get("id")),
                    )
                    for a in upcoming
                ]
                if not upcoming:
                    state = (status or entry.get("status") or "unknown").replace("_", " ").lower()
                    notes.append(f"{display_title(entry)} has no episode scheduled (status: {state}).")
            else:
                start, end = window or day_window("today", tz, now)
                airing = [a for a in await live.schedule(int(start.timestamp()), int(end.timestamp())) if not a.adult]
                ours = await entries_by_site_ids(rt.store, (site_ids(a.mal_id, a.anilist_id) for a in airing))
                result.episodes = [
                    Episode(
                        title=display_title(e) if e else a.title or "?",
                        episode=a.episode,
                        airs_at=datetime.fromtimestamp(a.airing_at, tz).isoformat(),
                        anime_id=str(e.get("id")) if e else None,
                    )
                    for a, e in zip(airing, ours, strict=True)
                ]
                if not airing:
                    notes.append(f"No episode airs on {start.date().isoformat()} according to AniList.")
        result.note = " ".join(notes) or None
        return structured(result, render_schedule(result))

    @server.tool(title="Identify an anime screenshot", annotations=READ_ONLY_OPEN)
    @tool_errors
    async def identify_scene(
        image: Annotated[
            str, Field(min_length=1, description="The screenshot: base64, a data: URL or an http(s) URL.")
        ],
        ctx: Context,
    ) -> Annotated[CallToolResult, SceneResult]:
        """Which anime, episode and moment a screenshot is from (trace.moe), with how similar the match is."""
        live = live_apis(ctx)
        live.require("Identifying a screenshot")
        rt = await runtime(ctx)
        if rt.engine.image_fetcher is None:
            raise WatchInputError("Image input is not configured on this server.")
        async with server_context(ctx).expensive_slot():
            picture = await rt.engine.image_fetcher.fetch(image)
            matches = [m for m in await live.identify(jpeg_bytes(picture)) if not m.adult][:5]
        ours = await entries_by_site_ids(rt.store, (site_ids(m.mal_id, m.anilist_id) for m in matches))
        scenes = [
            Scene(
                similarity=round(m.similarity, 3),
                title=display_title(e) if e else m.title,
                episode=m.episode,
                at=clock(m.from_seconds),
                anime_id=str(e.get("id")) if e else None,
            )
            for m, e in zip(matches, ours, strict=True)
        ]
        note = None
        if not scenes:
            note = "trace.moe found no match."
        elif scenes[0].similarity < 0.9:
            note = f"Best similarity {scenes[0].similarity:.2f} is below 0.9: the match is uncertain."
        answer = SceneResult(matches=scenes, note=note)
        lines = [
            f"{i}. {s.title or '?'} - episode {s.episode or '?'} at {s.at or '?'} - similarity {s.similarity:.0%}"
            + (f" [id {s.anime_id}]" if s.anime_id else "")
            for i, s in enumerate(scenes, 1)
        ]
        return structured(answer, "\n".join([*lines, *([note] if note else [])]))
