"""The store's size curve: bench/store_bench.py at several sizes, a power-law fit, and a plot.

    .venv/bin/python -m bench.store_curve --run 100000 300000 1000000   # run the sizes (hours), then report
    .venv/bin/python -m bench.store_curve                              # report from the runs already made

Each run writes bench/results/store-curve-N.json; the report (bench/results/store-curve.md and
store-curve.png) is built from every such file. Sizes that were not run are estimated from a fit of
log(metric) against log(size) over the measured ones (a power law: time and memory of HNSW search grow
close to log n, building close to n log n, disk and RAM close to n), and marked as estimates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
SHAPES = ("single_vector", "rrf_3_prefetch", "filtered_broad", "filtered_narrow", "recommend_ids", "low_vector")
TARGET_SIZES = (100_000, 300_000, 1_000_000)


def run_size(points: int, extra: list[str]) -> int:
    """One store_bench run at low CPU priority; its JSON lands in bench/results/."""
    out = RESULTS / f"store-curve-{points}.json"
    cmd = [
        "nice",
        "-n",
        "15",
        sys.executable,
        str(ROOT / "bench" / "store_bench.py"),
        "--points",
        str(points),
        "--default-recall-only",
        "--json",
        str(out),
        *extra,
    ]  # the product's layout; extra args change it
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.call(cmd, stdout=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})


def metrics(r: dict) -> dict[str, float]:
    """The figures of one run that the curve follows."""
    m = {
        "upsert_s": r["upsert_s"],
        "optimize_s": r["optimize_s"],
        "disk_mb": r["disk_mb"],
        "rss_after_optimize_mb": r["memory"]["rss_mb"],
        "anon_after_optimize_mb": r["memory"]["rss_anon_mb"],
        "rss_after_queries_mb": r.get("memory_after_queries", r["memory"])["rss_mb"],
        "peak_rss_mb": max(
            r.get("memory_after_queries", r["memory"]).get("peak_rss_mb", 0), r["memory"].get("peak_rss_mb", 0)
        ),
    }
    watched = r.get("watchdog_peaks") or {}
    if watched.get("rss_anon_mb"):  # seen from another process, through optimize() too
        m["build_peak_heap_mb"] = watched["rss_anon_mb"]
        m["build_peak_mapped_mb"] = watched["rss_file_mb"]
    serving = r.get("serving_process") or {}
    if "memory_after_queries" in serving:  # a fresh process that opened the built index (what a server holds)
        m["serving_rss_mb"] = serving["memory_after_queries"]["rss_mb"]
        m["serving_anon_mb"] = serving["memory_after_queries"]["rss_anon_mb"]
    for shape in SHAPES:
        m[f"{shape}_p50_ms"] = r["latency"][shape]["p50_ms"]
        m[f"{shape}_p99_ms"] = r["latency"][shape]["p99_ms"]
    filtered = r.get("filtered_title_recall_at_10", {})
    if filtered:
        m["filtered_recall_min"] = min(v["recall"] for v in filtered.values())
    return m


def load_runs() -> dict[int, dict]:
    runs = {}
    for path in sorted(RESULTS.glob("store-curve-*.json")):
        r = json.loads(path.read_text())
        if "aborted" not in r:
            runs[int(r["points"])] = r
    return dict(sorted(runs.items()))


def linear(key: str) -> bool:
    """Memory, disk and the upsert time grow with the data itself (a fixed part plus a cost per entry):
    fitted as a + b*n. Latency and optimize time are fitted as a power law a*n^b."""
    return key.endswith("_mb") or key == "upsert_s"


def fit(sizes: list[int], values: list[float], key: str = "") -> tuple[float, float] | None:
    """(a, b) of value = a + b*n (linear keys) or a * n**b (least squares in log-log); None with fewer
    than two positive points."""
    pts = [(n, v) for n, v in zip(sizes, values, strict=True) if v and v > 0]
    if len(pts) < 2:
        return None
    if linear(key):
        b, a = np.polyfit([p[0] for p in pts], [p[1] for p in pts], 1)
        return float(a), float(b)
    b, log_a = np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)
    return float(np.exp(log_a)), float(b)


def fitted(key: str) -> bool:
    """p99 on a shared 2-core machine is other jobs' noise, and recall is not a growth curve: not extrapolated."""
    return not key.endswith("_p99_ms") and not key.startswith("filtered_recall")


def predict(f: tuple[float, float], n: float, key: str) -> float:
    return f[0] + f[1] * n if linear(key) else f[0] * n ** f[1]


def describe(f: tuple[float, float] | None, key: str) -> str:
    if f is None:
        return "-"
    if linear(key):
        return f"{f[0]:.3g} + {f[1] * 1000:.3g} per 1,000"
    return f"~ n^{f[1]:.2f}"


def _options(r: dict) -> str:
    opts = [
        r.get("source", ""),
        f"segments <= {r['max_segment_mb']} MB" if r.get("max_segment_mb") else "",
        "high-priority originals on disk" if r.get("high_on_disk") else "",
    ]
    return "".join(f"{o}, " for o in opts if o)


def report(runs: dict[int, dict]) -> str:
    sizes = list(runs)
    per = {n: metrics(r) for n, r in runs.items()}
    keys = list(dict.fromkeys(k for n in sizes for k in per[n]))
    fits = {k: fit([n for n in sizes if k in per[n]], [per[n][k] for n in sizes if k in per[n]], k) for k in keys}
    est_sizes = [n for n in TARGET_SIZES if n not in runs]
    cols = [f"{n:,}" for n in sizes] + [f"{n:,} (est.)" for n in est_sizes]
    lines = ["| metric | " + " | ".join(cols) + " | fit |", "|---|" + "---:|" * (len(cols) + 1)]
    for k in keys:
        f = fits[k]
        cells = [f"{per[n][k]:g}" if k in per[n] else "-" for n in sizes]
        cells += [(f"{predict(f, n, k):.3g}" if f and fitted(k) else "-") for n in est_sizes]
        lines.append(f"| {k} | " + " | ".join(cells) + f" | {describe(f, k) if fitted(k) else 'not fitted'} |")
    head = [
        "# Store size curve (Qdrant Edge, 13 dense vectors at the lite dimensions + BM25)",
        "",
        "`bench/store_curve.py` over `bench/store_bench.py` runs (synthetic entries with payloads shaped like real "
        "ones; 384-d text, 512-d image; recall of the default search parameters). Measured: "
        + ", ".join(
            f"{n:,} ({_options(runs[n])}load average {runs[n]['load_avg_at_start'][0]:.1f} at start)" for n in sizes
        )
        + ". Columns marked (est.) are extrapolated with the fit in the last column (memory, disk and upsert time "
        "a + b*n; latency and optimize time a*n^b) over the measured sizes: estimates, not measurements. Runs "
        "on a 2-core machine shared with other jobs (see the load averages) are slower than an idle one, and "
        "their p99 is mostly the neighbours' noise (not extrapolated).",
        "",
        "RSS counts mapped index files the kernel can drop under pressure (rss_file) beside the heap (anon); "
        "peak_rss_mb is the high-water mark of the whole run (optimize builds graphs of a segment at once).",
        "",
    ]
    return "\n".join(head + lines) + "\n"


def plot(runs: dict[int, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(runs)
    per = {n: metrics(r) for n, r in runs.items()}
    grid = np.geomspace(min(sizes), 1_000_000, 50)
    fig, (lat, mem) = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, keys, unit in (
        (lat, [f"{s}_p50_ms" for s in SHAPES], "p50 latency (ms)"),
        (mem, ["rss_after_optimize_mb", "rss_after_queries_mb", "serving_rss_mb", "peak_rss_mb", "disk_mb"], "MB"),
    ):
        for k in keys:
            have = [n for n in sizes if k in per[n]]
            if not have:
                continue
            values = [per[n][k] for n in have]
            (line,) = ax.plot(have, values, "o-", label=k.replace("_p50_ms", ""))
            f = fit(have, values, k)
            if f:
                ax.plot(grid, [predict(f, n, k) for n in grid], "--", color=line.get_color(), alpha=0.5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("entries (log)")
        ax.set_ylabel(unit + " (log)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    mem.axhline(24 * 1024, linestyle=":", color="black", label="24 GiB (the reference machine)")
    mem.legend(fontsize=7)
    lat.set_title("query latency vs size (dashed: fit to 1,000,000)")
    mem.set_title("memory and disk vs size")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", type=int, nargs="*", help="sizes to run with --run")
    ap.add_argument("--run", action="store_true", help="run store_bench at each size first (long)")
    args, extra = ap.parse_known_args()
    if args.run:
        for n in args.sizes:
            if run_size(n, extra) != 0:
                print(
                    f"{n} points did not finish (exit code 3: past the RSS ceiling); reporting what ran",
                    file=sys.stderr,
                )
    runs = load_runs()
    if not runs:
        print("no store-curve-*.json in bench/results: run with --run first", file=sys.stderr)
        return 1
    text = report(runs)
    print(text)
    (RESULTS / "store-curve.md").write_text(text, encoding="utf-8")
    plot(runs, RESULTS / "store-curve.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
