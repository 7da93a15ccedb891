"""Performance benchmark: latency per tool and layer, HTTP throughput, memory, disk, cold start, caches.

Why: every layer above the store (engine, MCP framing, stdio, HTTP) must cost little next to the "bare" work
(query encoding + the raw store calls, bench/perf_latency.py), and the HTTP server must use concurrency. One
command, bounded loops, loopback only; every process (this one, the stdio server, the HTTP server) opens its own
copy of the index, since an embedded index is locked by the process that opened it. Latency and throughput are
measured with the query and result caches off (the queries repeat; a cache would time itself);
bench/cold_start.py times a repeat with them on against the same query with them off, and the cold start
(median of fresh processes).

    ANIME_MCP_DATA_DIR=/tmp/idx_bench .venv/bin/python -m bench.performance [--quick]
Writes bench/results/performance-cpu.md (and .json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from mcp import Client, StdioServerParameters

from bench.cold_start import CACHES_OFF, cached_vs_uncached, cold_start, copy_index
from bench.cold_start import render as render_startup
from bench.http_run import free_port, start_http
from bench.load_test import mix_call
from bench.perf_latency import cases, image_search_error, interleaved
from bench.search_bench import pictures
from index.runtime import open_runtime
from index.settings import StorageSettings
from index.storage.disk_space import disk_bytes

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
log = logging.getLogger(__name__)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def load_texts() -> list[str]:
    data = json.loads((Path(__file__).resolve().parent / "queries.json").read_text(encoding="utf-8"))
    return [q["query"] for q in data["queries"]]


def search_ok(result: Any) -> None:
    if result.is_error or not (result.structured_content or {}).get("results"):
        raise RuntimeError(f"search_anime failed: {result.content}")


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


async def throughput(
    url: str, texts: list[str], per_level: int, server: psutil.Process, ids: list[str] | None = None
) -> dict[int, dict[str, float]]:
    """1, 8 and 32 concurrent MCP clients over HTTP, each sending calls back to back; with the CPU time
    the server and this client process spent per request (they share the machine's cores). With `ids`, the
    assistant-like mix of bench/load_test.py (60% search, 20% get, 10% similar, 10% browse), else searches only."""

    def call(w: int, i: int) -> tuple[str, dict[str, Any]]:
        query = texts[(w * 7 + i) % len(texts)]
        if ids is None:
            return "search_anime", {"query": query, "limit": 10}
        return mix_call(w * 3 + i, query, ids[(w * 5 + i) % len(ids)])

    me = psutil.Process()
    out = {}
    for clients in (1, 8, 32):
        each = max(2, per_level // clients)
        lat: list[float] = []
        ready = asyncio.Event()

        async def worker(w: int, ready: asyncio.Event = ready, each: int = each, lat: list[float] = lat) -> None:
            async with Client(url) as c:
                await c.call_tool("search_anime", {"query": texts[w % len(texts)], "limit": 10})  # session warm
                await ready.wait()
                for i in range(each):
                    tool, args = call(w, i)
                    t0 = time.perf_counter()
                    result = await c.call_tool(tool, args)
                    lat.append((time.perf_counter() - t0) * 1000)
                    if result.is_error:
                        raise RuntimeError(f"{tool} failed: {result.content}")

        tasks = [asyncio.create_task(worker(w)) for w in range(clients)]
        await asyncio.sleep(0.5 + 0.05 * clients)  # let every session open before the clock starts
        t0, server0, client0 = time.perf_counter(), cpu_seconds(server), cpu_seconds(me)
        ready.set()
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        out[clients] = {
            "requests": len(lat),
            "rps": len(lat) / wall,
            "p50": pct(lat, 50),
            "p99": pct(lat, 99),
            "server_cpu_ms": (cpu_seconds(server) - server0) * 1000 / len(lat),
            "client_cpu_ms": (cpu_seconds(me) - client0) * 1000 / len(lat),
            "cores_busy": (cpu_seconds(server) - server0 + cpu_seconds(me) - client0) / wall,
        }
    return out


async def queries_for_memory(url: str, texts: list[str], n: int) -> int:
    async with Client(url) as c:
        done = 0
        while done < n:
            await asyncio.gather(
                *[c.call_tool("search_anime", {"query": texts[(done + j) % len(texts)], "limit": 10}) for j in range(8)]
            )
            done += 8
    return done


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def measure(
    texts: list[str],
    rounds: int,
    per_level: int,
    mem_q: int,
    copies: dict[str, Path],
    cold_runs: int = 5,
    cache_rounds: int = 200,
) -> dict[str, Any]:
    from server.app import build_server
    from server.state import AppState

    # the per-client rate limit (default 120 calls/min, all loopback clients count as one) is for exposed
    # servers; this benchmark measures capacity, so it is off here
    os.environ.update(CACHES_OFF)  # the in-process layers (bare, engine, MCP in-process) too
    env = {**os.environ, "ANIME_MCP_LOG_LEVEL": "WARNING", "ANIME_MCP_RATE_LIMIT_PER_MINUTE": "0"}
    r: dict[str, Any] = {}
    # before any server holds the copies: cold start on one, cached vs uncached on two (each its own process)
    r["cold_start"] = await cold_start(copies["stdio"], texts, cold_runs)
    r["cache"] = await cached_vs_uncached((copies["stdio"], copies["http"]), texts, cache_rounds)
    async with contextlib.AsyncExitStack() as stack:
        rt = await open_runtime(create=False, storage=StorageSettings(data_dir=copies["in-process"]))
        stack.push_async_callback(rt.close)
        r["entries"] = (await rt.engine.stats()).entries
        r["models"] = {
            k: rt.embedder.describe()[k] for k in ("text_model", "text_precision", "image_model", "image_pretrained")
        }
        records, _ = await rt.store.scroll(limit=60, with_payload=["anime_id"])
        ids = [rec.payload["anime_id"] for rec in records]
        pics = pictures(16)
        all_cases = cases(texts, ids, pics)
        r["image_error"] = await image_search_error(rt, pics[0])
        if r["image_error"]:
            all_cases = [c for c in all_cases if not c.image]

        async def loader():
            return rt

        clients = {"mcp in-process": await stack.enter_async_context(Client(build_server(AppState(loader=loader))))}
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "server.cli", "serve"],
            env={**env, "ANIME_MCP_DATA_DIR": str(copies["stdio"])},
            cwd=str(ROOT),
        )
        clients["stdio"] = await stack.enter_async_context(Client(params))

        port = free_port()
        proc = start_http({**env, "ANIME_MCP_DATA_DIR": str(copies["http"])}, port)
        stack.callback(stop, proc)
        server = psutil.Process(proc.pid)
        url = f"http://127.0.0.1:{port}/mcp"
        clients["http"] = await stack.enter_async_context(Client(url))

        await interleaved(all_cases, rt, clients, rounds)
        r["latency"] = {c.name: {layer: summary(v) for layer, v in c.samples.items()} for c in all_cases}
        r["rss_after_load_mb"] = server.memory_info().rss / 2**20
        r["throughput"] = await throughput(url, texts, per_level, server)
        r["throughput_mixed"] = await throughput(url, texts, per_level, server, ids=ids)
        r["mem_queries"] = await queries_for_memory(url, texts, mem_q)
        r["rss_after_queries_mb"] = server.memory_info().rss / 2**20
    return r


def _levels(tp: dict) -> dict[int, dict[str, float]]:
    return {int(k): v for k, v in tp.items()}  # keys are strings after a JSON round trip


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": pct(values, 50), "p99": pct(values, 99), "mean": statistics.fmean(values)}


def render(r: dict[str, Any], quick: bool) -> str:
    rows = [
        "| tool | bare p50 / p99 ms | engine | MCP in-process | MCP stdio | MCP streamable HTTP |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, layers in r["latency"].items():
        bare = layers["bare"]["p50"]
        cells = [f"{v['p50']:.1f} / {v['p99']:.1f} ({v['p50'] / bare:.2f}x)" for k, v in layers.items() if k != "bare"]
        rows.append(f"| {name} | {bare:.1f} / {layers['bare']['p99']:.1f} | " + " | ".join(cells) + " |")

    def table(tp: dict) -> list[str]:
        rows = [
            "| concurrent HTTP clients | requests | req/s | p50 ms | p99 ms | req/s vs 1 client | "
            "server CPU ms/req | client CPU ms/req | cores busy |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for c, v in tp.items():
            rows.append(
                f"| {c} | {v['requests']} | {v['rps']:.1f} | {v['p50']:.1f} | {v['p99']:.1f} | "
                f"{v['rps'] / tp[1]['rps']:.2f}x | {v['server_cpu_ms']:.1f} | {v['client_cpu_ms']:.1f} | "
                f"{v['cores_busy']:.2f} |"
            )
        return rows

    tp, mixed = _levels(r["throughput"]), _levels(r["throughput_mixed"])
    search = r["latency"]["search_anime"]
    stdio_ratio = search["stdio"]["p50"] / search["bare"]["p50"]
    tp_ratio = tp[32]["rps"] / tp[1]["rps"]
    mix_ratio = mixed[32]["rps"] / mixed[1]["rps"]
    t1 = (
        "HOLD" if stdio_ratio <= 1.3 else "MISS"
    ) + f": stdio search_anime p50 = {stdio_ratio:.2f}x bare (target <= 1.3x)"
    t2 = (
        "HOLD" if tp_ratio >= 3 else "MISS"
    ) + f": 32-client throughput = {tp_ratio:.2f}x the 1-client rate (target >= 3x)"
    t3 = (
        "HOLD" if mix_ratio >= 3 else "MISS"
    ) + f": mixed workload, 32 clients = {mix_ratio:.2f}x one client (target >= 3x)"
    m = r["models"]
    images = "" if not r["image_error"] else f" Image tools left out: {r['image_error']}"
    return "\n".join(
        [
            f"# Performance ({'quick' if quick else 'full'} run, CPU)",
            "",
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}; index {r['entries']} entries, copies of {r['source']}; "
            f"profile {os.environ.get('ANIME_MCP_PROFILE', 'default')}, text model {m['text_model']} "
            f"({m['text_precision']}), image model {m['image_model']} ({Path(str(m['image_pretrained'])).name}); "
            f"{r['rounds']} timed calls per tool and layer, queries from "
            "bench/queries.json, limit 10. The layers are timed interleaved (blocks of 10 calls per layer, each after "
            "one "
            "untimed call, in a rotating order) so machine drift lands on all of them alike. The benchmark client "
            "runs on the same "
            "machine and takes CPU from the server. HTTP server run with ANIME_MCP_RATE_LIMIT_PER_MINUTE=0 (the "
            "default 120 calls/min per client would cap the load test)." + images,
            "",
            "## Latency per tool",
            "",
            "Cells: p50 / p99 ms (p50 / bare p50). 'bare' = query encoding + the raw store calls with the same request "
            "(bench/perf_latency.py).",
            "",
            *rows,
            "",
            "## Throughput (streamable HTTP, loopback, caches off)",
            "",
            "search_anime only:",
            "",
            *table(tp),
            "",
            "Mixed (60% search_anime, 20% get_anime, 10% find_similar_anime, 10% browse_anime; bench/load_test.py "
            "MIX):",
            "",
            *table(mixed),
            "",
            "## Memory, disk, cold start",
            "",
            f"- server RSS after load (HTTP, after the latency rounds): {r['rss_after_load_mb']:.0f} MiB",
            f"- server RSS after {r['mem_queries']} more queries: {r['rss_after_queries_mb']:.0f} MiB",
            f"- index on disk: {r['disk_mb']:.1f} MiB",
            "",
            *render_startup(r["cold_start"], r["cache"])[:-1],
            f"- {t1}",
            f"- {t2}",
            f"- {t3}",
            "",
        ]
    )


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a few minutes)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    rounds, per_level, mem_q = (30, 64, 200) if args.quick else (150, 256, 1000)
    cold_runs, cache_rounds = (3, 60) if args.quick else (5, 200)
    source = Path(StorageSettings().data_dir).expanduser()
    texts = load_texts()
    with tempfile.TemporaryDirectory(prefix="anime-perf-") as tmp:
        copies = {p: Path(tmp) / p for p in ("in-process", "stdio", "http")}
        for copy in copies.values():
            copy_index(source, copy)  # sparse: a dense copy of the vector files costs every start ~0.4 s more CPU
        r = await measure(texts, rounds, per_level, mem_q, copies, cold_runs, cache_rounds)
    r.update(rounds=rounds, source=str(source), disk_mb=disk_bytes(source) / 2**20)
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
