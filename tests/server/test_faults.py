"""Faults a host meets: the indexer killed mid-run (SIGKILL), a store that cannot be opened, a
client that hangs up mid-call. Each must leave a usable system and a clear message."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.index_fixtures import MAL_FILE
from tests.served import ROOT, cli_env, run_cli, start_http_server, stop_server

pytestmark = pytest.mark.slow
N = 120


@pytest.fixture(scope="module")
def killed_then_resumed(tmp_path_factory, tiny_clip, text_model_path):
    """Index a 120-entry slice, SIGKILL the indexer part-way, then run it again to the end."""
    base = tmp_path_factory.mktemp("faults")
    slice_file = base / "slice.json"
    slice_file.write_text(json.dumps({"data": json.loads(MAL_FILE.read_text())["data"][:N]}))
    env = cli_env(base / "data", tiny_clip)
    log = base / "first.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "index", str(slice_file), "--no-images", "--batch-size", "8"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        deadline, done = time.monotonic() + 300, 0
        while time.monotonic() < deadline and proc.poll() is None:
            counts = [int(m) for m in re.findall(rf"(\d+)/{N}", log.read_text(errors="replace"))]
            done = max(counts, default=0)
            if done >= 24:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"indexer ended before the kill: {log.read_text()[-1500:]}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert 0 < done < N, done
    again = run_cli(env, "index", str(slice_file), "--no-images", "--batch-size", "8")
    assert again.returncode == 0, again.stderr[-3000:]
    return env, slice_file, done, again.stderr


def test_sigkill_mid_ingestion_then_rerun_gives_a_complete_valid_index(killed_then_resumed):
    env, slice_file, done_before_kill, rerun_log = killed_then_resumed
    summary = re.search(r"indexed (\d+) new, updated (\d+), skipped (\d+) unchanged, failed 0", rerun_log)
    assert summary, rerun_log[-1500:]
    new, updated, skipped = map(int, summary.groups())
    assert new + updated + skipped == N and skipped >= done_before_kill - 16  # at most the batches in flight are redone
    stats = run_cli(env, "stats")
    assert stats.returncode == 0, stats.stderr[-2000:]
    assert json.loads(stats.stdout)["entries"] == N
    # every stored entry equals its source: a third run finds all of them unchanged (content hashes match)
    third = run_cli(env, "index", str(slice_file), "--no-images")
    assert third.returncode == 0 and f"skipped {N} unchanged" in third.stderr, third.stderr[-1500:]
    found = run_cli(env, "search", "Cowboy Bebop", "--limit", "3")
    assert found.returncode == 0 and "Cowboy Bebop" in found.stdout


@pytest.mark.parametrize("damage", ["garbage", "empty_files", "not_a_dir"])
def test_broken_store_gives_one_line_error(killed_then_resumed, tmp_path, damage):
    env = killed_then_resumed[0]
    bad = tmp_path / "bad"
    shutil.copytree(env["ANIME_MCP_DATA_DIR"], bad)
    store = bad / "anime"
    if damage == "not_a_dir":
        shutil.rmtree(store)
        store.write_text("not a store")
    else:
        for f in store.rglob("*"):
            if f.is_file():
                f.write_bytes(b"\x00garbage\xff" * 7 if damage == "garbage" else b"")
    result = run_cli(env, "stats", "--data-dir", str(bad), timeout=300)
    assert result.returncode != 0, result.stdout[:500]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stdout == ""


def test_client_hanging_up_mid_call_leaves_server_alive(killed_then_resumed):
    env = killed_then_resumed[0]
    proc, base = start_http_server(env)
    try:
        headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
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
        for _ in range(5):  # hang up right after sending the call, before any answer
            with httpx.Client(base_url=base, timeout=10) as c:
                r = c.post("/mcp", json=init, headers=headers)
                h = {**headers, "mcp-session-id": r.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
                c.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=h)
                call = {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {
                        "name": "search_anime",
                        "arguments": {"query": "a long quiet journey " * 50, "limit": 50},
                    },
                }
                try:
                    c.post("/mcp", json=call, headers=h, timeout=0.05)
                except httpx.TimeoutException:
                    pass
        with httpx.Client(base_url=base, timeout=60) as c:
            r = c.post("/mcp", json=init, headers=headers)
            assert r.status_code == 200
            h = {**headers, "mcp-session-id": r.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
            c.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=h)
            r = c.post(
                "/mcp",
                json={
                    "jsonrpc": "2.0",
                    "id": 3,
                    "method": "tools/call",
                    "params": {"name": "search_anime", "arguments": {"query": "space bounty hunters", "limit": 3}},
                },
                headers=h,
            )
            assert r.status_code == 200 and "structuredContent" in r.text
        assert proc.poll() is None and httpx.get(f"{base}/health").json()["status"] == "ok"
    finally:
        stop_server(proc)
    assert "Traceback" not in proc.stderr.read()


SAMPLE = ["mal-1", "mal-5", "mal-6", "mal-7", "mal-8"]


async def _count_and_sample(base: str) -> tuple[int, dict[str, dict]]:
    from mcp import Client

    async with Client(f"{base}/mcp") as client:
        stats = await client.call_tool("anime_database_stats", {})
        entries = {}
        for anime in SAMPLE:
            got = await client.call_tool("get_anime", {"anime": anime})
            assert not got.is_error, got.content
            entries[anime] = got.structured_content
        return stats.structured_content["entries"], entries


@pytest.mark.anyio
async def test_sigkill_during_enrichment_loses_nothing_and_a_rerun_completes(killed_then_resumed, tmp_path):
    """The server is killed while an enrichment job is fetching (a slow source); after a restart every
    entry is still there and unchanged, and enriching again completes and updates the entry in place."""
    from tests.fake_sources import FakeSources

    base_env = killed_then_resumed[0]
    with FakeSources() as fake:
        settings = fake.settings(tmp_path / "cache", enrichment_timeout=60.0)
        env = {**base_env, "ANIME_MCP_ENRICHMENT_ENABLED": "true", "ANIME_MCP_RATE_LIMIT_PER_MINUTE": "0"}
        for name in settings.model_fields_set:
            env[f"ANIME_MCP_{name.upper()}"] = str(getattr(settings, name))
        fake.fail("jikan", "slow", delay=30.0, path="/episodes")

        proc, base = start_http_server(env)
        try:
            count, before = await _count_and_sample(base)
            assert count == N
            from mcp import Client

            async with Client(f"{base}/mcp") as client:
                started = await client.call_tool("enrich_anime", {"anime": "mal-1"})
                assert not started.is_error, started.content
            deadline = time.monotonic() + 60
            while not fake.requests("jikan", path="/episodes") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert fake.requests("jikan", path="/episodes"), "the job never reached the slow source"
            os.kill(proc.pid, signal.SIGKILL)  # mid-job: sources half answered, nothing merged yet
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()

        fake.heal()
        proc, base = start_http_server(env)
        try:
            count, after = await _count_and_sample(base)
            assert count == N and after == before  # no entry lost or half-written
            from mcp import Client

            async with Client(f"{base}/mcp") as client:
                done = await client.call_tool("enrich_anime", {"anime": "mal-1", "wait_seconds": 90})
                assert done.structured_content["state"] == "done", done.structured_content
            count, final = await _count_and_sample(base)
            assert count == N
            assert len(final["mal-1"]["characters"]) > len(before["mal-1"]["characters"])
            assert all(final[a] == before[a] for a in SAMPLE[1:])  # the others untouched
        finally:
            stop_server(proc)
