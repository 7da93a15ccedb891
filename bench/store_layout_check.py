"""Does the large-index layout cost anything at the size people run today? An A/B at 1,822 entries.

Builds the same synthetic entries (bench/store_data.py) twice: with the earlier layout (originals of the
high-priority vectors cached in RAM, every int8 code pinned, one segment) and with the current one
(index/storage/collection.py: every original memory-mapped, low-priority codes memory-mapped, bounded
segments), then times each query shape of bench/store_queries.py on both, interleaved round by round so
a busy neighbour slows both alike, and checks recall@10 against exact search.

    .venv/bin/python bench/store_layout_check.py                  # 1,822 entries (the .bench-index size)
    .venv/bin/python bench/store_layout_check.py --points 25000   # the whole catalogue's size
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_data import Data  # noqa: E402
from bench.store_queries import Queries, filtered_recall, pct, recall  # noqa: E402
from index.storage import edge  # noqa: E402
from index.storage.base import CollectionSpec  # noqa: E402
from index.storage.collection import vector_layouts  # noqa: E402
from index.storage.edge import EdgeStore  # noqa: E402
from index.vectors import Priority  # noqa: E402

SPEC = CollectionSpec(text_dim=384, image_dim=512, meta={"bench": True})


def earlier_layouts(spec: CollectionSpec) -> dict:
    """The layout indexes built before the large-index layout hold."""
    return {
        name: dataclasses.replace(lay, on_disk=lay.priority != Priority.HIGH, codes_on_disk=False)
        for name, lay in vector_layouts(spec).items()
    }


async def build(directory: Path, data: Data, earlier: bool) -> EdgeStore:
    store = EdgeStore(directory)
    if earlier:
        edge.vector_layouts = earlier_layouts  # type: ignore[assignment]  # bench-only: the old shard config
        store.segment_points = 10**9
    try:
        await store.open(SPEC)
    finally:
        edge.vector_layouts = vector_layouts
    for start in range(0, data.n, data.batch):
        await store.upsert(data.points(start, min(data.n, start + data.batch)))
    await store.close()  # optimizes
    store = EdgeStore(directory)
    t = time.perf_counter()
    await store.open(SPEC, create=False)
    store.open_s = round(time.perf_counter() - t, 3)  # type: ignore[attr-defined]  # bench-only note
    return store


async def main(args: argparse.Namespace) -> dict:
    data = Data(args.points, SPEC.text_dim, SPEC.image_dim, 1000)
    root = Path(tempfile.mkdtemp(prefix="store-layout-"))
    stores = {
        "earlier": await build(root / "earlier", data, True),
        "current": await build(root / "current", data, False),
    }
    queries = Queries.near(data, args.queries)
    shapes = queries.shapes()
    times: dict[str, dict[str, list[float]]] = {lay: {s: [] for s in shapes} for lay in stores}
    for _ in range(args.rounds):
        for k in range(args.queries):
            for shape, make in shapes.items():
                for lay, store in stores.items():
                    t = time.perf_counter()
                    await store.query(make(k))
                    times[lay][shape].append(time.perf_counter() - t)
    report: dict = {"points": args.points, "load_avg_at_start": [round(x, 1) for x in os.getloadavg()]}
    for lay, store in stores.items():
        unfiltered = await recall(store, vector_layouts(SPEC), queries, min(args.queries, 50), None)
        filtered = await filtered_recall(store, queries, min(args.queries, 50))
        report[lay] = {
            "open_s": store.open_s,  # type: ignore[attr-defined]
            "p50_ms": {s: round(pct(v, 50), 3) for s, v in times[lay].items()},
            "p99_ms": {s: round(pct(v, 99), 3) for s, v in times[lay].items()},
            "recall_min": min(v["default"]["recall"] for v in unfiltered.values()),
            "filtered_recall_min": min(v["recall"] for v in filtered.values()),
        }
        await store.close()
    report["p50_ratio_current_over_earlier"] = {
        s: round(report["current"]["p50_ms"][s] / report["earlier"]["p50_ms"][s], 2) for s in shapes
    }
    report["load_avg_at_end"] = [round(x, 1) for x in os.getloadavg()]
    shutil.rmtree(root, ignore_errors=True)
    return report


if __name__ == "__main__":
    os.environ.setdefault("RUST_LOG", "warn")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1822)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", help="also write the report to this file")
    args = ap.parse_args()
    text = json.dumps(asyncio.run(main(args)), indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
