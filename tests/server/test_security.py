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

from server.app import build_server
from server.auth import is_admin
from server.limits import ExpensiveCalls
from server.settings import ServerSettings
from server.state import AppState
from server.transports import UnsafeBindError, check_bind, http_app
from tests.server.http_harness import MCP_HEADERS, rpc

pytestmark = pytest.mark.anyio
TOKEN = "s3cret-token-for-tests-0123456789"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}


def settings(**kw) -> ServerSettings:
    return ServerSettings(_env_file=None, transport="http", **kw)


@asynccontextmanager
async def served(edge_runtime, loader=None, enrichment=None, **kw):
    """An httpx client wired to the real ASGI app (lifespan running), host 127.0.0.1."""

    async def load_runtime():
        return edge_runtime

    config = settings(**kw)
    state = AppState(loader=loader or load_runtime, admin_tokens=config.admin_token_values())
    app = http_app(build_server(state, enrichment=enrichment), state, config)
    inner = app.app  # SecurityMiddleware wraps the SDK's Starlette app
    async with inner.router.lifespan_context(inner):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000", timeout=60) as client:
            yield client


async def session(client: httpx.AsyncClient, headers: dict) -> dict:
    r = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, **headers})
    assert r.status_code == 200, r.text
    sid = {"mcp-session-id": r.headers["mcp-session-id"]} if "mcp-session-id" in r.headers else {}
    h = {**MCP_HEADERS, **headers, **sid, "mcp-protocol-version": "2025-06-18"}
    await client.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=h)
    return h


async def call_tool(client, headers, name, args, id_=2) -> dict:
    r = await client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": {"name": name, "arguments": args}},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return rpc(r)


async def test_tokens_required_and_health_open(edge_runtime):
    async with served(edge_runtime, auth_tokens=[SecretStr(TOKEN)]) as client:
        assert (await client.post("/mcp", json=INIT, headers=MCP_HEADERS)).status_code == 401
        wrong = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, "authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        assert TOKEN not in wrong.text
        basic = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, "authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        health = await client.get("/health")
        assert health.status_code in (200, 503) and health.json()["status"] in ("ok", "starting")
        h = await session(client, {"authorization": f"Bearer {TOKEN}"})
        reply = await call_tool(client, h, "search_anime", {"query": "pirates looking for treasure", "limit": 3})
        assert reply["result"]["structuredContent"]["results"]


@pytest.mark.parametrize(
    "extra", [{"host": "evil.example"}, {"host": "evil.example:8000"}, {"origin": "http://evil.example"}]
)
async def test_dns_rebinding_rejected(edge_runtime, extra):
    async with served(edge_runtime) as client:
        r = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, **extra})
        assert r.status_code in (400, 403, 421), (r.status_code, r.text)


async def test_allowed_host_and_origin_accepted(edge_runtime):
    async with served(
        edge_runtime, allowed_hosts=["anime.example.org"], allowed_origins=["https://anime.example.org"]
    ) as client:
        r = await client.post(
            "/mcp",
            json=INIT,
            headers={**MCP_HEADERS, "host": "anime.example.org", "origin": "https://anime.example.org"},
        )
        assert r.status_code == 200, r.text


async def test_no_cors_headers_by_default(edge_runtime):
    async with served(edge_runtime) as client:
        pre = await client.options(
            "/mcp", headers={"origin": "http://localhost:3000", "access-control-request-method": "POST"}
        )
        assert not any(k.lower().startswith("access-control-") for k in pre.headers)
        r = await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, "origin": "http://localhost:3000"})
        assert "access-control-allow-origin" not in r.headers


def get_call(id_: int) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": {"name": "get_anime", "arguments": {}}}


async def call_codes(client, headers: dict, n: int) -> list[int]:
    return [(await client.post("/mcp", json=get_call(i), headers=headers)).status_code for i in range(n)]


async def test_rate_limit_429_after_n(edge_runtime):
    async with served(edge_runtime, rate_limit_per_minute=5) as client:
        codes = await call_codes(client, await session(client, {}), 8)
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
        bad = [
            ("search_anime", {"query": ""}),
            ("search_anime", {"query": "x", "filters": {"year_min": "abc"}}),
            ("get_anime", {"anime": "../../etc/passwd"}),
            ("get_anime", {"anime": "mal-999999999"}),
            ("search_anime_by_image", {"image": "/etc/passwd"}),
            ("search_anime_by_image", {"image": "file:///etc/shadow"}),
            ("search_anime_by_image", {"image": "http://127.0.0.1:1/x.png"}),
            ("search_anime_by_image", {"image": "http://169.254.169.254/latest/meta-data/"}),
            ("search_anime_by_image", {"image": "aGVsbG8gd29ybGQ="}),
            ("no_such_tool", {}),
        ]
        for i, (name, args) in enumerate(bad):
            reply = await call_tool(client, h, name, args, id_=10 + i)
            text = json.dumps(reply)
            assert reply.get("error") or reply["result"]["isError"], text
            for leak in ("Traceback", 'File "', "/work/", "site-packages", '.py"', "root:x:0"):
                assert leak not in text, (name, args, text)
    assert TOKEN not in caplog.text  # tokens never reach the logs


def test_is_admin_reads_the_verified_caller():
    """Admin comes from the identity the middleware verified (its scopes), never from a raw header."""
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

    from server.auth import StaticTokens

    class Ctx:
        def __init__(self, token=None, tokens=(), admins=(), headers=None):
            found = StaticTokens(list(tokens), list(admins)).verify(token) if token else None
            scope = {"type": "http", "headers": [], "user": AuthenticatedUser(found) if found else None}
            self.request_context = type("R", (), {"request": starlette_request(scope, headers)})()

    assert is_admin(Ctx(), [])  # no admin tokens: everyone may (stdio, loopback without tokens)
    assert not is_admin(Ctx(), ["adm"])  # admin tokens set: an anonymous caller may not
    assert not is_admin(Ctx(headers={"authorization": "Bearer adm"}), ["adm"])  # unverified header: no
    assert is_admin(Ctx("adm", admins=["adm"]), ["adm"])
    assert not is_admin(Ctx("user", tokens=["user"], admins=["adm"]), ["adm"])
    assert is_admin(Ctx("user", tokens=["user"]), [])  # no admin tokens: every valid token


def starlette_request(scope, headers):
    from starlette.requests import Request

    scope = {**scope, "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()]}
    return Request(scope)


async def test_random_bearer_values_share_the_address_limit():
    """Without configured tokens an unverified Authorization header is not an identity: 15 requests
    with a new random bearer each are limited by address like any other."""
    import secrets

    async with served(None, loader=_no_index, rate_limit_per_minute=10) as client:
        headers = await session(client, {})
        codes = [
            (
                await client.post(
                    "/mcp", json=get_call(i), headers={**headers, "authorization": f"Bearer {secrets.token_hex(16)}"}
                )
            ).status_code
            for i in range(15)
        ]
    assert codes[:10] == [200] * 10 and codes[10:] == [429] * 5


async def test_tokens_sharing_a_prefix_have_their_own_allowance():
    first, second = TOKEN + "-a", TOKEN + "-b"
    async with served(
        None, loader=_no_index, rate_limit_per_minute=3, auth_tokens=[SecretStr(first), SecretStr(second)]
    ) as client:
        a = await call_codes(client, await session(client, {"authorization": f"Bearer {first}"}), 4)
        b = await call_codes(client, await session(client, {"authorization": f"Bearer {second}"}), 3)
    assert a == [200, 200, 200, 429] and b == [200, 200, 200]


async def _no_index():
    raise RuntimeError("no index here")


async def test_index_open_error_shows_no_server_path(tmp_path, caplog):
    from index.storage.base import StoreError

    where = tmp_path / "secret-data-dir" / "anime"

    async def broken():
        raise StoreError(f"no index at {where}: run `anime-mcp index` first (or set ANIME_MCP_DATA_DIR)")

    caplog.set_level(logging.INFO)
    async with served(None, loader=broken) as client:
        h = await session(client, {})
        reply = await call_tool(client, h, "search_anime", {"query": "pirates"})
    text = json.dumps(reply)
    assert reply["result"]["isError"] and "could not be loaded" in text and "anime-mcp index" in text
    assert "secret-data-dir" not in text and str(tmp_path) not in text
    assert str(where) in caplog.text  # the operator still sees where


async def test_full_enrichment_queue_says_so(edge_runtime, fake, tmp_path):
    fake.fail("jikan", "slow", delay=5)
    enrichment = fake.settings(tmp_path / "cache", max_pending_jobs=1, max_concurrent_jobs=1)
    try:
        async with served(edge_runtime, enrichment=enrichment) as client:
            h = await session(client, {})
            first = await call_tool(client, h, "enrich_anime", {"anime": "mal-1", "sources": ["jikan"]})
            assert not first["result"].get("isError"), first
            second = await call_tool(client, h, "enrich_anime", {"anime": "mal-5", "sources": ["jikan"]}, id_=3)
    finally:
        fake.heal()
    text = second["result"]["content"][0]["text"]
    assert second["result"]["isError"] and "already queued or running" in text and "unexpectedly" not in text


async def test_expensive_slot_caps_concurrency():
    async def no_index():
        raise AssertionError("the slot needs no index")

    calls = AppState(loader=no_index, max_concurrent_expensive=2)
    running = peak = 0

    async def job():
        nonlocal running, peak
        async with calls.expensive_slot():
            running += 1
            peak = max(peak, running)
            await anyio.sleep(0.05)
            running -= 1

    async with anyio.create_task_group() as tg:
        for _ in range(7):
            tg.start_soon(job)
    assert peak == 2
    with pytest.raises(ValueError, match="at least 1"):
        ExpensiveCalls(0)


async def test_admin_tokens_without_auth_tokens_guard_enrichment(fake, tmp_path):
    """Loopback without auth tokens but with ANIME_MCP_ADMIN_TOKENS: anyone may search, only an
    admin token may use enrichment (the rule from before OAuth)."""
    enrichment = fake.settings(tmp_path / "cache")
    async with served(None, loader=_no_index, enrichment=enrichment, admin_tokens=[SecretStr("adm-token")]) as client:
        anonymous = await session(client, {})
        refused = await call_tool(client, anonymous, "enrichment_status", {"job_id": "abc"})
        assert refused["result"]["isError"] and "anime:admin" in refused["result"]["content"][0]["text"]
        admin = await session(client, {"authorization": "Bearer adm-token"})
        allowed = await call_tool(client, admin, "enrichment_status", {"job_id": "abc"})
        assert "no enrichment job" in allowed["result"]["content"][0]["text"]


async def test_user_facing_errors_lose_server_paths(tmp_path):
    """Any message meant for the user (image model, index, enrichment...) reaches a remote caller
    without the server's paths, keeping what to change; URLs and model names stay."""
    from mcp.server.mcpserver.exceptions import ToolError

    from index.embedding.errors import ImageModelUnavailable
    from tools.common import tool_errors

    @tool_errors
    async def search_anime_by_image():
        raise ImageModelUnavailable(
            f"image model config {tmp_path}/models/clip.json does not exist; set "
            "ANIME_MCP_IMAGE_MODEL (e.g. ViT-B-32 from laion/CLIP or https://x.org/m)"
        )

    with pytest.raises(ToolError) as caught:
        await search_anime_by_image()
    message = str(caught.value)
    assert str(tmp_path) not in message and "clip.json" not in message
    assert "ANIME_MCP_IMAGE_MODEL" in message and "laion/CLIP" in message and "https://x.org/m" in message
