"""The real command: `anime-mcp index` then `anime-mcp serve` as subprocesses, over stdio and
streamable HTTP, and the official MCP Inspector CLI against the stdio server (when npx exists)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters

from index_fixtures import MAL_FILE

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def served_dir(tmp_path_factory, tiny_clip, text_model_path):
    """A data dir indexed by the CLI from a 120-entry slice, and the env a served process needs."""
    base = tmp_path_factory.mktemp("served")
    data = json.loads(MAL_FILE.read_text())["data"]
    slice_file = base / "slice.json"
    slice_file.write_text(json.dumps({"data": data[:120]}))
    config, checkpoint = tiny_clip
    env = {**os.environ, "ANIME_MCP_DATA_DIR": str(base / "data"), "ANIME_MCP_PROFILE": "lite",
           "ANIME_MCP_IMAGE_MODEL": str(config), "ANIME_MCP_IMAGE_PRETRAINED": str(checkpoint),
           "ANIME_MCP_DEVICE": "cpu", "ANIME_MCP_LOG_LEVEL": "INFO", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "server.cli", "index", str(slice_file), "--no-images"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "indexed 120 new" in proc.stderr
    assert proc.stdout == ""  # progress and summary go to stderr
    again = subprocess.run([sys.executable, "-m", "server.cli", "index", str(slice_file), "--no-images"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "skipped 120 unchanged" in again.stderr
    return env


def test_stdio_subprocess_speaks_only_protocol_on_stdout(served_dir):
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], cwd=ROOT, env=served_dir,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
        started = time.monotonic()
        proc.stdin.write(json.dumps(init) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        assert time.monotonic() - started < 20, "initialize must not wait for the models"
        reply = json.loads(line)
        assert reply["id"] == 1 and "result" in reply
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "search_anime", "arguments": {"query": "space bounty hunters", "limit": 3}}}
        proc.stdin.write(json.dumps(call) + "\n")
        proc.stdin.flush()
        reply = json.loads(proc.stdout.readline())
        assert reply["id"] == 2 and reply["result"]["structuredContent"]["results"]
    finally:
        out, err = proc.communicate(timeout=30)  # closes stdin: the server exits
    for extra in out.splitlines():  # anything else on stdout must be JSON-RPC too
        assert json.loads(extra)["jsonrpc"] == "2.0"
    assert "index ready" in err


@pytest.mark.anyio
async def test_stdio_with_the_sdk_client(served_dir):
    params = StdioServerParameters(command=sys.executable, args=["-m", "server.cli", "serve"], env=served_dir,
                                   cwd=str(ROOT))
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "search_anime" in tools
        result = await client.call_tool("search_anime", {"query": "ninja village", "limit": 3})
        assert not result.is_error and result.structured_content["results"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server(served_dir):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--transport", "http", "--port", str(port)],
                            cwd=ROOT, env=served_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("HTTP server did not become healthy")
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.anyio
async def test_streamable_http(http_server):
    health = httpx.get(f"{http_server}/health").json()
    assert health["status"] == "ok" and health["entries"] == 120
    async with Client(f"{http_server}/mcp") as client:
        result = await client.call_tool("search_anime", {"query": "space bounty hunters", "limit": 3})
        assert not result.is_error and result.structured_content["results"]


@pytest.mark.skipif(shutil.which("npx") is None, reason="npx is not installed")
def test_mcp_inspector_cli_lists_and_calls_tools(served_dir):
    env = {**served_dir, "npm_config_yes": "true"}
    cmd = ["npx", "-y", "@modelcontextprotocol/inspector", "--cli"]
    for k in ("ANIME_MCP_DATA_DIR", "ANIME_MCP_IMAGE_MODEL", "ANIME_MCP_IMAGE_PRETRAINED", "ANIME_MCP_PROFILE"):
        cmd += ["-e", f"{k}={served_dir[k]}"]
    server = [sys.executable, "-m", "server.cli", "serve"]
    try:
        listed = subprocess.run([*cmd, *server, "--method", "tools/list"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip("the Inspector could not be fetched from npm in time")
    if listed.returncode != 0 and ("npm ERR" in listed.stderr or "ENOTFOUND" in listed.stderr):
        pytest.skip(f"the Inspector is not installable here: {listed.stderr[-300:]}")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "search_anime" in listed.stdout
    called = subprocess.run([*cmd, *server, "--method", "tools/call", "--tool-name", "search_anime",
                             "--tool-arg", "query=space bounty hunters", "--tool-arg", "limit=3"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert called.returncode == 0, called.stderr[-2000:]
    assert json.loads(called.stdout)["structuredContent"]["results"]
