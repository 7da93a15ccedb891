"""Hosting safety over real HTTP requests (in-process ASGI app with the server's real middleware
and the SDK's transport security): authentication, DNS rebinding, CORS, rate limits, binding,
error hygiene, admin check and the expensive-call cap."""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
from pydantic import SecretStr

from server import limits
from server.app import build_server
from server.settings import ServerSettings
from server.state import AppState
from server.transports import UnsafeBindError, check_bind, http_app

pytestmark = pytest.mark.anyio
TOKEN = "s3cret-token-for-tests-0123456789"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def settings(**kw) -> ServerSettings:
    return ServerSettings(_env_file=None, transport="http", **kw)


@asynccontextmanager
async def served(edge_runtime, **kw):
    """An httpx client wired to the real ASGI app (lifespan running), host 127.0.0.1."""
    async def loader():
        return edge_runtime

    state = AppState(loader=loader)
    app = http_app(build_server(state), state, settings(**kw))
    inner = app.app  # SecurityMiddleware wraps the SDK's Starlette app
    async with inner.router.lifespan_context(inner):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000", timeout=60) as client:
            yield client


def sse_json(response: httpx.Response) -> dict:
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    raise AssertionError(f"no JSON-RPC message in {response.text[:300]!r}")


async def session(client: httpx.AsyncClient, headers: dict) -> dict:
    r = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, **headers})
    assert r.status_code == 200, r.text
    sid = {"mcp-session-id": r.headers["mcp-session-id"]} if "mcp-session-id" in r.headers else {}
    h = {**MCP_HEADERS, **headers, **sid, "mcp-protocol-version": "2025-06-18"}
    await client.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=h)
    return h


async def call_tool(client, headers, name, args, id_=2) -> dict:
    r = await client.post("/mcp", json={"jsonrpc": "2.0", "id": id_, "method": "tools/call",
                                        "params": {"name": name, "arguments": args}}, headers=headers)
    assert r.status_code == 200, r.text
    return sse_json(r)


async def test_tokens_required_and_health_open(edge_runtime):
    async with served(edge_runtime, auth_tokens=[SecretStr(TOKEN)]) as client:
        assert (await client.post("/mcp", json=INIT, headers=MCP_HEADERS)).status_code == 401
        wrong = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, "authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in wrong.text
        basic = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, "authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        health = await client.get("/health")
        assert health.status_code in (200, 503) and health.json()["status"] in ("ok", "loading")
        h = await session(client, {"authorization": f"Bearer {TOKEN}"})
        reply = await call_tool(client, h, "search_anime", {"query": "pirates looking for treasure", "limit": 3})
        assert reply["result"]["structuredContent"]["results"]


@pytest.mark.parametrize("extra", [{"host": "evil.example"}, {"host": "evil.example:8000"},
                                   {"origin": "http://evil.example"}])
async def test_dns_rebinding_rejected(edge_runtime, extra):
    async with served(edge_runtime) as client:
        r = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, **extra})
        assert r.status_code in (400, 403, 421), (r.status_code, r.text)


async def test_allowed_host_and_origin_accepted(edge_runtime):
    async with served(edge_runtime, allowed_hosts=["anime.example.org"],
                      allowed_origins=["https://anime.example.org"]) as client:
        r = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, "host": "anime.example.org",
                                                          "origin": "https://anime.example.org"})
        assert r.status_code == 200, r.text


async def test_no_cors_headers_by_default(edge_runtime):
    async with served(edge_runtime) as client:
        pre = await client.options("/mcp", headers={"origin": "http://localhost:3000",
                                                    "access-control-request-method": "POST"})
        assert not any(k.lower().startswith("access-control-") for k in pre.headers)
        r = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, "origin": "http://localhost:3000"})
        assert "access-control-allow-origin" not in r.headers


async def test_rate_limit_429_after_n(edge_runtime):
    async with served(edge_runtime, rate_limit_per_minute=5) as client:
        codes = [(await client.post("/mcp", json=INIT, headers=MCP_HEADERS)).status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3
        assert (await client.get("/health")).status_code in (200, 503)  # /health is never limited


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "anime.example.org"])
def test_public_bind_without_tokens_refused(host):
    with pytest.raises(UnsafeBindError, match="AUTH_TOKENS"):
        check_bind(settings(host=host))
    check_bind(settings(host=host, auth_tokens=[SecretStr(TOKEN)]))  # with a token: allowed
    check_bind(settings(host="127.0.0.1"))


async def test_tool_errors_have_no_traceback_or_paths(edge_runtime, caplog):
    caplog.set_level(logging.DEBUG)
    async with served(edge_runtime, auth_tokens=[SecretStr(TOKEN)]) as client:
        h = await session(client, {"authorization": f"Bearer {TOKEN}"})
        bad = [("search_anime", {"query": ""}), ("search_anime", {"query": "x", "filters": {"year_min": "abc"}}),
               ("get_anime", {"anime": "../../etc/passwd"}), ("get_anime", {"anime": "mal-999999999"}),
               ("search_anime_by_image", {"image": "/etc/passwd"}),
               ("search_anime_by_image", {"image": "file:///etc/shadow"}),
               ("search_anime_by_image", {"image": "http://127.0.0.1:1/x.png"}),
               ("search_anime_by_image", {"image": "http://169.254.169.254/latest/meta-data/"}),
               ("search_anime_by_image", {"image": "aGVsbG8gd29ybGQ="}),
               ("no_such_tool", {})]
        for i, (name, args) in enumerate(bad):
            reply = await call_tool(client, h, name, args, id_=10 + i)
            text = json.dumps(reply)
            assert reply.get("error") or reply["result"]["isError"], text
            for leak in ("Traceback", 'File "', "/work/", "site-packages", ".py\"", "root:x:0"):
                assert leak not in text, (name, args, text)
    assert TOKEN not in caplog.text  # tokens never reach the logs


def test_is_admin_reads_bearer_header():
    class Ctx:
        def __init__(self, headers):
            self.headers = headers

    assert limits.is_admin(Ctx(None), [])  # no admin tokens: everyone may
    assert limits.is_admin(Ctx({"authorization": "Bearer adm"}), ["adm"])
    assert limits.is_admin(Ctx(httpx.Headers({"Authorization": "bearer adm"})), ["adm"])
    assert not limits.is_admin(Ctx({"authorization": "Bearer user"}), ["adm"])
    assert not limits.is_admin(Ctx(None), ["adm"])  # stdio with admin tokens set: no token, no admin
    assert not limits.is_admin(Ctx({"authorization": "adm"}), ["adm"])


async def test_expensive_slot_caps_concurrency():
    limits.configure(2)
    running = peak = 0

    async def job():
        nonlocal running, peak
        async with limits.expensive_slot():
            running += 1
            peak = max(peak, running)
            await anyio.sleep(0.05)
            running -= 1

    async with anyio.create_task_group() as tg:
        for _ in range(7):
            tg.start_soon(job)
    assert peak == 2
    limits.configure(ServerSettings(_env_file=None).max_concurrent_expensive)
    with pytest.raises(ValueError, match="at least 1"):
        limits.configure(0)
