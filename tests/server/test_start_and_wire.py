"""The HTTP server on a real socket and its start-up (issue 21 rows 5, 7, 9): header bytes and
header deadline enforced by the server's uvicorn protocol, an index held by another process waited
for (``starting`` on /health, then served), and a tokens file that cannot be read stopping the start
with one line."""

from __future__ import annotations

import time

import anyio
import pytest
import uvicorn

from index.storage.base import IndexInUseError
from server.settings import ServerSettings
from server.state import AppState
from server.transports import uvicorn_config
from tests.served import free_port, run_cli
from tests.server.http_harness import client_of, open_session, rpc, running_app, session_headers, tool_call

pytestmark = pytest.mark.anyio


async def hello(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def serving(**limits):
    """uvicorn, configured the way `anime-mcp serve` configures it, on a free loopback port."""
    settings = ServerSettings(_env_file=None, transport="http", port=free_port(), log_level="WARNING", **limits)
    server = uvicorn.Server(uvicorn_config(hello, settings))
    return server, settings.port


async def read_all(stream, limit: float) -> bytes:
    data = bytearray()
    with anyio.move_on_after(limit):
        try:
            while True:
                data.extend(await stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
            pass
    return bytes(data)


async def test_header_cap_and_header_deadline_on_a_real_socket():
    server, port = await serving(max_header_bytes=8 * 1024, header_timeout=0.5)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.02)
        try:
            # a normal request still works
            async with await anyio.connect_tcp("127.0.0.1", port) as s:
                await s.send(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
                assert b"200" in (await read_all(s, 2)).split(b"\r\n")[0]
            # 20 kB of headers: 431
            async with await anyio.connect_tcp("127.0.0.1", port) as s:
                await s.send(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n" + b"x-filler: " + b"a" * 20_000 + b"\r\n")
                assert (await read_all(s, 2)).startswith(b"HTTP/1.1 431")
            # 1 MB of headers: the connection is closed long before they are all sent
            async with await anyio.connect_tcp("127.0.0.1", port) as s:
                await s.send(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n")
                sent = 0
                try:
                    while sent < 1024 * 1024:
                        await s.send(b"x-filler: " + b"a" * 4000 + b"\r\n")
                        sent += 4012
                except (anyio.BrokenResourceError, ConnectionResetError, BrokenPipeError):
                    pass
            assert sent < 1024 * 1024, sent
            # headers sent one byte at a time: the deadline closes the connection (no extension per byte)
            started = time.monotonic()
            async with await anyio.connect_tcp("127.0.0.1", port) as s:
                try:
                    for byte in b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: " + b"a" * 100:
                        await s.send(bytes([byte]))
                        await anyio.sleep(0.05)  # 7 s in all if the server waited
                    await read_all(s, 2)
                except (anyio.BrokenResourceError, ConnectionResetError, BrokenPipeError):
                    pass
            assert time.monotonic() - started < 3
            # a connection that never sends anything is closed too
            async with await anyio.connect_tcp("127.0.0.1", port) as s:
                assert (await read_all(s, 3)).startswith(b"HTTP/1.1 408")
        finally:
            server.should_exit = True


class StubStore:
    backend = "stub"

    async def count(self) -> int:
        return 7


def stub_runtime():
    """Enough of an IndexRuntime for /health (the tools' own tests use the real one)."""
    from types import SimpleNamespace

    store = StubStore()
    return SimpleNamespace(
        store=store, engine=SimpleNamespace(store=store), embedder=SimpleNamespace(image_status="off")
    )


async def test_locked_index_is_waited_for_then_served(monkeypatch):
    """Row 5: while another process holds the index /health says starting (and why), a tool call
    says so in one line instead of hanging, and once the index is free the server serves it."""
    monkeypatch.setattr("server.state.LOCK_WAIT_PER_CALL", 0.5)
    tries = []

    async def held_three_times():
        tries.append(time.monotonic())
        if len(tries) <= 3:
            raise IndexInUseError("the index at /secret/dir is in use by another process")
        return stub_runtime()

    state = AppState(loader=held_three_times, retry_max_seconds=0.6)
    async with running_app(state=state) as app, client_of(app) as client:
        with anyio.fail_after(5):
            while "detail" not in (health := await client.get("/health")).json():
                await anyio.sleep(0.02)
        assert health.status_code == 503 and health.json()["status"] == "starting", health.text
        assert "in use by another process" in health.json()["detail"] and "/secret" not in health.text
        headers = session_headers(await open_session(client))
        reply = rpc(await client.post("/mcp", json=tool_call("get_anime", {"anime": "mal-1"}), headers=headers))
        text = reply["result"]["content"][0]["text"]
        assert reply["result"]["isError"] and "in use by another process" in text and "/secret" not in text
        with anyio.fail_after(10):
            while (health := await client.get("/health")).json()["status"] != "ok":
                await anyio.sleep(0.1)
        assert health.status_code == 200 and health.json()["entries"] == 7 and "detail" not in health.json()
    assert len(tries) == 4
    gaps = [b - a for a, b in zip(tries, tries[1:], strict=False)]
    assert gaps[1] > gaps[0] * 1.5 and max(gaps) < 1.0  # backoff, capped by retry_max_seconds


@pytest.mark.parametrize("content", [None, "", "# only a comment\n"], ids=["missing", "empty", "no-token"])
def test_unusable_tokens_file_is_one_line(tmp_path, content):
    """Row 9: a missing or empty ANIME_MCP_AUTH_TOKENS_FILE stops `serve` with one line naming the
    variable (it must not start unauthenticated either)."""
    import os

    path = tmp_path / "tokens"
    if content is not None:
        path.write_text(content)
    env = {**os.environ, "ANIME_MCP_AUTH_TOKENS_FILE": str(path), "ANIME_MCP_DATA_DIR": str(tmp_path / "data")}
    done = run_cli(env, "serve", "--transport", "http", "--port", str(free_port()), timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith("error: ANIME_MCP_AUTH_TOKENS_FILE") and "Traceback" not in done.stderr


def test_bad_setting_value_is_one_line(tmp_path):
    import os

    env = {**os.environ, "ANIME_MCP_PORT": "eighty", "ANIME_MCP_DATA_DIR": str(tmp_path)}
    done = run_cli(env, "serve", "--transport", "http", timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and lines == [lines[0]] and "ANIME_MCP_PORT" in lines[0], done.stderr[-2000:]


@pytest.mark.slow
def test_real_index_held_by_another_process_is_served_once_released(tmp_path, tiny_clip, text_model_path):
    """Row 5 end to end: the index locked (the engine's own lock) while `serve` starts; /health says
    starting, then ok once the lock is released, with no restart (was: error forever)."""
    import json
    import subprocess
    import sys

    import httpx
    import qdrant_edge

    from tests.index_fixtures import MAL_FILE
    from tests.served import ROOT, cli_env, stop_server

    slice_file = tmp_path / "slice.json"
    slice_file.write_text(json.dumps({"data": json.loads(MAL_FILE.read_text())["data"][:10]}))
    env = cli_env(tmp_path / "data", tiny_clip, ANIME_MCP_INDEX_RETRY_MAX_SECONDS="1")
    indexed = run_cli(env, "index", str(slice_file), "--no-images")
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    held = qdrant_edge.EdgeShard.load(str(tmp_path / "data" / "anime" / "shard"))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--transport", "http", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        seen = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "detail" not in (seen[-1] if seen else {}):
            try:
                seen.append(httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json())
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert seen and seen[-1]["status"] == "starting" and "in use by another process" in seen[-1]["detail"], seen
        held.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            if health.status_code == 200:
                break
            time.sleep(0.2)
        assert health.status_code == 200 and health.json()["entries"] == 10, health.text
    finally:
        stop_server(proc)
