"""The real HTTP app (the server's middleware, the SDK's transports) in process, for tests that need
several client addresses on one app or to drive the ASGI interface by hand (a body that never ends)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx

from server.app import build_server
from server.settings import ServerSettings
from server.state import AppState
from server.transports import http_app

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


async def no_index() -> Any:
    raise RuntimeError("no index here")


@asynccontextmanager
async def running_app(
    loader: Callable[[], Awaitable[Any]] = no_index, state: AppState | None = None, **settings: Any
) -> AsyncIterator[Any]:
    """The secured ASGI app with its lifespan running."""
    config = ServerSettings(_env_file=None, **{"transport": "http", **settings})
    state = state or AppState(loader=loader, admin_tokens=config.admin_token_values())
    app = http_app(build_server(state), state, config)
    inner = app.app  # SecurityMiddleware wraps the SDK's Starlette app
    async with inner.router.lifespan_context(inner):
        yield app


@asynccontextmanager
async def client_of(app: Any, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000", timeout=30) as client:
        yield client


def rpc(response: httpx.Response) -> dict:
    """The JSON-RPC message of a response (plain JSON or the first SSE event)."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    raise AssertionError(f"no JSON-RPC message in {response.status_code} {response.text[:300]!r}")


async def open_session(client: httpx.AsyncClient, headers: dict | None = None) -> httpx.Response:
    return await client.post("/mcp", json=INIT, headers={**MCP_HEADERS, **(headers or {})})


def session_headers(opened: httpx.Response, headers: dict | None = None) -> dict:
    return {
        **MCP_HEADERS,
        **(headers or {}),
        "mcp-session-id": opened.headers["mcp-session-id"],
        "mcp-protocol-version": "2025-11-25",
    }


def tool_call(name: Any, arguments: Any, id_: int = 2) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


async def raw_asgi(
    app: Any, method: str, path: str, headers: dict[str, str], chunks: list[bytes], *, then_wait: bool = False
) -> tuple[int, bytes]:
    """Drive the ASGI app by hand: send ``chunks`` (more_body between them); with ``then_wait`` the client
    then sends nothing more, as a client that declared more than it sends. Returns (status, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "127.0.0.1:8000", **headers}.items()],
        "client": ("127.0.0.1", 50001),
        "server": ("127.0.0.1", 8000),
    }
    pending = [
        {"type": "http.request", "body": c, "more_body": then_wait or i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    done = anyio.Event()
    status, body = 0, bytearray()

    async def receive() -> dict:
        if pending:
            return pending.pop(0)
        await done.wait()  # a client that never sends the rest
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    done.set()
    return status, bytes(body)
