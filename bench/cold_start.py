"""Cold start and repeated-query latency of the stdio server, as a user's assistant sees them.

* cold start: from spawning `anime-mcp serve` (stdio) to `initialize` answered, and to the first
  answered `search_anime`; median of --runs fresh processes (the OS file cache is warm after the first).
* cached vs uncached: two stdio servers on copies of one index, one with both caches off
  (ANIME_MCP_QUERY_CACHE_ENABLED / ANIME_MCP_RESULT_CACHE_ENABLED=false), one with the defaults and every
  query asked once beforehand; the same queries are timed on both, alternating call by call, so machine
  drift lands on both alike.

    ANIME_MCP_DATA_DIR=.bench-index .venv/bin/python -m bench.cold_start [--runs 5] [--rounds 200]
Writes bench/results/cold-start-cpu.md (and .json). bench/performance.py reuses these functions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
CACHES_OFF = {"ANIME_MCP_QUERY_CACHE_ENABLED": "false", "ANIME_MCP_RESULT_CACHE_ENABLED": "false"}
CACHES_ON = {"ANIME_MCP_QUERY_CACHE_ENABLED": "true", "ANIME_MCP_RESULT_CACHE_ENABLED": "true"}  # whatever the env says
STARTUP_TARGET_S, INITIALIZE_TARGET_S, CACHED_TARGET = 4.0, 1.0, 0.5


def load_texts() -> list[str]:
    data = json.loads((Path(__file__).resolve().parent / "queries.json").read_text(encoding="utf-8"))
    return [q["query"] for q in data["queries"]]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def server_params(data_dir: Path, **env: str) -> StdioServerParameters:
    full = {**os.environ, "ANIME_MCP_LOG_LEVEL": "WARNING", "ANIME_MCP_DATA_DIR": str(data_dir), **env}
    return StdioServerParameters(command=sys.executable, args=["-m", "server.cli", "serve"], env=full, cwd=str(ROOT))


def _server_process(data_dir: Path) -> psutil.Process | None:
    """The stdio server this process started on `data_dir` (its CPU time is less disturbed by
    neighbours on a shared machine than wall time)."""
    for child in psutil.Process().children(recursive=True):
        try:
            if child.environ().get("ANIME_MCP_DATA_DIR") == str(data_dir) and "server.cli" in child.cmdline():
                return child
        except psutil.Error:
            continue
    return None


def _cpu_s(proc: psutil.Process | None) -> float:
    if proc is None:
        return float("nan")
    t = proc.cpu_times()
    return t.user + t.system


def _checked(result: Any) -> Any:
    if result.is_error or not (result.structured_content or {}).get("results"):
        raise RuntimeError(f"search_anime failed: {result.content}")
    return result


async def cold_start_once(data_dir: Path, query: str) -> dict[str, float]:
    """Seconds from spawning the server to `initialize` answered and to the first search answered."""
    t0 = time.perf_counter()
    async with Client(server_params(data_dir)) as client:
        initialized = time.perf_counter() - t0
        _checked(await client.call_tool("search_anime", {"query": query, "limit": 10}))
        first = time.perf_counter() - t0
    return {"initialize_s": initialized, "first_search_s": first}


async def cold_start(data_dir: Path, texts: list[str], runs: int) -> dict[str, Any]:
    samples = [await cold_start_once(data_dir, texts[i % len(texts)]) for i in range(runs)]
    return {
        "runs": runs,
        "samples": samples,
        **{f"{k}_median": statistics.median(s[k] for s in samples) for k in ("initialize_s", "first_search_s")},
    }


async def cached_vs_uncached(copies: tuple[Path, Path], texts: list[str], rounds: int) -> dict[str, Any]:
    """p50/p99 of search_anime over stdio with the caches off vs a repeat with them on."""
    args = [{"query": texts[i % len(texts)], "limit": 10} for i in range(rounds)]
    lat: dict[str, list[float]] = {"uncached": [], "cached": []}
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            "uncached": await stack.enter_async_context(Client(server_params(copies[0], **CACHES_OFF))),
            "cached": await stack.enter_async_context(Client(server_params(copies[1], **CACHES_ON))),
        }
        for a in args[: len(texts)]:  # the repeat's first asking, and a warm-up of the other server
            for client in clients.values():
                _checked(await client.call_tool("search_anime", a))
        procs = {"uncached": _server_process(copies[0]), "cached": _server_process(copies[1])}
        cpu0 = {name: _cpu_s(proc) for name, proc in procs.items()}
        for i, a in enumerate(args):
            order = ("uncached", "cached") if i % 2 == 0 else ("cached", "uncached")
            for name in order:
                t = time.perf_counter()
                _checked(await clients[name].call_tool("search_anime", a))
                lat[name].append((time.perf_counter() - t) * 1000)
        cpu = {name: (_cpu_s(proc) - cpu0[name]) * 1000 / len(args) for name, proc in procs.items()}
    out = {
        name: {"p50_ms": pct(v, 50), "p99_ms": pct(v, 99), "n": len(v), "server_cpu_ms": cpu[name]}
        for name, v in lat.items()
    }
    out["ratio_p50"] = out["cached"]["p50_ms"] / out["uncached"]["p50_ms"]
    return out


def copy_index(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.lock", "lock"))
    return target


def render(cold: dict[str, Any] | None, cache: dict[str, Any]) -> list[str]:
    ok = lambda hold: "HOLD" if hold else "MISS"  # noqa: E731
    if cold is None:  # --runs 0
        cold = {"runs": 0, "samples": [], "initialize_s_median": float("nan"), "first_search_s_median": float("nan")}
    runs = ", ".join(f"{s['first_search_s']:.2f}" for s in cold["samples"])
    return [
        "## Cold start (stdio)",
        "",
        f"- `initialize` answered: median {cold['initialize_s_median']:.2f} s",
        f"- first `search_anime` answered: median {cold['first_search_s_median']:.2f} s of {cold['runs']} fresh "
        f"processes ({runs} s)",
        "",
        "## Repeated search_anime over stdio (cached vs uncached)",
        "",
        "| server | p50 ms | p99 ms | server CPU ms per call | calls |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {k} | {cache[k]['p50_ms']:.1f} | {cache[k]['p99_ms']:.1f} | "
            f"{cache[k].get('server_cpu_ms', float('nan')):.1f} "
            f"| {cache[k]['n']} |"
            for k in ("uncached", "cached")
        ],
        "",
        "## Targets",
        "",
        f"- {ok(cold['first_search_s_median'] <= STARTUP_TARGET_S)}: first search {cold['first_search_s_median']:.2f} "
        "s "
        f"after start (target <= {STARTUP_TARGET_S:g} s)",
        f"- {ok(cold['initialize_s_median'] <= INITIALIZE_TARGET_S)}: initialize {cold['initialize_s_median']:.2f} s "
        f"(target <= {INITIALIZE_TARGET_S:g} s)",
        f"- {ok(cache['ratio_p50'] <= CACHED_TARGET)}: a repeated search_anime p50 = {cache['ratio_p50']:.2f}x the "
        f"uncached p50 (target <= {CACHED_TARGET:g}x)",
        "",
    ]


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="fresh server processes for the cold start median")
    ap.add_argument("--rounds", type=int, default=200, help="timed calls per server for cached vs uncached")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    from index.settings import StorageSettings

    source = Path(StorageSettings().data_dir).expanduser()
    texts = load_texts()
    with tempfile.TemporaryDirectory(prefix="anime-cold-") as tmp:
        copies = (copy_index(source, Path(tmp) / "a"), copy_index(source, Path(tmp) / "b"))
        cold = await cold_start(copies[0], texts, args.runs) if args.runs else None
        cache = await cached_vs_uncached(copies, texts, args.rounds)
    head = [
        "# Cold start and cached queries (CPU)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; "
        f"profile {os.environ.get('ANIME_MCP_PROFILE', 'default')}, index {source}. "
        "`ANIME_MCP_DATA_DIR=.bench-index .venv/bin/python -m bench.cold_start`.",
        "",
    ]
    text = "\n".join(head + render(cold, cache))
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cold-start-cpu.md").write_text(text, encoding="utf-8")
    (args.out / "cold-start-cpu.json").write_text(
        json.dumps({"cold_start": cold, "cache": cache}, indent=1), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
