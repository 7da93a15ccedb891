"""A loopback fake of the live lookups: AniList (media links and airing, the airing schedule, a user's list),
Kitsu (streaming links, users, library entries) and trace.moe (search), in their documented shapes.

It extends tests.fake_sources.FakeSources (same server, fault switches and request log) with routes under
/live/..., so the enrichment fakes keep their own answers. Cowboy Bebop's AniList links and episode links are
the recorded ones (../shared/fixtures/enrichment/anilist_media_1.json); the rest is hand-written in each API's
documented shape: AniList GraphQL (Media, Page.airingSchedules, MediaListCollection), Kitsu JSON:API
(mappings, streaming-links with included streamers, users, library-entries with included anime and mappings),
trace.moe POST /search?anilistInfo (result[] with anilist, episode, from, to, similarity).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from enrichment.settings import EnrichmentSettings
from tests.fake_sources import FakeSources
from tests.recorded_answers import load_fixture

DAY = 24 * 3600
NOT_FOUND = {"data": {"Media": None}, "errors": [{"message": "Not Found.", "status": 404}]}


def media(mal: int, anilist: int, romaji: str, english: str | None = None, adult: bool = False) -> dict[str, Any]:
    return {"id": anilist, "idMal": mal, "isAdult": adult, "title": {"romaji": romaji, "english": english}}


class FakeLive(FakeSources):
    """The fake sources plus the live endpoints; ``airing_start`` is when the fake's coming episodes begin."""

    def __post_init__(self) -> None:
        super().__post_init__()
        recorded = load_fixture("anilist_media_1.json")
        self.bebop = {k: recorded[k] for k in ("id", "idMal", "title", "externalLinks", "streamingEpisodes")}
        self.bebop.update(status="FINISHED", nextAiringEpisode=None, airingSchedule={"nodes": []})
        self.uploads: list[tuple[str, int]] = []  # (content type, bytes) of each trace.moe upload

    def settings(self, cache_dir: Path, **overrides: Any) -> EnrichmentSettings:
        values: dict[str, Any] = dict(
            anilist_url=f"{self.url}/live/anilist",
            kitsu_base_url=f"{self.url}/live/kitsu",
            tracemoe_url=f"{self.url}/live/tracemoe",
            live_apis_enabled=True,
        )
        values.update(overrides)
        return super().settings(cache_dir, **values)

    def env(self, cache_dir: Path) -> dict[str, str]:
        """The same settings as environment variables (how an operator allows live calls)."""
        return {
            "ANIME_MCP_LIVE_APIS_ENABLED": "true",
            "ANIME_MCP_ANILIST_URL": f"{self.url}/live/anilist",
            "ANIME_MCP_KITSU_BASE_URL": f"{self.url}/live/kitsu",
            "ANIME_MCP_TRACEMOE_URL": f"{self.url}/live/tracemoe",
            "ANIME_MCP_CACHE_DIR": str(cache_dir),
            "ANIME_MCP_MAX_RETRIES": "1",
            "ANIME_MCP_BACKOFF_BASE": "0.01",
            "ANIME_MCP_BACKOFF_MAX": "0.02",
            "ANIME_MCP_ENRICHMENT_TIMEOUT": "3",
        }

    def _app(self) -> Starlette:
        app = super()._app()
        app.router.routes.extend(
            [
                Route("/live/anilist", self._wrap("anilist", self.anilist_live), methods=["POST"]),
                Route("/live/kitsu/mappings", self._wrap("kitsu", self.kitsu_mapping)),
                Route("/live/kitsu/anime/{kid}/streaming-links", self._wrap("kitsu", self.kitsu_streaming)),
                Route("/live/kitsu/users", self._wrap("kitsu", self.kitsu_users)),
                Route("/live/kitsu/library-entries", self._wrap("kitsu", self.kitsu_library)),
                Route("/live/tracemoe/search", self._wrap("tracemoe", self.tracemoe), methods=["POST"]),
            ]
        )
        return app

    # ----- AniList ---------------------------------------------------------------------------
    async def anilist_live(self, request: Request) -> Response:
        body = await request.json()
        query, v = body.get("query") or "", body.get("variables") or {}
        if "MediaListCollection" in query:
            return self._user_list(v.get("user"))
        if "airingSchedules" in query:
            start, end = int(v["from"]), int(v["to"])
            items = [
                {"airingAt": start + 3600, "episode": 5, "media": media(1, 1, "Cowboy Bebop", "Cowboy Bebop")},
                {"airingAt": start + 7200, "episode": 3, "media": media(0, 999001, "Shin Sakuhin")},
                {"airingAt": start + 9000, "episode": 2, "media": media(0, 999002, "Adult Show", adult=True)},
                {"airingAt": end + 3600, "episode": 9, "media": media(0, 999003, "Tomorrow Show")},
            ]
            window = [i for i in items if start < i["airingAt"] < end]
            return JSONResponse({"data": {"Page": {"pageInfo": {"hasNextPage": False}, "airingSchedules": window}}})
        if v.get("idMal") == 1 or v.get("id") == 1:
            return JSONResponse({"data": {"Media": self.bebop}})
        if v.get("idMal") == 30:  # an airing show (hand-written: the 1995 data has none airing)
            now = int(time.time())
            nodes = [{"airingAt": now + DAY, "episode": 7}, {"airingAt": now + 8 * DAY, "episode": 8}]
            evangelion = media(30, 30, "Shinseiki Evangelion", "Neon Genesis Evangelion")
            evangelion.update(
                status="RELEASING", externalLinks=[], streamingEpisodes=[], airingSchedule={"nodes": nodes}
            )
            return JSONResponse({"data": {"Media": evangelion}})
        return JSONResponse(NOT_FOUND, 404)

    def _user_list(self, user: str | None) -> Response:
        if user != "alice":  # AniList answers a private or unknown user alike
            message = "Private User" if user == "private" else "User not found"
            return JSONResponse({"data": {"MediaListCollection": None}, "errors": [{"message": message}]}, 404)

        def row(status: str, score: float, m: dict[str, Any]) -> dict[str, Any]:
            return {"status": status, "score": score, "media": m}

        completed = [
            row("COMPLETED", 9.5, media(1, 1, "Cowboy Bebop")),
            row("COMPLETED", 8.5, media(30, 30, "Shinseiki Evangelion")),
            row("COMPLETED", 0, media(43, 43, "Koukaku Kidoutai")),
            row("COMPLETED", 4, media(223, 223, "Dragon Ball")),
            row("COMPLETED", 10, media(999999, 999999, "Not In The Index")),
        ]
        dropped = [row("DROPPED", 0, media(20, 20, "Naruto"))]
        lists = [{"name": "Completed", "entries": completed}, {"name": "Dropped", "entries": dropped}]
        return JSONResponse({"data": {"MediaListCollection": {"lists": lists}}})

    # ----- Kitsu -----------------------------------------------------------------------------
    async def kitsu_mapping(self, request: Request) -> Response:
        if request.query_params.get("filter[externalId]") != "1":
            return JSONResponse({"data": [], "meta": {"count": 0}})
        item = {"data": {"type": "anime", "id": "1"}}
        return JSONResponse({"data": [{"id": "5", "type": "mappings", "relationships": {"item": item}}]})

    async def kitsu_streaming(self, request: Request) -> Response:
        if request.path_params["kid"] != "1":
            return JSONResponse({"data": []})
        link = {
            "id": "11",
            "type": "streamingLinks",
            "attributes": {"url": "https://www.funimation.com/shows/cowboy-bebop/", "subs": ["en"], "dubs": ["en"]},
            "relationships": {"streamer": {"data": {"type": "streamers", "id": "2"}}},
        }
        streamer = {"id": "2", "type": "streamers", "attributes": {"siteName": "Funimation"}}
        return JSONResponse({"data": [link], "included": [streamer]})

    async def kitsu_users(self, request: Request) -> Response:
        q = request.query_params
        found = q.get("filter[slug]") == "bob" or q.get("filter[name]") == "Bob"
        return JSONResponse({"data": [{"id": "42", "type": "users"}] if found else []})

    async def kitsu_library(self, request: Request) -> Response:
        if request.query_params.get("filter[userId]") != "42":
            return JSONResponse({"data": []})
        rows = [("1", 1, "completed", 18), ("30", 30, "completed", 16), ("20", 20, "dropped", None)]
        data, included = [], []
        for kid, mal, status, rating in rows:
            data.append(
                {
                    "id": f"le{kid}",
                    "type": "libraryEntries",
                    "attributes": {"status": status, "ratingTwenty": rating},
                    "relationships": {"anime": {"data": {"type": "anime", "id": kid}}},
                }
            )
            included.append(
                {
                    "id": kid,
                    "type": "anime",
                    "attributes": {"canonicalTitle": f"Anime {kid}"},
                    "relationships": {"mappings": {"data": [{"type": "mappings", "id": f"m{kid}"}]}},
                }
            )
            included.append(
                {
                    "id": f"m{kid}",
                    "type": "mappings",
                    "attributes": {"externalSite": "myanimelist/anime", "externalId": str(mal)},
                }
            )
        return JSONResponse({"data": data, "included": included, "links": {}})

    # ----- trace.moe -------------------------------------------------------------------------
    async def tracemoe(self, request: Request) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        self.uploads.append((content_type, len(body)))
        if not body or not content_type.startswith("image/"):
            return JSONResponse({"error": "Failed to process image"}, 400)
        anilist = "anilistInfo" in request.query_params
        bebop = {"id": 1, "idMal": 1, "title": {"romaji": "Cowboy Bebop"}, "synonyms": [], "isAdult": False}
        film = {"id": 5, "idMal": 5, "title": {"romaji": "Cowboy Bebop: Tengoku no Tobira"}, "isAdult": False}
        result = [
            {"anilist": bebop if anilist else 1, "filename": "ep5.mp4", "episode": 5, "from": 754.2, "to": 757.1,
             "similarity": 0.9712, "video": "https://media.trace.moe/video/1/x.mp4", "image": "https://x/i.jpg"},
            {"anilist": film if anilist else 5, "filename": "movie.mp4", "episode": None, "from": 3001.0,
             "to": 3003.5, "similarity": 0.8123, "video": "https://x/v.mp4", "image": "https://x/j.jpg"},
        ]  # fmt: skip
        return JSONResponse({"frameCount": 123456, "error": "", "result": result})
