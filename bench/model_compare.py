"""Text models side by side (issue 22): all-MiniLM-L6-v2 (lite) against multilingual-e5-small (multilingual).

Why: the CPU default must be chosen by relevance and by cost together. Two parts:

* ``speed``: per model, in a fresh process each (so cold start and peak memory are the model's own): load + first
  query (cold start), query p50 one at a time, and the demo's documents: every named vector's texts of a sample of
  demo/anime_demo.json embedded through the product's EmbeddingModule, timed in CPU seconds per vector (the
  machine is shared: CPU time holds under load where wall time does not). The demo's embedding cost is
  extrapolated to its 1,528 entries for three choices: every vector with the model, only title_vector (the
  vector text search reads; the rest MiniLM), and MiniLM alone.
* ``table``: the families of two `bench.relevance` runs (relevance.json of each model's index) side by side.

    .venv/bin/python -m bench.model_compare speed [--sample 40]
    .venv/bin/python -m bench.model_compare queries [--queries 100 --rounds 3]
    .venv/bin/python -m bench.model_compare table MINILM_JSON E5_JSON
Writes bench/results/model-compare.md and model-compare-speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DEMO = ROOT / "demo" / "anime_demo.json"
PROFILES = ("lite", "multilingual")
SEARCHED = "title_vector"  # what text search reads (SearchSettings.default_weights, beside BM25)


def cpu_s() -> float:
    """CPU seconds of this process, every thread (the encoders run on several)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def queries(n: int) -> list[str]:
    rows = json.loads((ROOT / "bench" / "queries_families.json").read_text(encoding="utf-8"))
    items = rows["queries"] if isinstance(rows, dict) else rows
    return [q["query"] for q in items][:n]


def one(profile: str, sample: int, n_queries: int) -> dict[str, Any]:
    """Measured in this process: the caller starts a fresh one per profile."""
    wall0, cpu0 = time.perf_counter(), cpu_s()
    from index.embedding.module import EmbeddingModule
    from index.settings import EmbeddingSettings

    module = EmbeddingModule(EmbeddingSettings(profile=profile, device="cpu", image_enabled=False))
    module.embed_queries(["a first query"])
    cold = {"wall_s": round(time.perf_counter() - wall0, 2), "cpu_s": round(cpu_s() - cpu0, 2)}
    times = []
    for q in queries(n_queries):
        t = time.perf_counter()
        module.embed_queries([q])
        times.append((time.perf_counter() - t) * 1000)
    from index.importers import load_entries
    from index.texts import vector_texts

    entries = load_entries(DEMO)
    picked = entries[:: max(1, len(entries) // sample)][:sample]
    by_vector: dict[str, list[str]] = {}
    for e in picked:
        for name, text in vector_texts(e).items():
            by_vector.setdefault(name, []).append(text)
    w, c = time.perf_counter(), cpu_s()
    module.embed_documents(["a first document"])  # loads the document path (torch for MiniLM): not per-text cost
    document_load = {"wall_s": round(time.perf_counter() - w, 2), "cpu_s": round(cpu_s() - c, 2)}
    docs: dict[str, dict[str, float]] = {}
    for name, texts in by_vector.items():
        w, c = time.perf_counter(), cpu_s()
        module.embed_documents(texts)
        docs[name] = {"texts": len(texts), "cpu_s": round(cpu_s() - c, 3), "wall_s": round(time.perf_counter() - w, 3)}
    return {
        "profile": profile,
        "text_model": module.text_model_name,
        "text_engine": module.text_engine,
        "query_runtime": module.query_runtime,
        "cold_start": cold,
        "query_p50_ms": round(statistics.median(times), 1),
        "query_p90_ms": round(statistics.quantiles(times, n=10)[-1], 1),
        "sample_entries": len(picked),
        "demo_entries": len(entries),
        "document_model_load": document_load,
        "documents": docs,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average": os.getloadavg()[0],
    }


def demo_estimates(runs: dict[str, dict[str, Any]]) -> dict[str, float]:
    """CPU seconds to embed the whole demo's texts: each model alone, and e5 for title_vector with MiniLM for the
    rest (both scaled from the sample to the demo's entries)."""
    lite, e5 = runs["lite"], runs["multilingual"]
    scale = lite["demo_entries"] / lite["sample_entries"]

    def total(run: dict[str, Any], names: set[str] | None = None) -> float:
        return scale * sum(d["cpu_s"] for n, d in run["documents"].items() if names is None or n in names)

    rest = set(lite["documents"]) - {SEARCHED}
    return {
        "minilm_all_cpu_s": round(total(lite)),
        "e5_all_cpu_s": round(total(e5)),
        "e5_title_minilm_rest_cpu_s": round(total(e5, {SEARCHED}) + total(lite, rest)),
        "e5_title_only_cpu_s": round(total(e5, {SEARCHED})),
    }


def speed(args: argparse.Namespace) -> int:
    runs = {}
    for profile in PROFILES:
        cmd = [sys.executable, "-m", "bench.model_compare", "_one", profile, str(args.sample), str(args.queries)]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        runs[profile] = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(runs[profile]), file=sys.stderr)
    result = {"runs": runs, "demo_embedding": demo_estimates(runs)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "model-compare-speed.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result["demo_embedding"]))
    return 0


def query_latency(args: argparse.Namespace) -> int:
    """Query encoding of both models in one process, alternating query by query (load lands on both alike)."""
    from index.embedding.module import EmbeddingModule
    from index.settings import EmbeddingSettings

    modules = {p: EmbeddingModule(EmbeddingSettings(profile=p, device="cpu", image_enabled=False)) for p in PROFILES}
    times: dict[str, list[float]] = {p: [] for p in PROFILES}
    texts = queries(args.queries)
    for p in PROFILES:
        modules[p].embed_queries(texts[:2])  # warm
    for i, q in enumerate(texts * args.rounds):
        for p in PROFILES if i % 2 == 0 else PROFILES[::-1]:
            t = time.perf_counter()
            modules[p].embed_queries([q])
            times[p].append((time.perf_counter() - t) * 1000)
    out = {
        p: {
            "query_runtime": modules[p].query_runtime,
            "p50_ms": round(statistics.median(v), 2),
            "p90_ms": round(statistics.quantiles(v, n=10)[-1], 2),
        }
        for p, v in times.items()
    }
    out["load_average"] = os.getloadavg()[0]  # type: ignore[assignment]
    print(json.dumps(out))
    (RESULTS / "model-compare-queries.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


def table(args: argparse.Namespace) -> int:
    from bench.relevance_families import FAMILIES

    a, b = (json.loads(Path(p).read_text(encoding="utf-8")) for p in (args.minilm, args.e5))
    lines = [
        "| corpus | family | metric | MiniLM product | MiniLM dense | e5 product | e5 dense | BM25 | target |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for corpus in b["summary"]:
        for fam, v in b["summary"][corpus].items():
            old = a["summary"].get(corpus, {}).get(fam)
            cell = lambda r, k: f"{r['values'][k]:.3f}" if r and k in r["values"] else "–"  # noqa: E731
            target = f"≥ {v['target']:.2f}" if v["target"] is not None else "–"
            lines.append(
                f"| {corpus} | ({fam}) {FAMILIES[fam].name} | {v['metric']} | {cell(old, 'product')} | "
                f"{cell(old, 'dense')} | **{cell(v, 'product')}** | {cell(v, 'dense')} | {cell(v, 'bm25')} | {target} |"
            )
    text = "\n".join(lines)
    print(text)
    (RESULTS / "model-compare-relevance.md").write_text(text + "\n", encoding="utf-8")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--sample", type=int, default=40, help="demo entries embedded per model")
    s.add_argument("--queries", type=int, default=60)
    q = sub.add_parser("queries")
    q.add_argument("--queries", type=int, default=100)
    q.add_argument("--rounds", type=int, default=3)
    t = sub.add_parser("table")
    t.add_argument("minilm", type=Path)
    t.add_argument("e5", type=Path)
    o = sub.add_parser("_one")
    o.add_argument("profile", choices=PROFILES)
    o.add_argument("sample", type=int)
    o.add_argument("queries", type=int)
    args = ap.parse_args()
    if args.cmd == "_one":
        print(json.dumps(one(args.profile, args.sample, args.queries)))
        return 0
    return {"speed": speed, "queries": query_latency, "table": table}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
