"""End-to-end benchmark of indexing and of every search kind, on a real entries file.

Indexes FILE through ``Ingestor`` into a fresh embedded index (temp dir) with the models the
environment configures (source /tmp/devenv.sh: lite MiniLM text model, tiny test CLIP), then
times each ``SearchEngine`` call the MCP tools make. Reports indexing time, entries/s, disk
blocks used (the mmap files are sparse), RSS, and p50/p99 latency per search kind.

    .venv/bin/python -m bench.search_bench /work/shared/data/anime_mal_1822.json [--quick]
    .venv/bin/python -m bench.search_bench FILE --limit-entries 5000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import itertools
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import psutil
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.importers import iter_entries  # noqa: E402
from index.ingest import Ingestor  # noqa: E402
from index.runtime import open_runtime  # noqa: E402
from index.search.filters import SearchFilters  # noqa: E402
from index.settings import ImageFetchSettings, StorageSettings  # noqa: E402
from index.storage.disk_space import disk_bytes  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pictures(n: int, seed: int = 0) -> list[str]:
    """Small Pillow-drawn PNGs as base64 strings (the form an MCP client sends)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        img = Image.new("RGB", (64, 64), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        for _ in range(4):
            x0, y0 = rng.randrange(48), rng.randrange(48)
            box = (x0, y0, x0 + rng.randrange(8, 16), y0 + rng.randrange(8, 16))
            draw.ellipse(box, fill=tuple(rng.randrange(256) for _ in range(3)))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        out.append(base64.b64encode(buf.getvalue()).decode())
    return out


def machine() -> dict:
    return {
        "cpu_cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


async def timed(n: int, call: Callable[[int], Awaitable[object]]) -> dict:
    times = []
    for i in range(n):
        start = time.perf_counter()
        await call(i)
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1000
    return {
        "n": n,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
    }


async def run(args: argparse.Namespace) -> dict:
    path = Path(args.file)
    info = {"file": str(path), "machine": machine(), "limit_entries": args.limit_entries}
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        storage = StorageSettings(data_dir=Path(tmp))
        t0 = time.perf_counter()
        runtime = await open_runtime(storage=storage, fetch=ImageFetchSettings(), recreate=True)
        runtime.engine.page_cache = runtime.embedder.query_cache = None  # queries repeat: time searches, not caches
        info["model_load_s"] = time.perf_counter() - t0
        info["text_model"] = runtime.embedder.text_model_name
        info["image_model"] = runtime.embedder.image_model_name
        try:
            ids: list[str] = []

            def entries():
                results = iter_entries(path)
                if args.limit_entries:
                    results = itertools.islice(results, args.limit_entries)
                for r in results:
                    if r.entry is not None:
                        ids.append(r.entry.id)
                        yield r.entry

            done = [0]

            def bar(k: int) -> None:
                done[0] += k
                if done[0] % 1024 < k:
                    progress(f"indexed {done[0]}")

            ingestor = Ingestor(runtime.store, runtime.embedder, runtime.fetcher, fetch_images=False)
            t0 = time.perf_counter()
            summary = await ingestor.ingest_entries(entries(), progress=bar)
            index_s = time.perf_counter() - t0
            progress(f"indexed: {summary.line()}")
            info.update(
                entries_indexed=summary.indexed,
                entries_failed=len(summary.failed),
                index_s=index_s,
                entries_per_s=summary.indexed / index_s if index_s else 0.0,
                vectors_embedded=summary.vectors_embedded,
            )
            info["disk_bytes"] = disk_bytes(Path(tmp))
            info["rss_mb_after_index"] = psutil.Process().memory_info().rss / 2**20

            engine = runtime.engine
            n = args.queries
            queries = [q["query"] for q in json.loads((ROOT / "bench" / "queries.json").read_text())["queries"]]
            top = await runtime.store.facet("genres", limit=3)
            genre = str(top[0][0]) if top else "Action"
            filters = SearchFilters(genres=[genre], score_min=6.0)
            images = pictures(16)
            rng = random.Random(1)
            sample = [rng.choice(ids) for _ in range(3 * n)]
            q = lambda i: queries[i % len(queries)]  # noqa: E731
            kinds: dict[str, Callable[[int], Awaitable[object]]] = {
                "search_text": lambda i: engine.search_text(q(i)),
                "search_text+filters": lambda i: engine.search_text(q(i), filters=filters),
                "search_text aspects=[genre]": lambda i: engine.search_text(q(i), aspects=["genre"]),
                "search_image": lambda i: engine.search_image(images[i % len(images)]),
                "search_multimodal": lambda i: engine.search_multimodal(q(i), images[i % len(images)]),
                "find_similar": lambda i: engine.find_similar(sample[i]),
                "recommend (2 liked, 1 disliked)": lambda i: engine.recommend(
                    sample[3 * i : 3 * i + 2], [sample[3 * i + 2]]
                ),
                "browse score+genre, facets=[type]": lambda i: engine.browse(
                    SearchFilters(genres=[genre]), sort_by="score", facets=["type"]
                ),
                "get_entry": lambda i: engine.get_entry(sample[i]),
            }
            info["filter_genre"] = genre
            latency = {}
            for name, call in kinds.items():
                await call(0)  # warm caches (vocabulary, first model call)
                latency[name] = await timed(n, call)
                progress(f"{name}: p50 {latency[name]['p50_ms']:.1f} ms, p99 {latency[name]['p99_ms']:.1f} ms")
            info["latency"] = latency
            info["rss_mb_after_queries"] = psutil.Process().memory_info().rss / 2**20
            info["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        finally:
            await runtime.close()
    return info


def _load_remark(machine: dict) -> str:
    """Whether other work shared the cores: judged by the load before this run started (the end
    figure includes the benchmark's own load)."""
    if machine["load_avg_at_start"][0] > 0.5 * machine["cpu_cores"]:
        return "**other processes shared the cores during this run**, so the numbers are pessimistic and noisy."
    return "the machine was otherwise idle at the start (the end figure is this benchmark's own load)."


def markdown(info: dict, note: str) -> str:
    m = info["machine"]
    lines = [
        f"# Search benchmark: `{Path(info['file']).name}`",
        "",
        f"Machine: {m['cpu_cores']} CPU cores ({m['cpu']}), {m['ram_gib']} GiB RAM, Python {m['python']}, no GPU. "
        f"Load average at start {m['load_avg_at_start']}, at end {info.get('load_avg_at_end')}: " + _load_remark(m),
        "",
        f"Models: text `{info['text_model']}`, image `{info['image_model']}` (tiny random-weight test CLIP: image "
        "latency is far below a real CLIP's). Images not fetched (`fetch_images=False`).",
        "",
    ]
    if note:
        lines += [f"**{note}**", ""]
    lines += [
        "| Indexing | Value |",
        "|---|---|",
        f"| entries indexed | {info['entries_indexed']} (failed {info['entries_failed']})"
        + (f", limited with --limit-entries {info['limit_entries']}" if info["limit_entries"] else "")
        + " |",
        f"| vectors embedded | {info['vectors_embedded']} |",
        f"| model load + warmup | {info['model_load_s']:.1f} s |",
        f"| indexing time | {info['index_s']:.1f} s |",
        f"| entries/s | {info['entries_per_s']:.1f} |",
        f"| disk (blocks used) | {info['disk_bytes'] / 2**20:.1f} MiB |",
        f"| RSS after indexing | {info['rss_mb_after_index']:.0f} MiB |",
        f"| RSS after queries | {info['rss_mb_after_queries']:.0f} MiB |",
        "",
        f"| Search kind (genre filter: {info['filter_genre']}) | n | p50 ms | p99 ms | mean ms |",
        "|---|---|---|---|---|",
    ]
    for name, r in info["latency"].items():
        lines.append(f"| {name} | {r['n']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['mean_ms']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--quick", action="store_true", help="30 queries per kind instead of 200")
    parser.add_argument("--limit-entries", type=int, default=None, help="index only the first N entries")
    parser.add_argument("--note", default="", help="a line to add to the report (e.g. why entries were limited)")
    args = parser.parse_args(argv)
    args.queries = 30 if args.quick else 200
    info = asyncio.run(run(args))
    text = markdown(info, args.note)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = Path(args.file).stem
    (RESULTS / f"search-{stem}.md").write_text(text)
    (RESULTS / f"search-{stem}.json").write_text(json.dumps({**info, "note": args.note}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
