"""The store's size curve: bench/store_bench.py at several sizes, fits to 1,000,000, a table and a plot.

    .venv/bin/python -m bench.store_curve --run 30000 100000 300000   # run the sizes (long), then report
    .venv/bin/python -m bench.store_curve                            # report from the runs already made

Each run writes bench/results/store-curve-N.json; the report (bench/results/store-curve.md, .json and .png)
is built from every such file. Runs of the product's current layout (their report names it under
``layout``) make the curve; runs of the earlier layout (store-curve-ram-N.json: originals of the high
vectors cached in RAM, every quantized code pinned, one segment) are shown beside it for comparison.
Sizes that were not run are estimated from fits over the measured ones and marked as estimates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.store_queries import SHAPES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
TARGET_SIZES = (100_000, 300_000, 1_000_000)
MACHINE_MB = 24 * 1024  # the reference machine's memory


def run_size(points: int, extra: list[str]) -> int:
    """One store_bench run at low CPU priority; its JSON lands in bench/results/."""
    out = RESULTS / f"store-curve-{points}.json"
    cmd = ["nice", "-n", "15", sys.executable, str(ROOT / "bench" / "store_bench.py"), "--points", str(points)]
    cmd += ["--default-recall-only", "--json", str(out), *extra]  # the product's layout; extra args change it
    print("running:", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.call(cmd, stdout=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})


def metrics(r: dict) -> dict[str, float]:
    """The figures of one run that the curve follows."""
    after_queries = r.get("memory_after_queries", r["memory"])
    m = {
        "upsert_s": r["upsert_s"],
        "optimize_s": r["optimize_s"],
        "build_s": r.get("build_s", r["upsert_s"] + r["optimize_s"]),
        "disk_mb": r["disk_mb"],
        "rss_after_optimize_mb": r["memory"]["rss_mb"],
        "anon_after_optimize_mb": r["memory"]["rss_anon_mb"],
        "rss_after_queries_mb": after_queries["rss_mb"],
    }
    watched = r.get("watchdog_peaks") or {}
    if watched.get("rss_anon_mb"):  # seen from another process, through optimize() too
        m["build_peak_heap_mb"] = watched["rss_anon_mb"]
        m["build_peak_mapped_mb"] = watched["rss_file_mb"]
    serving = r.get("serving_process") or {}
    if "memory_after_queries" in serving:  # a fresh process that opened the built index (what a server holds)
        m["serving_rss_mb"] = serving["memory_after_queries"]["rss_mb"]
        m["serving_anon_mb"] = serving["memory_after_queries"]["rss_anon_mb"]
        m["serving_open_s"] = serving["open_s"]
    for shape in SHAPES:
        m[f"{shape}_p50_ms"] = r["latency"][shape]["p50_ms"]
        m[f"{shape}_p99_ms"] = r["latency"][shape]["p99_ms"]
    unfiltered = r.get("recall_at_10", {})
    if unfiltered:
        m["recall_min"] = min(v["default"]["recall"] for v in unfiltered.values())
    filtered = r.get("filtered_title_recall_at_10", {})
    if filtered:
        m["filtered_recall_min"] = min(v["recall"] for v in filtered.values())
    return m


def load_runs() -> tuple[dict[int, dict], dict[int, dict]]:
    """(runs of the current layout, runs of the earlier layout), each by size."""
    current, earlier = {}, {}
    for path in sorted(RESULTS.glob("store-curve-*.json")):
        r = json.loads(path.read_text())
        if "aborted" in r or "points" not in r:
            continue
        (current if "layout" in r else earlier)[int(r["points"])] = r
    return dict(sorted(current.items())), dict(sorted(earlier.items()))


def linear(key: str) -> bool:
    """Memory, disk and build time grow with the data itself (a fixed part plus a cost per entry: the store
    builds one bounded segment at a time): fitted as a + b*n. Latency is fitted as a power law a*n^b."""
    return key.endswith("_mb") or key.endswith("_s")


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


#: Grows with the segment being built, not the index (segments are capped): not extrapolated.
BOUNDED = ("build_peak_mapped_mb",)


def fitted(key: str) -> bool:
    """p99 on a shared 2-core machine is other jobs' noise, recall is not a growth curve, the open time
    belongs to the cold-start benchmark, and BOUNDED keys stop growing: not extrapolated."""
    return not key.endswith("_p99_ms") and "recall" not in key and key != "serving_open_s" and key not in BOUNDED


def predict(f: tuple[float, float], n: float, key: str) -> float:
    return f[0] + f[1] * n if linear(key) else f[0] * n ** f[1]


def describe(f: tuple[float, float] | None, key: str) -> str:
    if f is None:
        return "-"
    if linear(key):
        return f"{f[0]:.3g} + {f[1] * 1000:.3g} per 1,000"
    return f"~ n^{f[1]:.2f}"


def _unfitted(key: str) -> str:
    return "bounded by the segment size (not fitted)" if key in BOUNDED else "not fitted"


def curve(runs: dict[int, dict]) -> dict:
    """Measured metrics per size, the fit of each, and the estimates at the target sizes not measured."""
    per = {n: metrics(r) for n, r in runs.items()}
    keys = list(dict.fromkeys(k for m in per.values() for k in m))
    fits = {k: fit([n for n in per if k in per[n]], [per[n][k] for n in per if k in per[n]], k) for k in keys}
    estimates = {
        n: {k: round(predict(f, n, k), 3) for k, f in fits.items() if f and fitted(k)}
        for n in TARGET_SIZES
        if n not in runs
    }
    return {
        "measured": per,
        "fits": {k: describe(f, k) if fitted(k) else _unfitted(k) for k, f in fits.items()},
        "estimates": estimates,
    }


def table(runs: dict[int, dict], with_estimates: bool) -> list[str]:
    c = curve(runs)
    per, est = c["measured"], c["estimates"] if with_estimates else {}
    cols = [f"{n:,}" for n in per] + [f"{n:,} (est.)" for n in est]
    lines = ["| metric | " + " | ".join(cols) + (" | fit |" if est else " |")]
    lines.append("|---|" + "---:|" * len(cols) + ("---:|" if est else ""))
    for k in dict.fromkeys(k for m in per.values() for k in m):
        cells = [f"{per[n][k]:g}" if k in per[n] else "-" for n in per]
        cells += [f"{est[n][k]:.3g}" if k in est[n] else "-" for n in est]
        lines.append(f"| {k} | " + " | ".join(cells) + (f" | {c['fits'][k]} |" if est else " |"))
    return lines


def _runs_line(runs: dict[int, dict]) -> str:
    return ", ".join(
        f"{n:,} ({r.get('segments', 1)} segment(s), load average {r['load_avg_at_start'][0]:.1f} at start)"
        for n, r in runs.items()
    )


def report(current: dict[int, dict], earlier: dict[int, dict]) -> str:
    layout = next(iter(current.values()))["layout"] if current else {}
    head = [
        "# Store size curve (Qdrant Edge, 13 dense vectors at the lite dimensions + BM25)",
        "",
        "`bench/store_curve.py` over `bench/store_bench.py` runs (synthetic entries with payloads shaped like real "
        "ones; 384-d text, 512-d image; recall of the default search parameters against exact search). ",
        "",
        f"Current layout (index/storage/collection.py): originals of every vector on disk (memory-mapped, read "
        f"to rescore), int8 codes pinned in RAM except those of the graph-less low-priority vectors "
        f"({', '.join(layout.get('codes_on_disk', []))}), segments of at most "
        f"{layout.get('segment_points', 0):,} points (the store optimizes each as it fills). Measured: "
        + _runs_line(current)
        + ". Columns marked (est.) are extrapolated with the fit in the last column (memory, disk and build "
        "time a + b*n; latency a*n^b) over the measured sizes: estimates, not measurements. Runs on a 2-core "
        "machine shared with other jobs (see the load averages) are slower than on an idle one, and their p99 "
        "is mostly the neighbours' noise (not extrapolated).",
        "",
        "Memory: rss counts mapped index files the kernel drops under pressure (page cache) beside the heap "
        "(anon); build_peak_heap_mb is the heap high-water mark of the build seen by a watchdog process; "
        "serving_* is a fresh process that opened the built index and answered 1,000 queries (what a server "
        f"holds). The reference machine has {MACHINE_MB // 1024} GiB.",
        "",
    ]
    body = table(current, with_estimates=True) if current else ["(no run of the current layout yet)"]
    est = curve(current)["estimates"].get(1_000_000, {}) if current else {}
    if "build_s" in est:
        head += [
            f"1,000,000 was not run here: building alone extrapolates to ~{est['build_s'] / 60:.0f} min on this "
            "shared machine (plus exact searches over a million points for recall), past the time a run may take. "
            f"Its column is the fit: ~{est.get('serving_anon_mb', 0) / 1024:.1f} GB of heap and "
            f"~{est.get('serving_rss_mb', 0) / 1024:.1f} GB RSS serving, a build heap peak of "
            f"~{est.get('build_peak_heap_mb', 0) / 1024:.1f} GB (linear: an upper bound, since the segment being "
            f"built is capped), ~{est.get('disk_mb', 0) / 1024:.0f} GB on disk.",
            "",
        ]
    tail = []
    if earlier:
        tail = [
            "",
            "## Earlier layout (for comparison)",
            "",
            "High-priority originals cached in RAM, every int8 code pinned, one segment built at once: "
            + _runs_line(earlier)
            + ".",
            "",
            *table(earlier, with_estimates=False),
        ]
    return "\n".join(head + body + tail) + "\n"


def plot(current: dict[int, dict], earlier: dict[int, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (lat, mem) = plt.subplots(1, 2, figsize=(12, 5))
    mem_keys = ["serving_anon_mb", "serving_rss_mb", "build_peak_heap_mb", "rss_after_queries_mb", "disk_mb"]
    for runs, style, alpha, tag in ((current, "o-", 1.0, ""), (earlier, "x:", 0.35, " (earlier layout)")):
        if not runs:
            continue
        per = {n: metrics(r) for n, r in runs.items()}
        grid = np.geomspace(min(per), 1_000_000, 50)
        for ax, keys in ((lat, [f"{s}_p50_ms" for s in SHAPES]), (mem, mem_keys)):
            for i, k in enumerate(keys):
                have = [n for n in per if k in per[n]]
                if not have:
                    continue
                values, color = [per[n][k] for n in have], f"C{i}"  # one colour per metric on both layouts
                ax.plot(have, values, style, color=color, alpha=alpha, label=k.replace("_p50_ms", "") + tag)
                f = fit(have, values, k)
                if f and not tag:
                    ax.plot(grid, [predict(f, n, k) for n in grid], "--", color=color, alpha=0.5)
    for ax, unit in ((lat, "p50 latency (ms)"), (mem, "MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("entries (log)")
        ax.set_ylabel(unit + " (log)")
        ax.grid(True, which="both", alpha=0.3)
    mem.axhline(MACHINE_MB, linestyle=":", color="black", label="24 GiB (the reference machine)")
    lat.legend(fontsize=6)
    mem.legend(fontsize=6)
    lat.set_title("query latency vs size (dashed: fit to 1,000,000)")
    mem.set_title("memory and disk vs size (dashed: fit)")
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
                    f"{n} points did not finish (exit code 3: past the heap ceiling); reporting what ran",
                    file=sys.stderr,
                )
    current, earlier = load_runs()
    if not current and not earlier:
        print("no store-curve-*.json in bench/results: run with --run first", file=sys.stderr)
        return 1
    text = report(current, earlier)
    print(text)
    (RESULTS / "store-curve.md").write_text(text, encoding="utf-8")
    summary = {"current_layout": curve(current) if current else None, "earlier_layout": curve(earlier)}
    (RESULTS / "store-curve.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    plot(current, earlier, RESULTS / "store-curve.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
