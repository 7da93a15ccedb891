"""A real `anime-mcp serve --transport http` on loopback over a copy of a benchmark index, and a plain
JSON-RPC client for it (raw requests: the fuzz and the soak send what a well-behaved client would not).
Used by bench/fuzz.py and bench/soak.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
}
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_http(env: dict[str, str], port: int, ready_within: float = 180.0) -> subprocess.Popen:
    """`anime-mcp serve --transport http` on loopback ``port`` with ``env``, returned once /health says ok; a server
    that exits or stays unhealthy is a RuntimeError (and is killed)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--transport", "http", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"HTTP server exited: {proc.stderr.read()[-2000:] if proc.stderr else ''}")
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"HTTP server did not become healthy in {ready_within:.0f} s")


@contextmanager
def server_on_copy(index: Path, **env: str) -> Iterator[tuple[str, psutil.Process]]:
    """(base URL, server process) of a server on a sparse copy of ``index`` (the original stays untouched
    and free for other runs); stopped and the copy removed on exit."""
    from bench.cold_start import copy_index

    if not (index / "anime").is_dir():
        raise SystemExit(f"no index at {index}: build it with `make {index}/.built`")
    with tempfile.TemporaryDirectory(prefix="anime-mcp-bench-") as tmp:
        data = copy_index(index, Path(tmp) / "data")
        port = free_port()
        environment = {**os.environ, "ANIME_MCP_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", **env}
        proc = start_http(environment, port, ready_within=300)
        try:
            yield f"http://127.0.0.1:{port}", psutil.Process(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def message(response: httpx.Response) -> dict[str, Any] | None:
    """The JSON-RPC message of a response (plain JSON or the first SSE event), None when there is none."""
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            return response.json()
        except ValueError:
            return None
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    return None


async def open_session(client: httpx.AsyncClient, base: str) -> dict[str, str]:
    """Headers of a new initialized 2025-11-25 session."""
    opened = await client.post(f"{base}/mcp", json=INIT, headers=HEADERS)
    opened.raise_for_status()
    headers = {**HEADERS, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    await client.post(f"{base}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


def rss_mb(proc: psutil.Process) -> float:
    return proc.memory_info().rss / 1e6
