"""Benchmark of the embedded (Qdrant Edge) store with the real collection layout.

Synthetic data (bench/store_data.py): N points x 13 dense vectors (clustered random unit vectors, like
embeddings: many near neighbours per point) + a BM25 lexical vector + a payload with every indexed key
and a ~1.5 KB entry blob. Measures upsert rate (flushed batches, the store optimizing every
--segment-points on the way), the final optimize, disk size, RSS (heap and mapped files), p50/p99 latency
of the query shapes the search code sends and recall@10 of the default search against exact search
(bench/store_queries.py), and the memory of a fresh process serving the built index.

    .venv/bin/python bench/store_bench.py --points 100000          # full run (~minutes)
    .venv/bin/python bench/store_bench.py --points 5000 --queries 50  # quick check
    .venv/bin/python -m bench.store_curve --run 100000 300000       # the size curve (runs this per size)

A watchdog (bench/store_memory.py) samples memory every 0.2 s (peak heap and mapped RSS per phase) and
stops the run with exit code 3 past --max-rss-gb of heap, so a size that does not fit is reported
instead of swapping a shared box.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from qdrant_client import models

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_data import WORDS, Data  # noqa: E402
from bench.store_memory import MemoryWatch, memory_mb  # noqa: E402
from bench.store_queries import Queries, filtered_recall, latency, pct, recall  # noqa: E402
from index.storage import collection  # noqa: E402
from index.storage.base import CollectionSpec  # noqa: E402
from index.storage.collection import vector_layouts  # noqa: E402
from index.storage.edge import EdgeStore  # noqa: E402
from index.storage.lexical import lexical_query  # noqa: E402
from index.vectors import GENRE, LEXICAL, TITLE  # noqa: E402


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def layout_summary(spec: CollectionSpec, segment_points: int) -> dict:
    """What the run's index looks like, so a report names the layout it measured."""
    layouts = vector_layouts(spec)
    return {
        "segment_points": segment_points,
        "originals_on_disk": sorted(n for n, lay in layouts.items() if lay.on_disk),
        "codes_on_disk": sorted(n for n, lay in layouts.items() if lay.codes_on_disk),
        "no_graph": sorted(n for n, lay in layouts.items() if not lay.hnsw_m),
    }


async def build(store: EdgeStore, data: Data, watch: MemoryWatch, report: dict) -> None:
    """Upsert every point (the store optimizes each segment_points on the way), then optimize the rest."""
    watch.start("upsert")
    t0 = time.perf_counter()
    gen = 0.0
    for start in range(0, data.n, data.batch):
        g = time.perf_counter()
        batch = data.points(start, min(data.n, start + data.batch))
        gen += time.perf_counter() - g
        await store.upsert(batch)
        if (start // data.batch) % 50 == 49:
            progress(f"{start + data.batch} points")
    upsert_s = time.perf_counter() - t0 - gen
    report.update(upsert_points_per_s=round(data.n / upsert_s, 1), upsert_s=round(upsert_s, 1))
    report["memory_after_upsert"] = memory_mb()
    progress(f"upserted {data.n} points in {upsert_s:.0f}s; optimizing")
    watch.start("optimize")
    t = time.perf_counter()
    await store.optimize()
    report["optimize_s"] = round(time.perf_counter() - t, 1)
    report["build_s"] = round(upsert_s + report["optimize_s"], 1)
    report["segments"] = store._require().info().segments_count  # bench-only peek at the engine


async def run(args: argparse.Namespace) -> dict:
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="store-bench-"))
    if root.exists() and args.dir:
        shutil.rmtree(root / "anime", ignore_errors=True)
    data = Data(args.points, args.text_dim, args.image_dim, args.batch)
    spec = CollectionSpec(text_dim=args.text_dim, image_dim=args.image_dim, meta={"bench": True})
    report: dict = {
        "points": args.points,
        "text_dim": args.text_dim,
        "image_dim": args.image_dim,
        "cpus": os.cpu_count(),
        "load_avg_at_start": [round(x, 1) for x in os.getloadavg()],
        "layout": layout_summary(spec, args.segment_points),
    }
    watch = MemoryWatch(int(args.max_rss_gb * 1024), report, args.json)
    store = EdgeStore(root / "anime")
    store.segment_points = args.segment_points
    await store.open(spec)
    await build(store, data, watch, report)
    info = await store.info()
    report["disk_mb"] = round((info.disk_bytes or 0) / 2**20, 1)
    report["memory"] = memory_mb()
    watch.start("queries")
    progress(f"optimized in {report['optimize_s']}s ({report['segments']} segments); querying")

    queries = Queries.near(data, args.queries)
    report["latency"] = await latency(store, queries, args.queries)
    report["queries_for_memory"] = len(report["latency"]) * (args.queries + 1)
    report["memory_after_queries"] = memory_mb()
    progress("latency done; measuring recall")
    watch.start("recall")
    n_recall = min(args.queries, args.recall_queries)
    oversampling = None if args.default_recall_only else args.oversampling
    report["recall_at_10"] = await recall(store, vector_layouts(spec), queries, n_recall, oversampling)
    report["filtered_title_recall_at_10"] = await filtered_recall(store, queries, n_recall)
    report["filter_graph_keys"] = sorted(collection.FILTER_GRAPH_KEYS)
    report["load_avg_at_end"] = [round(x, 1) for x in os.getloadavg()]
    report["peaks"] = watch.peaks
    await store.close()
    # the building process keeps heap its allocator got back from the engine (the unindexed segment's
    # floats): a server opening the finished index is what a user runs, so measure that in a fresh process
    progress("measuring a fresh serving process")
    report["serving_process"] = serving_memory(root / "anime", args)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return report


def serving_memory(directory: Path, args: argparse.Namespace) -> dict:
    """RSS of a fresh process that opens the optimized index, then after `--serving-queries` queries."""
    cmd = [sys.executable, __file__, "--serve-check", str(directory), "--text-dim", str(args.text_dim)]
    cmd += ["--image-dim", str(args.image_dim), "--queries", str(args.serving_queries)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=True).stdout
        return json.loads(out)
    except (subprocess.SubprocessError, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


async def serve_check(args: argparse.Namespace) -> dict:
    """The child of serving_memory: open, measure, query (single vector and 3 prefetches + RRF), measure."""
    spec = CollectionSpec(text_dim=args.text_dim, image_dim=args.image_dim, meta={"bench": True})
    store = EdgeStore(Path(args.serve_check))
    t = time.perf_counter()
    await store.open(spec, create=False)
    report = {"open_s": round(time.perf_counter() - t, 2), "memory_after_open": memory_mb()}
    rng = np.random.default_rng(7)

    def unit(d: int) -> list[float]:
        v = rng.normal(size=d).astype(np.float32)
        return (v / np.linalg.norm(v)).tolist()

    lat = []
    for k in range(args.queries):
        if k % 2:
            request = models.QueryRequest(query=unit(args.text_dim), using=TITLE, limit=10, with_payload=["anime_id"])
        else:
            request = models.QueryRequest(
                prefetch=[
                    models.Prefetch(query=unit(args.text_dim), using=TITLE, limit=50),
                    models.Prefetch(query=unit(args.text_dim), using=GENRE, limit=50),
                    models.Prefetch(query=lexical_query(" ".join(rng.choice(WORDS, size=3))), using=LEXICAL, limit=50),
                ],
                query=models.FusionQuery(fusion=models.Fusion.RRF),
                limit=10,
                with_payload=True,
            )
        t = time.perf_counter()
        await store.query(request)
        lat.append(time.perf_counter() - t)
    report.update(queries=args.queries, memory_after_queries=memory_mb(), p50_ms=round(pct(lat, 50), 2))
    await store.close()
    return report


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--text-dim", type=int, default=384)
    parser.add_argument("--image-dim", type=int, default=512)
    parser.add_argument("--batch", type=int, default=1000, help="points per upsert")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--recall-queries", type=int, default=100)
    parser.add_argument("--oversampling", type=float, nargs="*", default=[1.0, 2.0, 3.0])
    parser.add_argument(
        "--filter-graph-keys",
        help="comma-separated payload keys with filter-aware HNSW links (default: collection.FILTER_GRAPH_KEYS)",
    )
    parser.add_argument("--dir", help="folder for the index (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the index folder")
    parser.add_argument("--json", help="also write the report to this file")
    parser.add_argument("--max-rss-gb", type=float, default=11.5, help="stop the run past this much heap (exit 3)")
    parser.add_argument(
        "--segment-points",
        type=int,
        default=collection.SEGMENT_POINTS,
        help="points per segment: the store optimizes after this many writes and caps segments at this size",
    )
    parser.add_argument(
        "--default-recall-only",
        action="store_true",
        help="recall of the default search parameters only (no oversampling variants)",
    )
    parser.add_argument(
        "--serving-queries",
        type=int,
        default=1000,
        help="queries run by the fresh serving process after the build (its RSS is reported)",
    )
    parser.add_argument("--serve-check", help=argparse.SUPPRESS)  # internal: the serving process itself
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.serve_check:
        print(json.dumps(asyncio.run(serve_check(args))))
        return
    if args.filter_graph_keys is not None:
        collection.FILTER_GRAPH_KEYS = frozenset(k for k in args.filter_graph_keys.split(",") if k)
    report = asyncio.run(run(args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)


if __name__ == "__main__":
    os.environ.setdefault("RUST_LOG", "warn")
    main()
