"""Live questions to public anime APIs, asked while a user waits: where to watch, what airs next,
a user's public list, which anime a screenshot is from.

Every call goes through the enrichment HTTP layer (rate limits, retries, circuit breaker, disk cache)
and only when the server allows it (``ANIME_MCP_LIVE_APIS_ENABLED``); otherwise, and whenever a site
fails, the caller gets one ``LiveApiError`` line saying what happened and what still works.
The answers are read by enrichment.live_parse (pure, tested on documented shapes).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from enrichment import live_parse as parse
from enrichment.http import (
    Fetched,
    HttpClient,
    NotFoundError,
    SourceError,
    SourceUnavailable,
)
from enrichment.settings import EnrichmentSettings
from index.errors import UserFacingError

SITE_NAMES = {"anilist": "AniList", "kitsu": "Kitsu", "tracemoe": "trace.moe"}
MAX_LIST_PAGES = 10  # Kitsu library pages of 500 entries: lists longer than 5,000 are cut

MEDIA_QUERY = """
query ($id: Int, $idMal: Int) {
  Media(id: $id, idMal: $idMal, type: ANIME) {
    id idMal status title { romaji english }
    externalLinks { url site type language notes isDisabled }
    streamingEpisodes { url site }
    nextAiringEpisode { airingAt episode }
    airingSchedule(notYetAired: true, perPage: 6) { nodes { airingAt episode } }
  }
}"""

SCHEDULE_QUERY = """
query ($from: Int, $to: Int, $page: Int) {
  Page(page: $page, perPage: 50) {
    pageInfo { hasNextPage }
    airingSchedules(airingAt_greater: $from, airingAt_lesser: $to, sort: TIME) {
      airingAt episode media { id idMal isAdult title { romaji english } }
    }
  }
}"""

LIST_QUERY = """
query ($user: String) {
  MediaListCollection(userName: $user, type: ANIME) {
    lists { entries { status score(format: POINT_10_DECIMAL) media { id idMal title { romaji english } } } }
  }
}"""


class LiveApiError(UserFacingError):
    """A live lookup could not be answered: the sites are off on this server, or one failed."""


def off_message(what: str) -> str:
    return (
        f"{what} needs live calls to public anime sites, which this server does not make "
        "(an operator can allow them with ANIME_MCP_LIVE_APIS_ENABLED=true)."
    )


def _why(exc: SourceError) -> str:
    """One short reason without our request details: the HTTP status where there is one."""
    status = re.search(r"HTTP (\d{3})", exc.reason)
    if isinstance(exc, SourceUnavailable):
        return "it is not answering right now; try again in a minute"
    return f"it refused the request (HTTP {status.group(1)})" if status else "its answer could not be read"


class LiveApis:
    """One per server: the HTTP client (and so the per-site limits and breakers) shared by every call."""

    def __init__(self, settings: EnrichmentSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self._http: HttpClient | None = None

    @property
    def enabled(self) -> bool:
        return self.settings.live_apis_enabled

    def require(self, what: str) -> None:
        if not self.enabled:
            raise LiveApiError(off_message(what))

    @staticmethod
    def off_message(what: str) -> str:
        """The line a tool answers with while live calls are off."""
        return off_message(what)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> HttpClient:
        if self._http is None:
            self._http = HttpClient(self.settings, transport=self._transport)
        return self._http

    async def _call(self, source: str, method: str, url: str, **kwargs: Any) -> Fetched:
        try:
            return await self._client().request(source, method, url, **kwargs)
        except NotFoundError:
            raise
        except SourceError as exc:
            raise LiveApiError(f"{SITE_NAMES.get(source, source)} could not answer: {_why(exc)}.") from exc

    # ----- AniList --------------------------------------------------------------------------------
    async def _anilist(self, query: str, variables: dict[str, Any], *, use_cache: bool = True) -> dict[str, Any]:
        body = {"query": query, "variables": {k: v for k, v in variables.items() if v is not None}}
        fetched = await self._call("anilist", "POST", self.settings.anilist_url, json_body=body, use_cache=use_cache)
        doc = fetched.json()
        if doc.get("errors") and not doc.get("data"):
            message = str((doc["errors"][0] or {}).get("message") or "error")
            raise LiveApiError(f"AniList could not answer: {message[:200]}.")
        return doc.get("data") or {}

    async def _media(self, mal_id: int | None, anilist_id: int | None, *, use_cache: bool) -> dict[str, Any] | None:
        if mal_id is None and anilist_id is None:
            return None
        variables = {"id": anilist_id} if anilist_id is not None else {"idMal": mal_id}
        try:
            data = await self._anilist(MEDIA_QUERY, variables, use_cache=use_cache)
        except NotFoundError:
            return None
        return data.get("Media")

    async def anilist_links(self, mal_id: int | None, anilist_id: int | None) -> list[parse.WatchLink]:
        media = await self._media(mal_id, anilist_id, use_cache=True)
        return parse.anilist_links(media) if media else []

    async def airing(self, mal_id: int | None, anilist_id: int | None) -> tuple[str | None, list[parse.Airing]]:
        """The show's AniList status and its coming episodes (asked afresh: the next episode changes)."""
        media = await self._media(mal_id, anilist_id, use_cache=False)
        if not media:
            return None, []
        return media.get("status"), parse.anilist_airing(media)

    async def schedule(self, start: int, end: int, pages: int = 4) -> list[parse.Airing]:
        """Every episode airing between two Unix times (AniList's airing schedule, up to ``pages`` of 50)."""
        out: list[parse.Airing] = []
        for page in range(1, pages + 1):
            data = await self._anilist(SCHEDULE_QUERY, {"from": start, "to": end, "page": page}, use_cache=False)
            block = data.get("Page") or {}
            out += parse.anilist_schedule(block)
            if not (block.get("pageInfo") or {}).get("hasNextPage"):
                break
        return out

    # ----- Kitsu ----------------------------------------------------------------------------------
    async def _kitsu(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.settings.kitsu_base_url}{path}"
        headers = {"Accept": "application/vnd.api+json"}
        return (await self._call("kitsu", "GET", url, params=params, headers=headers)).json()

    async def kitsu_links(self, mal_id: int | None, kitsu_id: str | None) -> list[parse.WatchLink]:
        if kitsu_id is None and mal_id is not None:
            try:
                mapped = await self._kitsu(
                    "/mappings",
                    {"filter[externalSite]": "myanimelist/anime", "filter[externalId]": mal_id, "include": "item"},
                )
            except NotFoundError:
                return []
            kitsu_id = parse.kitsu_anime_id(mapped)
        if kitsu_id is None:
            return []
        try:
            doc = await self._kitsu(f"/anime/{kitsu_id}/streaming-links", {"include": "streamer"})
        except NotFoundError:
            return []
        return parse.kitsu_links(doc)

    # ----- a user's list --------------------------------------------------------------------------
    async def user_list(self, site: str, user: str) -> list[parse.ListItem]:
        """A public list; LiveApiError when the user does not exist, the list is private or empty."""
        missing = f"No public {SITE_NAMES[site]} anime list for user {user!r}: check the name, or the list is private."
        try:
            items = await (self._anilist_list(user) if site == "anilist" else self._kitsu_list(user))
        except NotFoundError:
            raise LiveApiError(missing) from None
        if not items:
            raise LiveApiError(missing)
        return items

    async def _anilist_list(self, user: str) -> list[parse.ListItem]:
        data = await self._anilist(LIST_QUERY, {"user": user}, use_cache=False)
        return parse.anilist_list(data.get("MediaListCollection") or {})

    async def _kitsu_list(self, user: str) -> list[parse.ListItem]:
        users = await self._kitsu("/users", {"filter[slug]": user})
        if not users.get("data"):
            users = await self._kitsu("/users", {"filter[name]": user})
        if not users.get("data"):
            return []
        user_id = users["data"][0]["id"]
        params: dict[str, Any] = {
            "filter[userId]": user_id,
            "filter[kind]": "anime",
            "include": "anime,anime.mappings",
            "page[limit]": 500,
            "page[offset]": 0,
        }
        items: list[parse.ListItem] = []
        for _ in range(MAX_LIST_PAGES):
            doc = await self._kitsu("/library-entries", params)
            batch = parse.kitsu_list(doc)
            items += batch
            if not (doc.get("links") or {}).get("next") or not batch:
                break
            params["page[offset]"] += len(doc.get("data") or [])
        return items

    # ----- trace.moe ------------------------------------------------------------------------------
    async def identify(self, jpeg: bytes) -> list[parse.SceneMatch]:
        """trace.moe's matches for one frame (JPEG bytes), best first."""
        headers = {"Content-Type": "image/jpeg"}
        if self.settings.tracemoe_key is not None:
            headers["x-trace-key"] = self.settings.tracemoe_key.get_secret_value()
        url = f"{self.settings.tracemoe_url}/search"
        try:
            fetched = await self._call(
                "tracemoe", "POST", url, params={"anilistInfo": "", "cutBorders": ""}, content=jpeg, headers=headers
            )
        except NotFoundError as exc:
            raise LiveApiError("trace.moe could not answer: its search address was not found.") from exc
        doc = fetched.json()
        if doc.get("error"):
            raise LiveApiError(f"trace.moe could not read the picture: {str(doc['error'])[:200]}.")
        return sorted(parse.trace_matches(doc), key=lambda m: -m.similarity)
