"""A loopback fake of the five enrichment APIs, serving the recorded Cowboy Bebop fixtures.

Starlette under uvicorn in a daemon thread on 127.0.0.1 (a free port). Each
source lives under its own prefix (/jikan/v4, /anilist, /kitsu/api/edge,
/anidb/httpapi, /animeschedule/api/v3) in its API's shape, with lists split
into small pages so pagination is exercised. Switches (``fail``) inject 429 with
Retry-After, 500s, slow answers/timeouts and malformed bodies, per source and
optionally per path; ``requests`` is the log of what arrived and when
(time.monotonic, the clock the client's rate limiter uses).

What each endpoint serves comes from tests.recorded_answers (the recorded answers, reshaped).
This module is also the pytest plugin (tests/conftest.py loads it) providing the ``fake`` and
``sources`` fixtures.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from enrichment.settings import EnrichmentSettings
from tests.recorded_answers import FixtureData


@dataclass
class Fault:
    kind: str  # "429" | "500" | "timeout" | "slow" | "malformed"
    times: int | None = None  # how many requests it hits; None: all
    retry_after: float | None = None
    delay: float = 0.0
    path: str | None = None  # only requests whose path contains this


@dataclass
class Seen:
    at: float
    source: str
    method: str
    path: str
    query: str


@dataclass
class FakeSources:
    jikan_page_size: int = 10
    anilist_per_page_cap: int = 25
    kitsu_page_size: int = 4
    anilist_remaining: int | None = None  # X-RateLimit-Remaining to announce (None: no headers)
    anilist_reset_in: float = 1.0
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    log: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._data = FixtureData()

    # ----- control ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(
        self,
        source: str,
        kind: str,
        *,
        times: int | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        path: str | None = None,
    ) -> None:
        with self._lock:
            self.faults.setdefault(source, []).append(Fault(kind, times, retry_after, delay, path))

    def heal(self, source: str | None = None) -> None:
        with self._lock:
            if source is None:
                self.faults.clear()
            else:
                self.faults.pop(source, None)

    def requests(self, source: str | None = None, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.log if (source is None or r.source == source) and (path is None or path in r.path)]

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()

    def settings(self, cache_dir: Path, **overrides: Any) -> EnrichmentSettings:
        """Settings pointing every source here, with fast limits and short timeouts for tests."""
        values: dict[str, Any] = dict(
            jikan_base_url=f"{self.url}/jikan/v4",
            anilist_url=f"{self.url}/anilist",
            kitsu_base_url=f"{self.url}/kitsu/api/edge",
            anidb_base_url=f"{self.url}/anidb/httpapi",
            animeschedule_base_url=f"{self.url}/animeschedule/api/v3",
            anidb_client_name="animemcptest",
            anidb_client_version=1,
            cache_dir=cache_dir,
            jikan_per_second=100,
            jikan_per_minute=6000,
            anilist_per_minute=6000,
            kitsu_per_second=100,
            anidb_min_interval=0.0,
            animeschedule_per_second=100,
            source_concurrency=4,
            enrichment_timeout=2.0,
            max_retries=2,
            backoff_base=0.01,
            backoff_max=0.05,
            retry_after_max=2.0,
            circuit_failure_threshold=5,
            circuit_reset_seconds=30.0,
            user_agent="anime-mcp-tests",
            jikan_episode_details_max=3,  # tests that need every episode's detail raise it
        )
        values.update(overrides)
        return EnrichmentSettings(_env_file=None, **values)

    def start(self) -> FakeSources:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1, access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake source server did not start within 10s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSources:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- the app ---------------------------------------------------------------------------
    def _app(self) -> Starlette:
        routes = [
            Route("/jikan/v4/anime/{mal}/full", self._wrap("jikan", self.jikan_full)),
            Route("/jikan/v4/anime/{mal}/characters", self._wrap("jikan", self.jikan_characters)),
            Route("/jikan/v4/anime/{mal}/staff", self._wrap("jikan", self.jikan_staff)),
            Route("/jikan/v4/anime/{mal}/episodes", self._wrap("jikan", self.jikan_episodes)),
            Route("/jikan/v4/anime/{mal}/episodes/{n:int}", self._wrap("jikan", self.jikan_episode)),
            Route("/anilist", self._wrap("anilist", self.anilist), methods=["POST"]),
            Route("/kitsu/api/edge/anime", self._wrap("kitsu", self.kitsu_search)),
            Route("/kitsu/api/edge/mappings", self._wrap("kitsu", self.kitsu_mappings)),
            Route("/kitsu/api/edge/anime/{kid}", self._wrap("kitsu", self.kitsu_anime)),
            Route("/kitsu/api/edge/anime/{kid}/{what}", self._wrap("kitsu", self.kitsu_list)),
            Route("/anidb/httpapi", self._wrap("anidb", self.anidb)),
            Route("/animeschedule/api/v3/anime", self._wrap("animeschedule", self.animeschedule_search)),
            Route("/animeschedule/api/v3/anime/{route}", self._wrap("animeschedule", self.animeschedule_anime)),
        ]
        return Starlette(routes=routes)

    def _wrap(self, source: str, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            with self._lock:
                self.log.append(Seen(time.monotonic(), source, request.method, request.url.path, request.url.query))
                fault = None
                for f in self.faults.get(source, []):
                    if (f.path is None or f.path in request.url.path) and (f.times is None or f.times > 0):
                        fault = f
                        if f.times is not None:
                            f.times -= 1
                        break
            if fault is not None:
                if fault.kind == "429":
                    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                    return JSONResponse({"status": 429, "message": "Too Many Requests"}, 429, headers=headers)
                if fault.kind == "500":
                    return JSONResponse({"status": 500, "message": "Internal Server Error"}, 500)
                if fault.kind in ("timeout", "slow"):
                    await asyncio.sleep(fault.delay)
                if fault.kind == "malformed":
                    body = '<anime id="23"><titles>' if source == "anidb" else '{"data": {"mal_id": 1, "title": '
                    return Response(body, 200, media_type="application/json" if source != "anidb" else "text/xml")
            return await handler(request)

        return endpoint

    # ----- Jikan -----------------------------------------------------------------------------
    async def jikan_full(self, request: Request) -> Response:
        if request.path_params["mal"] != "1":
            return JSONResponse({"status": 404, "type": "BadResponseException", "message": "Not Found"}, 404)
        return JSONResponse(self._data.jikan_full)

    async def jikan_characters(self, request: Request) -> Response:
        return JSONResponse({"data": self._data.jikan_characters})

    async def jikan_staff(self, request: Request) -> Response:
        return JSONResponse({"data": self._data.jikan_staff})

    async def jikan_episodes(self, request: Request) -> Response:
        page = int(request.query_params.get("page", "1"))
        items = self._data.jikan_episode_list
        size = self.jikan_page_size
        chunk = items[(page - 1) * size : page * size]
        last = max(1, -(-len(items) // size))
        return JSONResponse({"pagination": {"last_visible_page": last, "has_next_page": page < last}, "data": chunk})

    async def jikan_episode(self, request: Request) -> Response:
        n = request.path_params["n"]
        detail = self._data.jikan_episode_details.get(n)
        if detail is None:
            return JSONResponse({"status": 404, "message": "Not Found"}, 404)
        return JSONResponse({"data": detail})

    # ----- AniList ---------------------------------------------------------------------------
    async def anilist(self, request: Request) -> Response:
        body = await request.json()
        v = body.get("variables") or {}
        if v.get("id") not in (None, 1) or v.get("idMal") not in (None, 1):
            return JSONResponse({"data": {"Media": None}, "errors": [{"message": "Not Found.", "status": 404}]}, 404)
        media = self._data.anilist
        per_page = min(int(v.get("perPage", 25)), self.anilist_per_page_cap)
        out: dict[str, Any] = {"id": media["id"], "idMal": media["idMal"]}
        if v.get("main", True):
            out.update({k: val for k, val in media.items() if k not in ("characters", "staff")})
        for name, page_var, flag in (("characters", "cp", "chars"), ("staff", "sp", "staff")):
            if v.get(flag, True):
                edges = media[name]["edges"]
                page = int(v.get(page_var, 1))
                chunk = edges[(page - 1) * per_page : page * per_page]
                out[name] = {
                    "pageInfo": {"hasNextPage": page * per_page < len(edges), "currentPage": page},
                    "edges": chunk,
                }
        headers = {}
        if self.anilist_remaining is not None:
            headers = {
                "X-RateLimit-Limit": "90",
                "X-RateLimit-Remaining": str(self.anilist_remaining),
                "X-RateLimit-Reset": str(int(time.time() + self.anilist_reset_in)),
            }
        return JSONResponse({"data": {"Media": out}}, headers=headers)

    # ----- Kitsu -----------------------------------------------------------------------------
    async def kitsu_anime(self, request: Request) -> Response:
        if request.path_params["kid"] != "1":
            return JSONResponse({"errors": [{"title": "Record not found", "status": "404"}]}, 404)
        return JSONResponse({"data": self._data.kitsu["anime"]})

    async def kitsu_search(self, request: Request) -> Response:
        slug = request.query_params.get("filter[slug]")
        found = [self._data.kitsu["anime"]] if slug == "cowboy-bebop" else []
        return JSONResponse({"data": found, "meta": {"count": len(found)}})

    async def kitsu_mappings(self, request: Request) -> Response:
        q = request.query_params
        if q.get("filter[externalSite]") == "myanimelist/anime" and q.get("filter[externalId]") == "1":
            mapping = {
                "id": "1",
                "type": "mappings",
                "attributes": {"externalSite": "myanimelist/anime", "externalId": "1"},
                "relationships": {"item": {"data": {"type": "anime", "id": "1"}}},
            }
            return JSONResponse({"data": [mapping], "included": [self._data.kitsu["anime"]]})
        return JSONResponse({"data": [], "meta": {"count": 0}})

    async def kitsu_list(self, request: Request) -> Response:
        what = request.path_params["what"]
        items = {
            "episodes": self._data.kitsu["episodes"],
            "categories": self._data.kitsu["categories"],
            "characters": self._data.kitsu_characters,
        }.get(what)
        if items is None or request.path_params["kid"] != "1":
            return JSONResponse({"errors": [{"title": "Not found", "status": "404"}]}, 404)
        q = request.query_params
        size = min(int(q.get("page[limit]", 10)), self.kitsu_page_size)
        offset = int(q.get("page[offset]", 0))
        chunk = items[offset : offset + size]
        links: dict[str, str] = {}
        if offset + size < len(items):
            params = {k: v for k, v in q.items() if not k.startswith("page[")}
            params.update({"page[limit]": str(size), "page[offset]": str(offset + size)})
            links["next"] = f"{self.url}{request.url.path}?{urlencode(params)}"
        return JSONResponse({"data": chunk, "meta": {"count": len(items)}, "links": links})

    # ----- AniDB -----------------------------------------------------------------------------
    async def anidb(self, request: Request) -> Response:
        q = request.query_params
        if not q.get("client") or not q.get("clientver"):
            return Response('<error code="302">client version missing or invalid</error>', 200, media_type="text/xml")
        if q.get("aid") != "23":
            return Response("<error>Anime not found</error>", 200, media_type="text/xml")
        return Response(self._data.anidb_xml, 200, media_type="text/xml")

    # ----- AnimeSchedule ---------------------------------------------------------------------
    async def animeschedule_search(self, request: Request) -> Response:
        q = (request.query_params.get("q") or "").lower()
        hits = [self._data.animeschedule] if "cowboy bebop" in q else []
        return JSONResponse({"page": 1, "totalAmount": len(hits), "anime": hits})

    async def animeschedule_anime(self, request: Request) -> Response:
        if request.path_params["route"] != self._data.animeschedule["route"]:
            return JSONResponse({"error": "not found"}, 404)
        return JSONResponse(self._data.animeschedule)


# ----- fixtures (a pytest plugin: tests/conftest.py loads this module) -------------------------


@pytest.fixture(scope="module")
def fake():
    """One fake-sources server per test module."""
    with FakeSources() as sources:
        yield sources


@pytest.fixture
def sources(fake):
    """The module's fake sources with no faults and an empty request log, for one test."""
    fake.heal()
    fake.reset_log()
    yield fake
    fake.heal()
