"""`search_anime` over stdio, this checkout against an earlier commit, in one run (issue 20's 1.2x budget).

Why: query reading and ranking grow with each issue; the cost a user's assistant sees is the whole stdio round trip.
Two servers, one from a git worktree of the baseline commit and one from this checkout, each on its own sparse copy
of the same index with both caches off, answer the same queries call by call in alternation, so drift on a shared
machine lands on both alike. Queries: every family query of bench/queries_families.json plus bench/queries.json.

    ANIME_MCP_DATA_DIR=.bench-index .venv/bin/python -m bench.stdio_ab --baseline a55bb78 [--rounds 2]
Writes bench/results/stdio-ab.md (and .json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from bench.cold_start import CACHES_OFF, copy_index, load_texts, pct

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BUDGET = 1.2


def family_texts() -> list[str]:
    data = json.loads((ROOT / "bench" / "queries_families.json").read_text(encoding="utf-8"))
    return [q["query"] for q in data["queries"]]


def params(code: Path, data_dir: Path) -> StdioServerParameters:
    """A stdio server whose code is the tree at ``code`` (first on the path, ahead of the editable install)."""
    env = {
        **os.environ,
        **CACHES_OFF,
        "ANIME_MCP_LOG_LEVEL": "WARNING",
        "ANIME_MCP_DATA_DIR": str(data_dir),
        "ANIME_MCP_IMAGE_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(code),
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "server.cli", "serve"], env=env, cwd=str(code))


async def timed(client: Client, query: str) -> float:
    t0 = time.perf_counter()
    result = await client.call_tool("search_anime", {"query": query, "limit": 10})
    elapsed = time.perf_counter() - t0
    if result.is_error:
        raise RuntimeError(f"search_anime failed for {query!r}: {result.content}")
    return elapsed * 1000


async def run(baseline: Path, index: Path, texts: list[str], rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stdio-ab-") as tmp:
        old_dir = copy_index(index, Path(tmp) / "old")
        new_dir = copy_index(index, Path(tmp) / "new")
        async with Client(params(baseline, old_dir)) as old, Client(params(ROOT, new_dir)) as new:
            for q in texts[:5]:  # warm both: models loaded, first-query costs paid
                await timed(old, q)
                await timed(new, q)
            times: dict[str, list[float]] = {"baseline": [], "current": []}
            for r in range(rounds):
                for i, q in enumerate(texts):
                    order = [("baseline", old), ("current", new)]
                    if (i + r) % 2:
                        order.reverse()
                    for name, client in order:
                        times[name].append(await timed(client, q))
    out: dict[str, Any] = {"queries": len(texts), "rounds": rounds}
    for name, values in times.items():
        out[name] = {"p50_ms": statistics.median(values), "p90_ms": pct(values, 90), "calls": len(values)}
    out["ratio_p50"] = out["current"]["p50_ms"] / out["baseline"]["p50_ms"]
    return out


def write(result: dict[str, Any], ref: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stdio-ab.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    b, c = result["baseline"], result["current"]
    verdict = "HOLD" if result["ratio_p50"] <= BUDGET else "MISS"
    lines = [
        "# search_anime over stdio: this checkout against an earlier commit",
        "",
        f"`ANIME_MCP_DATA_DIR=.bench-index .venv/bin/python -m bench.stdio_ab --baseline {ref}` ({platform.node()}, "
        f"{os.cpu_count()} cores, load at start {result['load_at_start']:.1f}); caches off, image search off, "
        f"{result['queries']} queries x {result['rounds']} rounds, alternating call by call.",
        "",
        "| server | p50 ms | p90 ms | calls |",
        "|---|---:|---:|---:|",
        f"| baseline {ref} | {b['p50_ms']:.1f} | {b['p90_ms']:.1f} | {b['calls']} |",
        f"| current {result['commit']} | {c['p50_ms']:.1f} | {c['p90_ms']:.1f} | {c['calls']} |",
        "",
        f"p50 ratio **{result['ratio_p50']:.2f}x** (budget {BUDGET}x: {verdict}).",
    ]
    (RESULTS / "stdio-ab.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="the commit to compare against (a git ref)")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    index = Path(os.environ.get("ANIME_MCP_DATA_DIR", ".bench-index")).resolve()
    texts = family_texts() + load_texts()
    with tempfile.TemporaryDirectory(prefix="stdio-ab-tree-") as tree:
        worktree = Path(tree) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.baseline], cwd=ROOT, check=True)
        try:
            load = os.getloadavg()[0]
            result = asyncio.run(run(worktree, index, texts, args.rounds))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    result.update(baseline_ref=args.baseline, commit=commit.stdout.strip(), load_at_start=load)
    write(result, args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
