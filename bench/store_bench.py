"""Benchmark of the embedded (Qdrant Edge) store with the real collection layout.

Synthetic data: N points x 13 dense vectors (clustered random unit vectors, like
embeddings: many near neighbours per point) + a BM25 lexical vector + a payload with
every indexed key and a ~1.5 KB entry blob. Measures upsert rate (flushed batches),
optimize time, disk size, RSS, p50/p99 latency of the query shapes the search code
sends, and recall@10 of the default (quantized, HNSW) search against exact search,
per vector and for a few oversampling settings.

    .venv/bin/python bench/store_bench.py --points 100000          # full run (~minutes)
    .venv/bin/python bench/store_bench.py --points 5000 --queries 50  # quick check
    .venv/bin/python -m bench.store_curve 100000 300000 1000000     # the size curve (runs this per size)

A watchdog thread samples memory every 0.2 s (peak anonymous and mapped RSS per phase) and stops the run
with exit code 3 past --max-rss-gb, so a size that does not fit is reported instead of swapping a shared box.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from functools import lru_cache
from pathlib import Path

import numpy as np
from qdrant_client import models

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.storage import collection  # noqa: E402
from index.storage.base import CollectionSpec  # noqa: E402
from index.storage.collection import vector_layouts  # noqa: E402
from index.storage.edge import EdgeStore  # noqa: E402
from index.storage.lexical import lexical_document, lexical_query  # noqa: E402
from index.vectors import DENSE_VECTORS, GENRE, IMAGE, LEXICAL, PRIORITY, TITLE, Priority  # noqa: E402

GENRES = ["action", "drama", "comedy", "romance", "sci-fi", "fantasy", "mystery", "horror", "sports", "slice of life"]
TYPES = ["TV", "MOVIE", "OVA", "ONA", "SPECIAL"]
WORDS = (
    "school girl boy magic robot war space love friend family city dark hero demon sword idol music "
    "detective murder time travel game world king princess dragon ninja pirate ghost cat dog train"
).split()


def memory_mb() -> dict[str, int]:
    """RSS split into anonymous memory (heap: what the index really costs) and mapped files
    (page cache of mmapped segments, which the kernel reclaims under pressure), plus peak RSS."""
    keys = {"VmRSS": "rss_mb", "RssAnon": "rss_anon_mb", "RssFile": "rss_file_mb", "VmHWM": "peak_rss_mb"}
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            name = line.split(":")[0]
            if name in keys:
                out[keys[name]] = round(int(line.split()[1]) / 1024)
    except OSError:
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


_KILLER = """
import json, os, signal, sys, time
pid, limit, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
keys = {"VmRSS": "rss_mb", "RssAnon": "rss_anon_mb", "RssFile": "rss_file_mb"}
peaks = dict.fromkeys(keys.values(), 0)
while True:
    try:
        fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines())
    except (OSError, ValueError):
        break
    if "VmRSS" not in fields:  # exiting
        break
    now = {name: int(fields[key].split()[0]) // 1024 for key, name in keys.items() if key in fields}
    for name, value in now.items():
        peaks[name] = max(peaks[name], value)
    if now["rss_mb"] > limit:
        os.kill(pid, signal.SIGKILL)
        print(f"store_bench: RSS {now['rss_mb']} MB over the {limit} MB ceiling: stopped", file=sys.stderr, flush=True)
        if out:
            open(out, "w").write(json.dumps({"aborted": f"RSS {now['rss_mb']} MB > {limit} MB (killed by the watchdog)",
                                             "watchdog_peaks": peaks}))
        sys.exit(0)
    time.sleep(0.2)
time.sleep(1)
if out and os.path.exists(out):  # the run finished: add the peaks seen from outside (through optimize too)
    report = json.loads(open(out).read())
    report["watchdog_peaks"] = peaks
    open(out, "w").write(json.dumps(report, indent=2))
"""


class MemoryWatch:
    """Peak anonymous / mapped RSS per phase, sampled in a thread, and a ceiling (RSS over it on a shared
    machine hurts everyone else). The engine keeps the GIL during `optimize()`, so the thread cannot run
    then: a separate watchdog process enforces the ceiling (SIGKILL), and VmHWM gives the true peak."""

    def __init__(self, limit_mb: int, report: dict, out: str | None):
        self.limit_mb, self.report, self.out = limit_mb, report, out
        self.phase, self.peaks = "start", {}
        threading.Thread(target=self._loop, name="memory-watch", daemon=True).start()
        self.killer = subprocess.Popen([sys.executable, "-c", _KILLER, str(os.getpid()), str(limit_mb), out or ""])

    def start(self, phase: str) -> None:
        self.phase = phase

    def _loop(self) -> None:
        while True:
            m = memory_mb()
            peak = self.peaks.setdefault(self.phase, {"rss_mb": 0, "rss_anon_mb": 0, "rss_file_mb": 0})
            for k in peak:
                peak[k] = max(peak[k], m.get(k, 0))
            if m.get("rss_mb", 0) > self.limit_mb:
                self.report.update(aborted=f"RSS {m['rss_mb']} MB > --max-rss-gb during {self.phase}", peaks=self.peaks)
                text = json.dumps(self.report, indent=2)
                print(text, flush=True)
                if self.out:
                    Path(self.out).write_text(text)
                os._exit(3)
            time.sleep(0.2)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


class Data:
    """Deterministic synthetic points, generated batch by batch (never all in memory)."""

    def __init__(self, n: int, text_dim: int, image_dim: int, batch: int, seed: int = 0):
        self.n, self.dims = n, {name: image_dim if name == IMAGE else text_dim for name in DENSE_VECTORS}
        self.batch = batch
        clusters = max(10, n // 10)  # ~10 close neighbours per point, like seasons of one franchise
        rng = np.random.default_rng(seed)
        self.centers = {name: rng.normal(size=(clusters, d)).astype(np.float32) for name, d in self.dims.items()}
        self.seed = seed

    @staticmethod
    def pid(i: int) -> str:
        return str(uuid.UUID(int=i + 1))

    def vector_of(self, i: int, name: str) -> np.ndarray:
        start = i - i % self.batch
        return self._batch_vectors(start)[name][i - start]

    @lru_cache(maxsize=2)  # noqa: B019  the generator lives exactly as long as the benchmark run
    def _batch_vectors(self, start: int) -> dict[str, np.ndarray]:
        return self.vectors(start, min(self.n, start + self.batch))

    def vectors(self, start: int, stop: int) -> dict[str, np.ndarray]:
        assert start % self.batch == 0, "vectors are generated per upsert batch"
        rng = np.random.default_rng((self.seed, start))
        out = {}
        for name, d in self.dims.items():
            centers = self.centers[name]
            pick = rng.integers(0, len(centers), size=stop - start)
            x = centers[pick] + 0.6 * rng.normal(size=(stop - start, d)).astype(np.float32)
            out[name] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out

    def points(self, start: int, stop: int) -> list[models.PointStruct]:
        rng = np.random.default_rng((self.seed, start, 1))
        vecs = self.vectors(start, stop)
        points = []
        for k, i in enumerate(range(start, stop)):
            words = " ".join(rng.choice(WORDS, size=60))
            genres = sorted(set(rng.choice(GENRES, size=int(rng.integers(1, 4)))))
            vector: dict = {
                name: vecs[name][k].tolist() for name in DENSE_VECTORS if PRIORITY[name] != Priority.LOW or i % 3
            }  # low vectors often empty
            vector[LEXICAL] = lexical_document(f"title {i} {words}")
            payload = {
                "anime_id": f"a{i}",
                "title": f"Title {i} {words[:20]}",
                "titles_norm": [f"title {i}"],
                "type": TYPES[i % 5],
                "status": "FINISHED",
                "year": 1960 + i % 65,
                "season": "SPRING",
                "episodes": int(rng.integers(1, 100)),
                "duration": 1440,
                "rating": "PG-13",
                "source_material": "MANGA",
                "nsfw": bool(i % 50 == 0),
                "genres": genres,
                "tags": genres,
                "demographics": ["shounen"],
                "studios": [f"studio{i % 300}"],
                "score": round(float(rng.uniform(4, 9.5)), 2),
                "score_avg": 7.0,
                "members": int(rng.integers(0, 2_000_000)),
                "popularity_rank": i,
                "title_sort": f"title {i:06d}",
                "content_hash": uuid.uuid4().hex,
                "entry": {"synopsis": words * 4, "id": f"a{i}"},
            }
            points.append(models.PointStruct(id=self.pid(i), vector=vector, payload=payload))
        return points


async def timed(fn, n: int) -> list[float]:
    out = []
    for k in range(n):
        t = time.perf_counter()
        await fn(k)
        out.append(time.perf_counter() - t)
    return out


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
        "optimize_every": args.optimize_every,
        "max_segment_mb": args.max_segment_mb,
    }
    watch = MemoryWatch(int(args.max_rss_gb * 1024), report, args.json)
    if args.high_on_disk:  # bench-only: the layout proposed for 1,000,000+ entries (README, Scale)
        collection._HIGH["on_disk"] = True
        report["high_on_disk"] = True
    if args.max_segment_mb:  # bench-only: cap segment size, so optimize builds several smaller graphs
        from index.storage import edge

        base = edge.edge_config
        edge.edge_config = lambda s: _with_optimizers(base(s), args.max_segment_mb)
    store = EdgeStore(root / "anime")
    await store.open(spec)
    watch.start("upsert")

    t0 = time.perf_counter()
    gen = 0.0
    for start in range(0, args.points, args.batch):
        g = time.perf_counter()
        batch = data.points(start, min(args.points, start + args.batch))
        gen += time.perf_counter() - g
        await store.upsert(batch)
        done = min(args.points, start + args.batch)
        if args.optimize_every and done % args.optimize_every == 0 and done < args.points:
            progress(f"{done} points; optimizing so far")
            await store.optimize()
    upsert_s = time.perf_counter() - t0 - gen
    report["upsert_points_per_s"] = round(args.points / upsert_s, 1)
    report["upsert_s"] = round(upsert_s, 1)
    report["memory_after_upsert"] = memory_mb()
    progress(f"upserted {args.points} points in {upsert_s:.0f}s; optimizing")

    watch.start("optimize")
    t = time.perf_counter()
    await store.optimize()
    report["optimize_s"] = round(time.perf_counter() - t, 1)
    info = await store.info()
    report["disk_mb"] = round(info.disk_bytes / 2**20, 1)
    report["memory"] = memory_mb()
    watch.start("queries")
    progress(f"optimized in {report['optimize_s']}s; querying")

    rng = np.random.default_rng(99)
    sample = np.sort(rng.integers(0, args.points, size=args.queries))  # sorted: one batch regenerated at a time
    qvecs: dict[str, list[list[float]]] = {name: [] for name in DENSE_VECTORS}
    for i in sample:
        for name in DENSE_VECTORS:  # a query near a stored point, as a paraphrase would be
            v = data.vector_of(int(i), name)
            v = v + 0.3 * rng.normal(size=v.shape).astype(np.float32) / np.sqrt(v.shape[0])
            qvecs[name].append((v / np.linalg.norm(v)).tolist())
    shuffle = rng.permutation(len(sample))
    sample = sample[shuffle]
    qvecs = {name: [rows[j] for j in shuffle] for name, rows in qvecs.items()}
    texts = [" ".join(rng.choice(WORDS, size=3)) for _ in range(args.queries)]
    flt = models.Filter(
        must=[
            models.FieldCondition(key="year", range=models.Range(gte=1990, lte=2010)),
            models.FieldCondition(key="genres", match=models.MatchAny(any=["drama", "romance"])),
        ]
    )
    narrow = models.Filter(must=[models.FieldCondition(key="studios", match=models.MatchValue(value="studio7"))])

    def single(k: int) -> models.QueryRequest:
        return models.QueryRequest(query=qvecs[TITLE][k], using=TITLE, limit=10, with_payload=["anime_id", "title"])

    def fused(k: int) -> models.QueryRequest:
        return models.QueryRequest(
            prefetch=[
                models.Prefetch(query=qvecs[TITLE][k], using=TITLE, limit=50),
                models.Prefetch(query=qvecs[GENRE][k], using=GENRE, limit=50),
                models.Prefetch(query=lexical_query(texts[k]), using=LEXICAL, limit=50),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            limit=10,
            with_payload=True,
        )

    shapes = {
        "single_vector": single,
        "rrf_3_prefetch": fused,
        "filtered_broad": lambda k: models.QueryRequest(query=qvecs[TITLE][k], using=TITLE, filter=flt, limit=10),
        "filtered_narrow": lambda k: models.QueryRequest(query=qvecs[TITLE][k], using=TITLE, filter=narrow, limit=10),
        "recommend_ids": lambda k: models.QueryRequest(
            query=models.RecommendQuery(
                recommend=models.RecommendInput(
                    positive=[data.pid(int(sample[k])), data.pid(int(sample[(k + 1) % len(sample)]))],
                    negative=[data.pid(int(sample[(k + 2) % len(sample)]))],
                )
            ),
            using=TITLE,
            limit=10,
        ),
        "low_vector": lambda k: models.QueryRequest(
            query=qvecs["streaming_vector"][k], using="streaming_vector", limit=10
        ),
    }
    latency = {}
    for name, make in shapes.items():
        await store.query(make(0))  # warm
        lat = await timed(lambda k, make=make: store.query(make(k)), args.queries)
        latency[name] = {"p50_ms": round(pct(lat, 50), 2), "p99_ms": round(pct(lat, 99), 2)}
    report["latency"] = latency
    report["queries_for_memory"] = len(shapes) * (args.queries + 1)
    report["memory_after_queries"] = memory_mb()
    progress("latency done; measuring recall")
    watch.start("recall")

    # Recall@10 of default params (quantized + HNSW + rescoring) against exact search.
    layouts = vector_layouts(spec)
    recall: dict = {}
    n_recall = min(args.queries, args.recall_queries)
    for name in DENSE_VECTORS:
        lay = layouts[name]
        variants = {
            "default": None,
            "no_rescore": models.SearchParams(quantization=models.QuantizationSearchParams(rescore=False)),
        }
        if args.default_recall_only:
            variants = {"default": None}
        for os_ in [] if args.default_recall_only else args.oversampling:
            variants[f"oversample_{os_:g}"] = models.SearchParams(
                hnsw_ef=lay.hnsw_ef, quantization=models.QuantizationSearchParams(rescore=True, oversampling=os_)
            )
        if lay.hnsw_m and not args.default_recall_only:
            variants["ef256_oversample_2"] = models.SearchParams(
                hnsw_ef=256, quantization=models.QuantizationSearchParams(rescore=True, oversampling=2.0)
            )
        exact = models.SearchParams(exact=True, quantization=models.QuantizationSearchParams(ignore=True))
        truth = []
        for k in range(n_recall):
            hits = await store.query(models.QueryRequest(query=qvecs[name][k], using=name, limit=10, params=exact))
            truth.append({str(h.id) for h in hits})
        row = {}
        for label, params in variants.items():
            found, lat = 0, []
            for k in range(n_recall):
                t = time.perf_counter()
                hits = await store.query(models.QueryRequest(query=qvecs[name][k], using=name, limit=10, params=params))
                lat.append(time.perf_counter() - t)
                found += len(truth[k] & {str(h.id) for h in hits})
            row[label] = {
                "recall": round(found / max(1, sum(len(t) for t in truth)), 4),
                "p50_ms": round(pct(lat, 50), 2),
            }
        recall[f"{name} ({lay.priority.value})"] = row
    report["recall_at_10"] = recall

    # Filtered search with the default params (exact scan under FULL_SCAN_POINTS matches, ACORN above;
    # no filter-aware graph links unless FILTER_GRAPH_KEYS says so) vs exact.
    filters = {
        "genres+year (broad)": flt,
        "type=MOVIE (20%)": models.Filter(
            must=[models.FieldCondition(key="type", match=models.MatchValue(value="MOVIE"))]
        ),
        "year>=1976 (75%)": models.Filter(must=[models.FieldCondition(key="year", range=models.Range(gte=1976))]),
        "nsfw (2%)": models.Filter(must=[models.FieldCondition(key="nsfw", match=models.MatchValue(value=True))]),
        "studio (0.3%)": narrow,
    }
    filtered: dict = {}
    for label, f in filters.items():
        found = total = 0
        lat = []
        for k in range(n_recall):
            exact = await store.query(
                models.QueryRequest(
                    query=qvecs[TITLE][k], using=TITLE, filter=f, limit=10, params=models.SearchParams(exact=True)
                )
            )
            t = time.perf_counter()
            hits = await store.query(models.QueryRequest(query=qvecs[TITLE][k], using=TITLE, filter=f, limit=10))
            lat.append(time.perf_counter() - t)
            total += len(exact)
            found += len({str(h.id) for h in exact} & {str(h.id) for h in hits})
        filtered[label] = {
            "recall": round(found / max(1, total), 4),
            "p50_ms": round(pct(lat, 50), 2),
            "p99_ms": round(pct(lat, 99), 2),
        }
    report["filtered_title_recall_at_10"] = filtered
    report["filter_graph_keys"] = sorted(collection.FILTER_GRAPH_KEYS)
    report["load_avg_at_end"] = [round(x, 1) for x in os.getloadavg()]
    report["peaks"] = watch.peaks
    await store.close()
    # the building process keeps heap its allocator got back from the engine (the unindexed segment's
    # floats): a server opening the finished index is what a user runs, so measure that in a fresh process
    report["serving_process"] = serving_memory(root / "anime", args)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return report


def serving_memory(directory: Path, args: argparse.Namespace) -> dict:
    """RSS of a fresh process that opens the optimized index, then after `--serving-queries` queries."""
    cmd = [
        sys.executable,
        __file__,
        "--serve-check",
        str(directory),
        "--text-dim",
        str(args.text_dim),
        "--image-dim",
        str(args.image_dim),
        "--queries",
        str(args.serving_queries),
    ]
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


def _with_optimizers(config, max_segment_mb: int):
    """A copy of the shard config with segments capped at `max_segment_mb` (Qdrant counts KB of vectors)."""
    import qdrant_edge as qe

    return qe.EdgeConfig(
        vectors=config.vectors,
        sparse_vectors=config.sparse_vectors,
        optimizers=qe.EdgeOptimizersConfig(max_segment_size=max_segment_mb * 1024),
    )


def main() -> None:
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
    parser.add_argument("--max-rss-gb", type=float, default=11.5, help="stop the run past this RSS (exit 3)")
    parser.add_argument(
        "--optimize-every",
        type=int,
        default=0,
        help="also optimize after every N points upserted (bounds the unindexed segment)",
    )
    parser.add_argument(
        "--max-segment-mb", type=int, default=0, help="cap segment size (MB of vectors; 0: engine default)"
    )
    parser.add_argument(
        "--high-on-disk",
        action="store_true",
        help="high-priority vectors' originals memory-mapped from disk too (only int8 codes in RAM)",
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
    args = parser.parse_args()
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
