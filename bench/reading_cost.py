"""What reading the query costs: search_text p50 with query understanding and priors on vs off, interleaved.

Why: issue 12 adds query reading, title lookup, a score formula and name matching to every search_anime;
its budget is 1.2x the plain fused search. Both variants run in one process on one index, alternating query by
query (so machine drift hits both alike), with the query and result caches off.

Usage: ANIME_MCP_DATA_DIR=.bench-index .venv/bin/python -m bench.reading_cost [--rounds 3]
Writes bench/results/reading-cost.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("ANIME_MCP_QUERY_CACHE_ENABLED", "false")
os.environ.setdefault("ANIME_MCP_RESULT_CACHE_ENABLED", "false")

from bench.relevance import _plain  # noqa: E402  (after the cache switches above)
from index.runtime import open_runtime  # noqa: E402
from index.search.engine import SearchEngine  # noqa: E402
from index.search.tuning import SearchSettings  # noqa: E402

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results" / "reading-cost.md"


def queries() -> list[str]:
    fam = json.loads((ROOT / "queries_families.json").read_text())["queries"]
    plain = json.loads((ROOT / "queries.json").read_text())["queries"]
    return [q["query"] for q in fam if q["family"] != "h"] + [q["query"] for q in plain]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rt = await open_runtime(warmup=True)
    variants = {
        "plain fusion (no reading, no priors)": SearchEngine(
            rt.store,
            rt.embedder,
            SearchSettings(**_plain(), default_weights=SearchSettings().default_weights),
            image_fetcher=rt.fetcher,
        ),
        "product (reading, titles, names, priors)": SearchEngine(
            rt.store, rt.embedder, SearchSettings(), image_fetcher=rt.fetcher
        ),
    }
    for engine in variants.values():
        engine.page_cache = None
    qs = queries()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for q in qs:
            for name, engine in variants.items():
                t0 = time.perf_counter()
                await engine.search_text(q, limit=10)
                times[name].append(1000 * (time.perf_counter() - t0))
    await rt.close()
    base = statistics.median(times[next(iter(variants))])
    lines = [
        "# Cost of reading the query (engine level, caches off)",
        "",
        f"{len(qs)} queries x {args.rounds} rounds, variants alternating per query; index "
        f"{os.environ.get('ANIME_MCP_DATA_DIR')}.",
        "",
        "| variant | p50 ms | p90 ms | p50 vs plain |",
        "|---|---:|---:|---:|",
    ]
    for name, t in times.items():
        t = sorted(t)
        lines.append(
            f"| {name} | {statistics.median(t):.1f} | {t[int(0.9 * len(t))]:.1f} | {statistics.median(t) / base:.2f}x |"
        )
    text = "\n".join(lines) + "\n"
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
