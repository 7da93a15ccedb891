"""Performance benchmark: latency per layer, HTTP throughput, memory, disk, cold start.

Why: every layer above the store (engine, MCP framing, stdio, HTTP) must cost little next to the "bare" work
(query encoding + one raw store query), and the HTTP server must use concurrency. One command, bounded loops,
loopback only; it works on a copy of the index, so a running server keeps its directory lock.

    ANIME_MCP_DATA_DIR=/tmp/idx_bench .venv/bin/python -m bench.performance [--quick]
Writes bench/results/performance-cpu.md (and .json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
from mcp import Client, StdioServerParameters

from index.runtime import open_runtime
from index.search.queries import fused_request
from index.settings import StorageSettings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
log = logging.getLogger("bench.performance")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def load_texts() -> list[str]:
    data = json.loads((Path(__file__).resolve().parent / "queries.json").read_text(encoding="utf-8"))
    return [q["query"] for q in data["queries"]]


async def timed_loop(fn: Callable[[str], Awaitable[Any]], texts: list[str], n: int, warm: int = 5) -> list[float]:
    for t in texts[:warm]:
        await fn(t)
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        await fn(texts[i % len(texts)])
        out.append((time.perf_counter() - t0) * 1000)
    return out


def dir_size(path: Path) -> int:
    # blocks actually used: the engine's mmap files are sparse, so their apparent size (st_size) overstates
    # the disk use about tenfold; measured on the original index, since a copy is not sparse
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def search_ok(result: Any) -> None:
    if result.is_error or not (result.structured_content or {}).get("results"):
        raise RuntimeError(f"search_anime failed: {result.content}")


async def in_process(texts: list[str], n: int) -> dict[str, list[float]]:
    """Bare (encode + raw store query), engine.search_text, and search_anime through an in-process mcp.Client."""
    from server.app import build_server
    from server.state import AppState

    rt = await open_runtime(create=False)
    engine = rt.engine
    try:
        async def bare(q: str) -> None:
            legs = await engine._text_legs(q, None)  # the same query encoding + legs the engine uses
            await rt.store.query(fused_request(legs, settings=engine.settings, query_filter=None, limit=10))

        async def eng(q: str) -> None:
            await engine.search_text(q, limit=10)

        res = {"bare": await timed_loop(bare, texts, n), "engine": await timed_loop(eng, texts, n)}

        async def loader():
            return rt

        async with Client(build_server(AppState(loader=loader))) as c:
            async def tool(q: str) -> None:
                search_ok(await c.call_tool("search_anime", {"query": q, "limit": 10}))
            res["mcp in-process"] = await timed_loop(tool, texts, n)
        # the bare reference again at the end: machine noise shows as a difference between the two
        res["bare (again)"] = await timed_loop(bare, texts, n)
        return res
    finally:
        await rt.close()


async def stdio(texts: list[str], n: int, env: dict[str, str]) -> tuple[float, list[float]]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "server.cli", "serve"], env=env, cwd=str(ROOT))
    t0 = time.perf_counter()
    async with Client(params) as c:
        search_ok(await c.call_tool("search_anime", {"query": texts[0], "limit": 10}))
        cold = time.perf_counter() - t0

        async def tool(q: str) -> None:
            search_ok(await c.call_tool("search_anime", {"query": q, "limit": 10}))
        return cold, await timed_loop(tool, texts, n)


def start_http(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--transport", "http", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"HTTP server exited: {proc.stderr.read()[-2000:]}")
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("HTTP server did not become healthy in 180 s")


async def http_phase(texts: list[str], n: int, per_level: int, mem_queries: int, env: dict[str, str]) -> dict[str, Any]:
    port = free_port()
    proc = start_http(env, port)
    ps = psutil.Process(proc.pid)
    url = f"http://127.0.0.1:{port}/mcp"
    out: dict[str, Any] = {}
    try:
        async with Client(url) as c:
            async def tool(q: str) -> None:
                search_ok(await c.call_tool("search_anime", {"query": q, "limit": 10}))
            out["latency"] = await timed_loop(tool, texts, n)
        out["rss_after_load_mb"] = ps.memory_info().rss / 2**20

        throughput = {}
        for clients in (1, 8, 32):
            each = max(2, per_level // clients)
            lat: list[float] = []

            async def worker(w: int) -> None:
                async with Client(url) as c:
                    await c.call_tool("search_anime", {"query": texts[w % len(texts)], "limit": 10})  # session warm
                    await ready.wait()
                    for i in range(each):
                        t0 = time.perf_counter()
                        search_ok(await c.call_tool("search_anime",
                                                    {"query": texts[(w * 7 + i) % len(texts)], "limit": 10}))
                        lat.append((time.perf_counter() - t0) * 1000)

            ready = asyncio.Event()
            tasks = [asyncio.create_task(worker(w)) for w in range(clients)]
            await asyncio.sleep(0.5 + 0.05 * clients)  # let every session open before the clock starts
            t0 = time.perf_counter()
            ready.set()
            await asyncio.gather(*tasks)
            wall = time.perf_counter() - t0
            throughput[clients] = {"requests": len(lat), "rps": len(lat) / wall, "p50": pct(lat, 50),
                                   "p99": pct(lat, 99)}
        out["throughput"] = throughput

        async with Client(url) as c:
            done = 0
            while done < mem_queries:
                await asyncio.gather(*[c.call_tool("search_anime", {"query": texts[(done + j) % len(texts)],
                                                                    "limit": 10}) for j in range(8)])
                done += 8
        out["mem_queries"] = done
        out["rss_after_queries_mb"] = ps.memory_info().rss / 2**20
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def render(r: dict[str, Any], quick: bool) -> str:
    # reference: both bare loops pooled (one before, one after the in-process layers), so drift of a shared
    # 2-core machine during the run does not land on one side of the ratio only
    bare = statistics.median(r["latency"]["bare"] + r["latency"]["bare (again)"])
    rows = ["| layer | p50 ms | p99 ms | p50 / bare |", "|---|---:|---:|---:|"]
    for name, vals in r["latency"].items():
        rows.append(f"| {name} | {pct(vals, 50):.1f} | {pct(vals, 99):.1f} | {pct(vals, 50) / bare:.2f}x |")
    tp = r["http"]["throughput"]
    trows = ["| concurrent HTTP clients | requests | req/s | p50 ms | p99 ms | req/s vs 1 client |",
             "|---:|---:|---:|---:|---:|---:|"]
    for c, v in tp.items():
        trows.append(f"| {c} | {v['requests']} | {v['rps']:.1f} | {v['p50']:.1f} | {v['p99']:.1f} | "
                     f"{v['rps'] / tp[1]['rps']:.2f}x |")
    stdio_ratio = pct(r["latency"]["stdio search_anime"], 50) / bare
    tp_ratio = tp[32]["rps"] / tp[1]["rps"]
    t1 = ("HOLD" if stdio_ratio <= 1.3 else "MISS") + f": stdio search_anime p50 = {stdio_ratio:.2f}x bare (target <= 1.3x)"
    t2 = ("HOLD" if tp_ratio >= 3 else "MISS") + f": 32-client throughput = {tp_ratio:.2f}x the 1-client rate (target >= 3x)"
    return "\n".join([
        f"# Performance ({'quick' if quick else 'full'} run, CPU)", "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; index {r['entries']} entries at a copy of {r['source']}; "
        f"profile {os.environ.get('ANIME_MCP_PROFILE', 'default')}; {r['n']} timed searches per layer, "
        "queries from bench/queries.json (search_anime limit 10). 'bare' = query encoding + one raw store query "
        "(the same fused request), measured twice in the same run and pooled as the reference. The benchmark client runs "
        "on the same machine and takes CPU from the server. HTTP server run with ANIME_MCP_RATE_LIMIT_PER_MINUTE=0 "
        "(the default 120 calls/min per client would cap the load test).", "",
        "## Latency", "", *rows, "",
        "## Throughput (streamable HTTP, loopback)", "", *trows, "",
        "## Memory, disk, cold start", "",
        f"- server RSS after load (HTTP, after the latency loop): {r['http']['rss_after_load_mb']:.0f} MiB",
        f"- server RSS after {r['http']['mem_queries']} more queries: {r['http']['rss_after_queries_mb']:.0f} MiB",
        f"- index on disk: {r['disk_mb']:.1f} MiB",
        f"- cold start (process start to first answered search_anime over stdio): {r['cold_start_s']:.1f} s", "",
        "## Targets", "", f"- {t1}", f"- {t2}", "",
    ])


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (about a minute)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    n, per_level, mem_q = (40, 64, 200) if args.quick else (200, 256, 1000)
    source = Path(StorageSettings().data_dir if hasattr(StorageSettings(), "data_dir")
                  else os.environ["ANIME_MCP_DATA_DIR"]).expanduser()
    texts = load_texts()
    with tempfile.TemporaryDirectory(prefix="anime-perf-") as tmp:
        copy = Path(tmp) / "index"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("*.lock", "lock"))
        os.environ["ANIME_MCP_DATA_DIR"] = str(copy)
        # the per-client rate limit (default 120 calls/min, all loopback clients count as one) is for
        # exposed servers; this benchmark measures capacity, so it is off here
        env = {**os.environ, "ANIME_MCP_LOG_LEVEL": "WARNING", "ANIME_MCP_RATE_LIMIT_PER_MINUTE": "0"}
        r: dict[str, Any] = {"n": n, "source": str(source), "disk_mb": dir_size(source) / 2**20}
        r["latency"] = await in_process(texts, n)
        rt = await open_runtime(create=False, warmup=False)
        r["entries"] = (await rt.engine.stats()).entries
        await rt.close()
        r["cold_start_s"], r["latency"]["stdio search_anime"] = await stdio(texts, n, env)
        r["http"] = await http_phase(texts, n, per_level, mem_q, env)
        r["latency"]["http search_anime"] = r["http"].pop("latency")
    text = render(r, args.quick)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "performance-cpu-quick" if args.quick else "performance-cpu"
    notes = args.out / "performance-notes.md"  # hand-written analysis of the measured numbers
    (args.out / f"{name}.md").write_text(text + ("\n" + notes.read_text() if notes.exists() else ""), encoding="utf-8")
    (args.out / f"{name}.json").write_text(json.dumps(r, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
