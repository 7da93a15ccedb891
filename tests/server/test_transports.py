"""The real command: `anime-mcp index` then `anime-mcp serve` as subprocesses, over stdio and
streamable HTTP, and the official MCP Inspector CLI against the stdio server (when npx exists)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.index_fixtures import MAL_FILE
from tests.served import ROOT, cli_env, run_cli, start_http_server, stop_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def served_dir(tmp_path_factory, tiny_clip, text_model_path):
    """A data dir indexed by the CLI from a 120-entry slice, and the env a served process needs."""
    base = tmp_path_factory.mktemp("served")
    data = json.loads(MAL_FILE.read_text())["data"]
    slice_file = base / "slice.json"
    slice_file.write_text(json.dumps({"data": data[:120]}))
    env = cli_env(base / "data", tiny_clip, ANIME_MCP_LOG_LEVEL="INFO")
    proc = run_cli(env, "index", str(slice_file), "--no-images")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "indexed 120 new" in proc.stderr
    assert proc.stdout == ""  # progress and summary go to stderr
    again = run_cli(env, "index", str(slice_file), "--no-images")
    assert again.returncode == 0 and "skipped 120 unchanged" in again.stderr
    return env


def test_stdio_subprocess_speaks_only_protocol_on_stdout(served_dir):
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        cwd=ROOT,
        env=served_dir,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        init = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        }
        started = time.monotonic()
        proc.stdin.write(json.dumps(init) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        assert time.monotonic() - started < 20, "initialize must not wait for the models"
        reply = json.loads(line)
        assert reply["id"] == 1 and "result" in reply
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "search_anime", "arguments": {"query": "space bounty hunters", "limit": 3}},
        }
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
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "server.cli", "serve"], env=served_dir, cwd=str(ROOT)
    )
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "search_anime" in tools
        result = await client.call_tool("search_anime", {"query": "ninja village", "limit": 3})
        assert not result.is_error and result.structured_content["results"]


@pytest.fixture
def http_server(served_dir):
    proc, base = start_http_server(served_dir)
    yield base
    stop_server(proc)


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
        listed = subprocess.run(
            [*cmd, *server, "--method", "tools/list"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
    except subprocess.TimeoutExpired:
        pytest.skip("the Inspector could not be fetched from npm in time")
    if listed.returncode != 0 and ("npm ERR" in listed.stderr or "ENOTFOUND" in listed.stderr):
        pytest.skip(f"the Inspector is not installable here: {listed.stderr[-300:]}")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "search_anime" in listed.stdout
    called = subprocess.run(
        [
            *cmd,
            *server,
            "--method",
            "tools/call",
            "--tool-name",
            "search_anime",
            "--tool-arg",
            "query=space bounty hunters",
            "--tool-arg",
            "limit=3",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert called.returncode == 0, called.stderr[-2000:]
    assert json.loads(called.stdout)["structuredContent"]["results"]
