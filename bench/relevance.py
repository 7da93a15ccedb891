"""Relevance benchmark: Recall@1, Recall@10 and MRR of BM25 alone, one dense vector, and the product fusion.

Why: fusion defaults (weights, rrf/dbsf, rrf_k, prefetch) must be chosen by measurement on real questions,
and must beat each single leg they fuse. Also checks filter correctness on random filter combinations.

Usage (index built beforehand, e.g. a copy of the lite 1,822-entry index):
    ANIME_MCP_DATA_DIR=/tmp/idx_bench .venv/bin/python -m bench.relevance [--grid] [--filters 200]
Writes bench/results/relevance.md and relevance.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

from index.runtime import open_runtime
from index.search.engine import SearchEngine
from index.search.filters import SearchFilters
from index.search.tuning import SearchSettings

ROOT = Path(__file__).resolve().parent
QUERIES = ROOT / "queries.json"
RESULTS = ROOT / "results"

BASELINES: dict[str, dict[str, Any]] = {
    "bm25 (lexical only)": {"default_weights": {"lexical": 1.0}},
    "dense title_vector only": {"default_weights": {"title_vector": 1.0}},
}

# Candidates tried when --grid is given (name -> SearchSettings overrides).
GRID: dict[str, dict[str, Any]] = {
    "rrf k=10 T1 L1": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "rrf_k": 10},
    "rrf k=10 T1 L1 +aux(.1/.1/.05)": {"default_weights": {"title_vector": 1.0, "lexical": 1.0, "genre_vector": 0.1,
                                                           "character_vector": 0.1, "staff_vector": 0.05}, "rrf_k": 10},
    "rrf k=2 T1 L1": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "rrf_k": 2},
    "rrf k=5 T1 L1": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "rrf_k": 5},
    "rrf k=30 T1 L1": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "rrf_k": 30},
    "rrf k=60 T1 L1": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "rrf_k": 60},
    "rrf k=10 T1 L0.7": {"default_weights": {"title_vector": 1.0, "lexical": 0.7}, "rrf_k": 10},
    "rrf k=10 T0.7 L1": {"default_weights": {"title_vector": 0.7, "lexical": 1.0}, "rrf_k": 10},
    "rrf k=10 T1 L1.5": {"default_weights": {"title_vector": 1.0, "lexical": 1.5}, "rrf_k": 10},
    "rrf k=10 T1 L1 ident.3": {"default_weights": {"title_vector": 1.0, "lexical": 1.0,
                                                   "identifiers_vector": 0.3}, "rrf_k": 10},
    "rrf k=10 T1 L1 char.3": {"default_weights": {"title_vector": 1.0, "lexical": 1.0,
                                                  "character_vector": 0.3}, "rrf_k": 10},
    "rrf k=5 T1 L1 +aux(.1/.1/.05)": {"default_weights": {"title_vector": 1.0, "lexical": 1.0, "genre_vector": 0.1,
                                                          "character_vector": 0.1, "staff_vector": 0.05}, "rrf_k": 5},
    "dbsf T1 L1": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "fusion": "dbsf"},
    "dbsf T1 L0.5": {"default_weights": {"title_vector": 1.0, "lexical": 0.5}, "fusion": "dbsf"},
    "dbsf T1 L1 +aux(.1/.1/.05)": {"default_weights": {"title_vector": 1.0, "lexical": 1.0, "genre_vector": 0.1,
                                                       "character_vector": 0.1, "staff_vector": 0.05}, "fusion": "dbsf"},
    "rrf k=10 T1 L1 prefetch 50": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "rrf_k": 10,
                                   "prefetch_min": 50},
    "rrf k=10 T1 L1 prefetch 200": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "rrf_k": 10,
                                    "prefetch_min": 200},
    "rrf k=1 T1 L1": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "rrf_k": 1},
    "rrf k=3 T1 L1": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "rrf_k": 3},
    "rrf k=2 T0.7 L1": {"default_weights": {"title_vector": 0.7, "lexical": 1.0}, "rrf_k": 2},
    "rrf k=2 T0.85 L1": {"default_weights": {"title_vector": 0.85, "lexical": 1.0}, "rrf_k": 2},
    "rrf k=2 T1 L0.85": {"default_weights": {"title_vector": 1.0, "lexical": 0.85}, "rrf_k": 2},
    "rrf k=2 T1 L1 +aux(.1/.1/.05)": {"default_weights": {"title_vector": 1.0, "lexical": 1.0, "genre_vector": 0.1,
                                                          "character_vector": 0.1, "staff_vector": 0.05}, "rrf_k": 2},
    "rrf k=2 T1 L1 genre.1": {"default_weights": {"title_vector": 1.0, "lexical": 1.0, "genre_vector": 0.1},
                              "rrf_k": 2},
    "rrf k=2 T1 L1 ident.2": {"default_weights": {"title_vector": 1.0, "lexical": 1.0, "identifiers_vector": 0.2},
                              "rrf_k": 2},
    "rrf k=2 T1 L1 prefetch 200": {"default_weights": {"title_vector": 1.0, "lexical": 1.0}, "rrf_k": 2,
                                   "prefetch_min": 200},
}

GENRES = ["Action", "Adventure", "Comedy", "Drama", "Fantasy", "Romance", "Sci-Fi", "Supernatural", "Horror",
          "Mystery", "Sports", "Slice of Life", "Ecchi", "Suspense"]
TYPES = ["TV", "MOVIE", "OVA", "SPECIAL", "ONA"]
FILTER_QUERIES = ["a story about friendship", "war and giant robots", "a girl with magic powers", "funny school life",
                  "a dark mystery", "sports team", "love triangle", "space adventure"]


def load_queries() -> list[dict[str, Any]]:
    return json.loads(QUERIES.read_text(encoding="utf-8"))["queries"]


def score_run(ranked: list[list[str]], queries: list[dict[str, Any]]) -> dict[str, float]:
    """Recall@k = share of relevant ids in the top k (capped at k); MRR = 1/rank of the first relevant id."""
    r1 = r10 = mrr = 0.0
    for ids, q in zip(ranked, queries):
        rel = set(q["relevant"])
        r1 += len(rel & set(ids[:1])) / min(1, len(rel))
        r10 += len(rel & set(ids[:10])) / min(10, len(rel))
        mrr += next((1.0 / (i + 1) for i, x in enumerate(ids) if x in rel), 0.0)
    n = len(queries)
    return {"recall@1": r1 / n, "recall@10": r10 / n, "mrr": mrr / n}


async def run_config(base: SearchEngine, overrides: dict[str, Any], queries: list[dict[str, Any]]) -> dict[str, Any]:
    settings = SearchSettings(**overrides)
    engine = SearchEngine(base.store, base.embedder, settings, image_fetcher=base.image_fetcher)
    ranked: list[list[str]] = []
    t0 = time.perf_counter()
    for q in queries:
        filters = SearchFilters(**q["filters"]) if q.get("filters") else None
        page = await engine.search_text(q["query"], filters=filters, limit=20)
        ranked.append([h.id for h in page.results])
    metrics = score_run(ranked, queries)
    by_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({q["kind"] for q in queries}):
        idx = [i for i, q in enumerate(queries) if q["kind"] == kind]
        by_kind[kind] = score_run([ranked[i] for i in idx], [queries[i] for i in idx])
    return {**metrics, "by_kind": by_kind, "seconds": round(time.perf_counter() - t0, 2),
            "ranked": {q["query"]: ids[:10] for q, ids in zip(queries, ranked)}}


def random_filters(rng: random.Random, years: tuple[int, int]) -> dict[str, Any]:
    f: dict[str, Any] = {}
    if rng.random() < 0.6:
        f["genres"] = rng.sample(GENRES, rng.randint(1, 3))
        if rng.random() < 0.4:
            f["genres_mode"] = "all"
    if rng.random() < 0.3:
        f["exclude_genres"] = rng.sample([g for g in GENRES if g not in f.get("genres", [])], 1)
    if rng.random() < 0.5:
        f["types"] = rng.sample(TYPES, rng.randint(1, 2))
    if rng.random() < 0.5:
        f["year_min"] = rng.randint(years[0], years[1])
    if rng.random() < 0.5:
        f["year_max"] = rng.randint(f.get("year_min", years[0]), years[1])
    if rng.random() < 0.4:
        f["score_min"] = round(rng.uniform(5.0, 8.5), 1)
    return f


def violations(hit: Any, f: dict[str, Any]) -> list[str]:
    bad = []
    genres = set(hit.genres or [])
    if f.get("genres"):
        want = set(f["genres"])
        ok = want <= genres if f.get("genres_mode") == "all" else bool(want & genres)
        if not ok:
            bad.append(f"genres {sorted(genres)} vs {f['genres']} ({f.get('genres_mode', 'any')})")
    if set(f.get("exclude_genres", [])) & genres:
        bad.append(f"excluded genre in {sorted(genres)}")
    if f.get("types") and hit.type not in f["types"]:
        bad.append(f"type {hit.type}")
    if "year_min" in f and (hit.year is None or hit.year < f["year_min"]):
        bad.append(f"year {hit.year} < {f['year_min']}")
    if "year_max" in f and (hit.year is None or hit.year > f["year_max"]):
        bad.append(f"year {hit.year} > {f['year_max']}")
    if "score_min" in f and (hit.score is None or hit.score < f["score_min"]):
        bad.append(f"score {hit.score} < {f['score_min']}")
    return bad


async def filter_check(engine: SearchEngine, n: int, seed: int = 7) -> dict[str, Any]:
    """Random filter combinations: no hit may violate its filter; if k entries match, k must come back."""
    rng = random.Random(seed)
    problems: list[str] = []
    checked = short = empty_ok = 0
    for _ in range(n):
        f = random_filters(rng, (1975, 2008))
        filters = SearchFilters(**f)
        k = rng.choice([5, 10, 20])
        total = (await engine.browse(filters, limit=1)).total
        page = await engine.search_text(rng.choice(FILTER_QUERIES), filters=filters, limit=k)
        checked += 1
        for hit in page.results:
            for b in violations(hit, f):
                problems.append(f"{f}: {hit.id} {b}")
        if len(page.results) != min(k, total):
            short += 1
            problems.append(f"{f}: {len(page.results)} results for limit {k}, {total} entries match")
        if total == 0:
            empty_ok += 1
    return {"combinations": checked, "violations_or_short": len(problems), "short_pages": short,
            "no_match_combinations": empty_ok, "examples": problems[:10]}


def table(rows: dict[str, dict[str, Any]]) -> str:
    out = ["| configuration | Recall@1 | Recall@10 | MRR | s/run |", "|---|---:|---:|---:|---:|"]
    for name, m in rows.items():
        out.append(f"| {name} | {m['recall@1']:.3f} | {m['recall@10']:.3f} | {m['mrr']:.3f} | {m['seconds']} |")
    return "\n".join(out)


def kind_table(rows: dict[str, dict[str, Any]]) -> str:
    kinds = sorted(next(iter(rows.values()))["by_kind"])
    out = ["| configuration | " + " | ".join(f"{k} MRR" for k in kinds) + " |",
           "|---|" + "---:|" * len(kinds)]
    for name, m in rows.items():
        out.append(f"| {name} | " + " | ".join(f"{m['by_kind'][k]['mrr']:.2f}" for k in kinds) + " |")
    return "\n".join(out)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--grid", action="store_true", help="also evaluate the tuning grid")
    ap.add_argument("--filters", type=int, default=200, help="random filter combinations to check")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    queries = load_queries()
    rt = await open_runtime(create=False)
    try:
        base = rt.engine
        rows: dict[str, dict[str, Any]] = {}
        for name, ov in BASELINES.items():
            rows[name] = await run_config(base, ov, queries)
        rows["product default"] = await run_config(base, {}, queries)
        grid: dict[str, dict[str, Any]] = {}
        if args.grid:
            for name, ov in GRID.items():
                grid[name] = await run_config(base, ov, queries)
        fcheck = await filter_check(base, args.filters)
    finally:
        await rt.close()

    prod = rows["product default"]
    beats = {m: all(prod[m] > rows[b][m] for b in BASELINES) for m in ("recall@1", "recall@10", "mrr")}
    d = SearchSettings()
    lines = [
        "# Relevance benchmark", "",
        f"{len(queries)} queries (bench/queries.json) over the 1,822 MAL entries + enriched entries; "
        "Recall@k = share of the relevant ids in the top k (capped at k), MRR = mean 1/rank of the first relevant id.",
        "", f"Product default: fusion={d.fusion}, rrf_k={d.rrf_k}, weights={d.default_weights}, "
        f"prefetch_min={d.prefetch_min}, prefetch_multiplier={d.prefetch_multiplier}.", "",
        table(rows), "",
        "Product beats both baselines: " + ", ".join(f"{m}: {'yes' if ok else 'NO'}" for m, ok in beats.items()), "",
        "## MRR by query kind", "", kind_table(rows), "",
    ]
    if grid:
        lines += ["## Tuning grid", "", table(grid), ""]
    lines += ["## Filter correctness", "",
              f"{fcheck['combinations']} random filter combinations (genres any/all, exclude_genres, types, year range, "
              f"score_min; limit 5/10/20): {fcheck['violations_or_short']} violations or short pages "
              f"({fcheck['short_pages']} short pages; {fcheck['no_match_combinations']} combinations matched nothing "
              "and correctly returned nothing).", ""]
    if fcheck["examples"]:
        lines += ["Examples:", ""] + [f"- {e}" for e in fcheck["examples"]] + [""]
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    notes = args.out / "relevance-notes.md"
    (args.out / "relevance.md").write_text(text + ("\n" + notes.read_text() if notes.exists() else ""), encoding="utf-8")
    (args.out / "relevance.json").write_text(json.dumps(
        # the grid's rankings would make the file ten times larger; its metrics are enough to compare
        {"rows": rows, "grid": {k: {f: v for f, v in g.items() if f != "ranked"} for k, g in grid.items()},
         "filter_check": fcheck, "beats_baselines": beats}, indent=1,
        ensure_ascii=False), encoding="utf-8")
    return 0 if all(beats.values()) and fcheck["violations_or_short"] == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
