"""What one HTTP client can cost the server (issue 21 rows 2, 6, 9; issue 20's 429): malformed JSON with
authentication on, bodies larger or slower than allowed, the rate limit and what it counts, refused
tokens, and open sessions per client. Every refusal is a 4xx whose body is a JSON-RPC error."""

from __future__ import annotations

import json

import anyio
import pytest
from pydantic import SecretStr

from tests.server.http_harness import (
    INIT,
    MCP_HEADERS,
    client_of,
    open_session,
    raw_asgi,
    rpc,
    running_app,
    session_headers,
    tool_call,
)

pytestmark = pytest.mark.anyio
TOKEN = "s3cret-token-for-tests-0123456789"
AUTH = {"authorization": f"Bearer {TOKEN}"}
PING = {"jsonrpc": "2.0", "id": 5, "method": "ping"}


def assert_jsonrpc_error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = rpc(response)
    assert body["jsonrpc"] == "2.0" and isinstance(body["error"]["message"], str), body
    assert "Traceback" not in response.text and "/work/" not in response.text
    return body["error"]


@pytest.mark.parametrize("auth", [True, False], ids=["auth", "open"])
async def test_malformed_json_is_a_4xx_jsonrpc_error(auth):
    """Nesting past the parser's limit and a tool name that is a list: a JSON-RPC error, never a 500."""
    settings = {"auth_tokens": [SecretStr(TOKEN)]} if auth else {}
    async with running_app(**settings) as app, client_of(app) as client:
        opened = await open_session(client, AUTH)
        headers = session_headers(opened, AUTH)
        for body in ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000, "[" * 200_000, "{nope"]:
            error = assert_jsonrpc_error(await client.post("/mcp", content=body, headers=headers), 400)
            assert error["code"] == -32700
        listed = await client.post("/mcp", json=tool_call(["enrich_anime"], {}), headers=headers)
        assert listed.status_code < 500 and rpc(listed)["error"]["code"] == -32602, listed.text
        nameless = await client.post("/mcp", json=tool_call({"x": [1]}, []), headers=headers)
        assert nameless.status_code < 500 and "error" in rpc(nameless)


async def test_malformed_json_on_the_legacy_sse_transport_is_a_jsonrpc_error():
    async with running_app(transport="sse", auth_tokens=[SecretStr(TOKEN)]) as app, client_of(app) as client:
        for body in ["[" * 1000 + "]" * 1000, "{nope"]:
            reply = await client.post(
                "/messages/?session_id=0" + "0" * 31, content=body, headers={**MCP_HEADERS, **AUTH}
            )
            assert assert_jsonrpc_error(reply, 400)["code"] == -32700


async def test_declared_size_is_refused_before_the_body_is_read():
    """A declared 5 MB body of which 10 bytes arrive: 413 at once, the connection is not held."""
    async with running_app(auth_tokens=[SecretStr(TOKEN)]) as app:
        headers = {**MCP_HEADERS, **AUTH, "content-length": str(5 * 1024 * 1024)}
        with anyio.fail_after(5):
            status, body = await raw_asgi(app, "POST", "/mcp", headers, [b'{"jsonrpc"'], then_wait=True)
    assert status == 413 and json.loads(body)["error"]["code"] < 0


@pytest.mark.parametrize("auth", [True, False], ids=["auth", "open"])
async def test_streamed_body_is_capped_while_reading(auth):
    """No Content-Length (chunked): the cap applies as the bytes arrive, before the rest is buffered."""
    settings = {"auth_tokens": [SecretStr(TOKEN)]} if auth else {}
    async with running_app(max_request_bytes=1000, **settings) as app:
        headers = {**MCP_HEADERS, **AUTH}
        with anyio.fail_after(5):
            status, body = await raw_asgi(app, "POST", "/mcp", headers, [b"[" * 600, b"[" * 600], then_wait=True)
    assert status == 413 and "ANIME_MCP_MAX_REQUEST_BYTES" in json.loads(body)["error"]["message"]


async def test_slow_body_times_out():
    async with running_app(body_timeout=0.3) as app:
        with anyio.fail_after(5):
            status, body = await raw_asgi(app, "POST", "/mcp", MCP_HEADERS, [b'{"jsonrpc":'], then_wait=True)
    assert status == 408 and "ANIME_MCP_BODY_TIMEOUT" in json.loads(body)["error"]["message"]


async def test_rate_limit_counts_tool_calls_and_answers_jsonrpc_429():
    """ANIME_MCP_RATE_LIMIT_PER_MINUTE says tool calls (and reads): connecting and listing are not
    counted, each call of a batch is, and the 429 is a JSON-RPC error with the request's id."""
    async with running_app(rate_limit_per_minute=3) as app, client_of(app) as client:
        opened = [await open_session(client) for _ in range(6)]  # initialize is not a tool call
        assert [r.status_code for r in opened] == [200] * 6
        headers = session_headers(opened[0])
        listed = await client.post("/mcp", json={"jsonrpc": "2.0", "id": 9, "method": "tools/list"}, headers=headers)
        assert listed.status_code == 200
        codes = []
        for i in range(4):
            reply = await client.post("/mcp", json=tool_call("get_anime", {"anime": "mal-1"}, 10 + i), headers=headers)
            codes.append(reply.status_code)
        assert codes == [200, 200, 200, 429]
        error = assert_jsonrpc_error(reply, 429)
        assert rpc(reply)["id"] == 13 and "ANIME_MCP_RATE_LIMIT_PER_MINUTE" in error["message"]
        assert 1 <= int(reply.headers["retry-after"]) <= 60 and error["data"]["retry_after_seconds"] >= 1
    async with running_app(rate_limit_per_minute=3) as app, client_of(app) as client:
        batch = [tool_call("get_anime", {"anime": "mal-1"}, i) for i in range(4)]
        reply = await client.post("/mcp", json=batch, headers=session_headers(await open_session(client)))
        assert_jsonrpc_error(reply, 429)


async def test_refused_tokens_are_rate_limited_per_address():
    """Row 9: 401s count against the address; past the limit even a valid token from there waits,
    while another address is unaffected."""
    async with running_app(auth_tokens=[SecretStr(TOKEN)], auth_failures_per_minute=3) as app:
        async with client_of(app, "10.0.0.1") as guesser, client_of(app, "10.0.0.2") as other:
            codes = [
                (await guesser.post("/mcp", json=INIT, headers={**MCP_HEADERS, "authorization": f"Bearer g{i}"}))
                for i in range(5)
            ]
            assert [r.status_code for r in codes] == [401, 401, 401, 429, 429]
            assert "ANIME_MCP_AUTH_FAILURES_PER_MINUTE" in assert_jsonrpc_error(codes[-1], 429)["message"]
            assert (await open_session(guesser, AUTH)).status_code == 429
            assert (await open_session(other, AUTH)).status_code == 200


async def test_sessions_are_capped_per_client_and_freed_when_closed():
    """Row 6: one client cannot hold every session; closing one (DELETE) makes room again."""
    async with running_app(max_sessions_per_client=3) as app:
        async with client_of(app, "10.0.0.1") as hog, client_of(app, "10.0.0.2") as other:
            opened = [await open_session(hog) for _ in range(4)]
            assert [r.status_code for r in opened] == [200, 200, 200, 429]
            assert "ANIME_MCP_MAX_SESSIONS_PER_CLIENT" in assert_jsonrpc_error(opened[3], 429)["message"]
            assert (await open_session(other)).status_code == 200
            ended = await hog.delete("/mcp", headers=session_headers(opened[0]))
            assert ended.status_code in (200, 204), ended.text
            assert (await open_session(hog)).status_code == 200
            # requests inside an open session are never refused by the cap
            ping = await hog.post(
                "/mcp", json={"jsonrpc": "2.0", "id": 5, "method": "ping"}, headers=session_headers(opened[1])
            )
            assert ping.status_code == 200


async def test_idle_sessions_expire_and_free_their_slot():
    async with running_app(max_sessions_per_client=1, session_idle_timeout=0.5) as app, client_of(app) as client:
        first = await open_session(client)
        assert first.status_code == 200
        assert (await open_session(client)).status_code == 429
        await anyio.sleep(1.5)
        gone = await client.post(
            "/mcp", json={"jsonrpc": "2.0", "id": 5, "method": "ping"}, headers=session_headers(first)
        )
        assert gone.status_code == 404
        assert (await open_session(client)).status_code == 200
