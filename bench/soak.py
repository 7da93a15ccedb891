"""Bounded soak over HTTP on 127.0.0.1 (issue 21): 10,000 tool calls from 8 concurrent sessions, then 2,000
sessions opened and abandoned (never closed; some with a call, some with an SSE stream dropped midway),
against `anime-mcp serve --transport http` on a copy of the benchmark index. The server's memory (RSS),
open files and threads are sampled as it goes; memory must be flat once warm, and once the abandoned
sessions idle out the server must be back where it was and still answer. Writes bench/results/soak.md/json.

    make .bench-index/.built
    .venv/bin/python -m bench.soak [--calls 10000] [--sessions 2000] [--index .bench-index]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil

from bench.http_run import HEADERS, INIT, ROOT, message, open_session, rss_mb, server_on_copy

RESULTS = ROOT / "bench" / "results"
IDLE_S = 15  # the soak's session idle timeout: abandoned sessions end within it
WORDS = (
    "space pirates robot school magic detective ninja romance time travel sports idol music war demon cooking".split()
)
TITLES = ["Cowboy Bebop", "Naruto", "mal-1", "Monster", "Trigun", "Death Note", "Haruhi", "Evangelion"]


def call(rng: random.Random, i: int) -> dict[str, Any]:
    """An assistant-like mix with varied text (so caches do not answer everything)."""
    query = " ".join(rng.sample(WORDS, 3)) + f" {i % 97}"
    name, args = rng.choice(
        [
            ("search_anime", {"query": query, "limit": 5}),
            ("search_anime", {"query": query, "filters": {"year_min": 1990 + i % 30}, "limit": 5}),
            ("get_anime", {"anime": rng.choice(TITLES)}),
            ("find_similar_anime", {"anime": rng.choice(TITLES), "limit": 5}),
            ("browse_anime", {"filters": {"genres": ["Action"]}, "sort_by": "score", "offset": i % 50, "limit": 5}),
        ]
    )
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": name, "arguments": args}}


def sample(server: psutil.Process, label: str, done: int) -> dict[str, Any]:
    return {
        "at": label,
        "calls": done,
        "rss_mb": round(rss_mb(server), 1),
        "fds": server.num_fds(),
        "threads": server.num_threads(),
    }


async def calls_phase(base: str, server: psutil.Process, total: int, clients: int) -> tuple[list[dict], int]:
    samples: list[dict] = []
    errors = 0
    done = 0
    every = max(1, total // 10)

    async def worker(k: int, client: httpx.AsyncClient) -> None:
        nonlocal done, errors
        rng = random.Random(k)
        headers = await open_session(client, base)
        while done < total:
            done += 1
            n = done
            answer = message(await client.post(f"{base}/mcp", json=call(rng, n), headers=headers))
            result = (answer or {}).get("result") or {}
            if answer is None or "error" in answer or result.get("isError"):
                errors += 1
            if n % every == 0:
                samples.append(sample(server, f"{n} calls", n))

    async with httpx.AsyncClient(timeout=60) as client, anyio.create_task_group() as tg:
        for k in range(clients):
            tg.start_soon(worker, k, client)
    return samples, errors


async def abandon_sessions(base: str, count: int) -> tuple[int, dict[str, str]]:
    """Open ``count`` sessions and walk away: a third make a call, a third open the SSE stream and drop it.
    Returns (how many were refused, the headers of the last one)."""
    refused = 0
    headers: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for i in range(count):
            opened = await client.post(f"{base}/mcp", json=INIT, headers=HEADERS)
            if opened.status_code != 200:
                refused += 1
                continue
            headers = {
                **HEADERS,
                "mcp-session-id": opened.headers["mcp-session-id"],
                "mcp-protocol-version": "2025-11-25",
            }
            if i % 3 == 1:
                await client.post(f"{base}/mcp", json=call(random.Random(i), i), headers=headers)
            elif i % 3 == 2:
                with anyio.move_on_after(0.05):
                    async with client.stream("GET", f"{base}/mcp", headers={**headers, "accept": "text/event-stream"}):
                        await anyio.sleep(1)  # dropped mid-stream by the timeout
    return refused, headers


#: --no-caches: the query and result caches off, so memory growth from them is told apart from a leak.
NO_CACHES = {"ANIME_MCP_QUERY_CACHE_ENABLED": "false", "ANIME_MCP_RESULT_CACHE_ENABLED": "false"}


async def run(index: Path, calls: int, sessions: int, clients: int, extra: dict[str, str]) -> dict[str, Any]:
    env = {
        **extra,
        "ANIME_MCP_RATE_LIMIT_PER_MINUTE": "0",
        "ANIME_MCP_SESSION_IDLE_TIMEOUT": str(IDLE_S),
        "ANIME_MCP_MAX_SESSIONS_PER_CLIENT": str(sessions + 100),  # every loopback client shares one address
        "ANIME_MCP_LOG_LEVEL": "WARNING",
    }
    started = time.monotonic()
    with server_on_copy(index, **env) as (base, server):
        warm, warm_errors = await calls_phase(base, server, min(500, calls), clients)  # caches, allocator pools
        samples = [sample(server, "warm (500 calls)", 0)]
        soak, errors = await calls_phase(base, server, calls, clients)
        samples += soak
        calls_s = time.monotonic() - started
        refused, abandoned = await abandon_sessions(base, sessions)
        samples.append(sample(server, f"{sessions} sessions abandoned", calls))
        await anyio.sleep(IDLE_S + 5)
        samples.append(sample(server, f"{IDLE_S + 5} s later (idle sessions ended)", calls))
        async with httpx.AsyncClient(timeout=60) as client:
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            expired = (await client.post(f"{base}/mcp", json=ping, headers=abandoned)).status_code == 404
            headers = await open_session(client, base)
            last = message(await client.post(f"{base}/mcp", json=call(random.Random(0), 1), headers=headers))
            healthy = (await client.get(f"{base}/health")).json().get("status") == "ok"
        still_answers = bool(last and "result" in last and not last["result"].get("isError")) and healthy
    rss = [s["rss_mb"] for s in samples[1 : len(soak) + 1]]
    return {
        "calls": calls,
        "clients": clients,
        "call_errors": errors + warm_errors,
        "calls_per_s": round((calls + min(500, calls)) / calls_s, 1),
        "sessions_abandoned": sessions,
        "sessions_refused": refused,
        "abandoned_session_expired": expired,
        "samples": samples,
        "rss_growth_over_calls_mb": round(rss[-1] - rss[0], 1) if rss else None,
        "rss_after_sessions_ended_vs_warm_mb": round(samples[-1]["rss_mb"] - samples[0]["rss_mb"], 1),
        "still_answers": still_answers,
        "seconds": round(time.monotonic() - started, 1),
    }


def markdown(result: dict[str, Any], command: str) -> str:
    lines = [
        "# Soak (bench/soak.py)",
        "",
        f"Command: `{command}` (streamable HTTP on 127.0.0.1, the benchmark index; session idle timeout {IDLE_S} s).",
        "",
        f"- {result['calls']:,} tool calls from {result['clients']} sessions at {result['calls_per_s']} calls/s, "
        f"{result['call_errors']} errors; RSS from the first to the last tenth: "
        f"{result['rss_growth_over_calls_mb']:+} MB.",
        f"- {result['sessions_abandoned']:,} sessions opened and abandoned ({result['sessions_refused']} refused); "
        f"the last one answers {'404 (ended by the idle timeout)' if result['abandoned_session_expired'] else 'STILL'} "
        f"after {IDLE_S + 5} s; RSS then vs warm: {result['rss_after_sessions_ended_vs_warm_mb']:+} MB.",
        f"- Afterwards a new session's call {'succeeds' if result['still_answers'] else 'FAILS'} and /health is ok. "
        f"Total {result['seconds']} s.",
        "",
        "| when | calls | RSS MB | open files | threads |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {s['at']} | {s['calls']} | {s['rss_mb']} | {s['fds']} | {s['threads']} |" for s in result["samples"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--index", type=Path, default=ROOT / ".bench-index")
    parser.add_argument("--no-caches", action="store_true", help="query and result caches off (soak-no-caches.md)")
    args = parser.parse_args()
    result = anyio.run(run, args.index, args.calls, args.sessions, args.clients, NO_CACHES if args.no_caches else {})
    command = f".venv/bin/python -m bench.soak --calls {args.calls} --sessions {args.sessions}"
    name = "soak-no-caches" if args.no_caches else "soak"
    if args.no_caches:
        command += " --no-caches"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(result, command))
    print(markdown(result, command))


if __name__ == "__main__":
    main()
