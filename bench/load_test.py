"""Load test over streamable HTTP on loopback: many concurrent MCP clients sending mixed search
traffic to a running `anime-mcp serve --transport http`. Reports throughput, latency p50/p99,
errors and the server's memory (RSS) before and after.

Start a server (turn the per-client rate limit off: every loopback client shares one address):

    ANIME_MCP_RATE_LIMIT_PER_MINUTE=0 anime-mcp serve --transport http --port 8765 &
    .venv/bin/python bench/load_test.py --url http://127.0.0.1:8765 --clients 32 --seconds 300 --pid $!
    .venv/bin/python bench/load_test.py --url http://127.0.0.1:8765 --mix --levels 1 8 32 --seconds 30

`--mix` sends the assistant-like mix MIX (60% search_anime, 20% get_anime, 10% find_similar_anime,
10% browse_anime) instead of CALLS; `--levels` runs one load per client count and prints req/s and p99 for each.
tests/server/test_load.py runs the short form (8 clients, ~15 s) against a subprocess server.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from mcp import Client

QUERIES = [
    "space bounty hunters",
    "a student finds a notebook that kills people",
    "giant robots fighting aliens",
    "cozy slice of life in the countryside",
    "ninja village",
    "time travel romance",
    "sports team underdogs",
    "cowboy bebop",
    "shingeki no kyojin",
    "magical girls",
    "detective solving murders",
    "pirates treasure",
]
CALLS = [
    ("search_anime", lambda r: {"query": r.choice(QUERIES), "limit": r.choice([3, 10])}),
    (
        "search_anime",
        lambda r: {"query": r.choice(QUERIES), "filters": {"year_min": 1995, "types": ["TV"]}, "limit": 5},
    ),
    ("search_anime", lambda r: {"query": r.choice(QUERIES), "aspects": ["story"], "explain": True, "limit": 5}),
    ("browse_anime", lambda r: {"filters": {"genres": ["Action"]}, "sort_by": "score", "limit": 10}),
    ("find_similar_anime", lambda r: {"anime": r.choice(["Cowboy Bebop", "mal-1", "Naruto"]), "limit": 5}),
    ("get_anime", lambda r: {"anime": r.choice(["mal-1", "Cowboy Bebop"])}),
    ("anime_database_stats", lambda r: {}),
]
#: An assistant's traffic: mostly searches, then details of a hit, sometimes "more like this" or a browse.
MIX_WEIGHTS = {"search_anime": 6, "get_anime": 2, "find_similar_anime": 1, "browse_anime": 1}


def mix_call(slot: int, query: str, anime: str) -> tuple[str, dict]:
    """The call of one slot of ten in MIX_WEIGHTS' proportions (deterministic, so runs compare)."""
    slot %= sum(MIX_WEIGHTS.values())
    if slot < 6:
        return "search_anime", {"query": query, "limit": 10}
    if slot < 8:
        return "get_anime", {"anime": anime}
    if slot < 9:
        return "find_similar_anime", {"anime": anime, "limit": 10}
    return "browse_anime", {"filters": {"genres": ["Action"]}, "sort_by": "score", "limit": 10}


MIX = [("mix", lambda r: mix_call(r.randrange(10), r.choice(QUERIES), r.choice(["mal-1", "Cowboy Bebop", "Naruto"])))]


@dataclass
class LoadReport:
    clients: int
    seconds: float
    calls: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    rss_before_mb: float | None = None
    rss_after_mb: float | None = None

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> dict:
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "calls": self.calls,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "calls_per_s": round(self.calls / self.seconds, 1) if self.seconds else 0,
            "p50_ms": round(self.percentile(50) * 1000, 1),
            "p99_ms": round(self.percentile(99) * 1000, 1),
            "max_ms": round(max(self.latencies, default=0) * 1000, 1),
            "rss_before_mb": self.rss_before_mb,
            "rss_after_mb": self.rss_after_mb,
        }


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process from /proc (Linux); None elsewhere."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


async def run_load(
    url: str,
    *,
    clients: int = 8,
    seconds: float = 15.0,
    max_calls_per_client: int = 10_000,
    pid: int | None = None,
    seed: int = 0,
    call_timeout: float = 60.0,
    calls: list = CALLS,
) -> LoadReport:
    """Each client opens its own MCP session and sends calls back to back until `seconds` pass."""
    report = LoadReport(clients=clients, seconds=seconds, rss_before_mb=rss_mb(pid))
    started = time.monotonic()
    stop_at = started + seconds

    async def one(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        try:
            async with Client(url.rstrip("/") + "/mcp") as client:
                for _ in range(max_calls_per_client):
                    if time.monotonic() >= stop_at:
                        break
                    name, make = rng.choice(calls)
                    args = make(rng)
                    if name == "mix":
                        name, args = args
                    t0 = time.monotonic()
                    with anyio.fail_after(call_timeout):
                        result = await client.call_tool(name, args)
                    report.latencies.append(time.monotonic() - t0)
                    report.calls += 1
                    if result.is_error:
                        text = " ".join(getattr(c, "text", "") for c in result.content)
                        report.errors.append(f"{name} {args}: {text[:200]}")
        except Exception as exc:  # a dropped session is an error of the run, not a crash of the bench
            report.errors.append(f"client {i}: {type(exc).__name__}: {exc}"[:300])

    async with anyio.create_task_group() as tg:
        for i in range(clients):
            tg.start_soon(one, i)
    report.seconds = time.monotonic() - started
    report.rss_after_mb = rss_mb(pid)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--pid", type=int, help="Server process id, to report its RSS.")
    parser.add_argument("--mix", action="store_true", help="the assistant-like mix (MIX_WEIGHTS) instead of CALLS")
    parser.add_argument("--levels", type=int, nargs="*", help="run once per client count (overrides --clients)")
    args = parser.parse_args()
    calls = MIX if args.mix else CALLS
    summaries = []
    for clients in args.levels or [args.clients]:
        report = anyio.run(
            lambda n=clients: run_load(args.url, clients=n, seconds=args.seconds, pid=args.pid, calls=calls)
        )
        summaries.append(report.summary())
        print(json.dumps(summaries[-1], indent=1))
    if len(summaries) > 1:
        base = summaries[0]["calls_per_s"] or 1
        for s in summaries:
            print(
                f"{s['clients']:>3} clients: {s['calls_per_s']:.1f} req/s ({s['calls_per_s'] / base:.2f}x), "
                f"p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, errors {s['errors']}"
            )


if __name__ == "__main__":
    main()
