"""Latency of `completion/complete` through the MCP protocol (in-process client) on an indexed folder.

Typed inputs are drawn (seeded) from the 1,822-entry file: title prefixes of 3, 6 and 12 characters,
whole titles with one typo, Japanese title prefixes, id prefixes, and genre, studio, type and season
prefixes. Prints p50/p99 per kind and overall (the target: p50 under 10 ms on the 1,822 entries), the
first (cache-building) call apart, and writes bench/results/completion.md.

Completions read only the payload (titles, ids, members, facet counts), never a vector, so by
default the entries are indexed into a temporary folder with random vectors in place of the model
(no model load, a minute on 2 cores); ``--index DIR`` opens an index built by ``anime-mcp index``
with the configured models instead.

    .venv/bin/python -m bench.completion_bench [--rounds 5] [--index .bench-index]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
ENTRIES = ROOT.parent / "shared" / "data" / "anime_mal_1822.json"
ENRICHED = ROOT.parent / "shared" / "data" / "enriched_sample_28.json"


class RandomVectors:
    """Stands in for the embedding module when only payload matters: unit random vectors, no images."""

    text_dim = 384
    text_model_name = "random-vectors (completion bench)"
    text_engine = "numpy"
    image_model_name = None
    image_available = False

    def configured_image_dim(self) -> int:
        return 512

    def embed_documents(self, texts):
        import numpy as np

        vectors = np.random.default_rng(len(texts)).standard_normal((len(texts), self.text_dim)).astype("float32")
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    async def aembed_documents(self, texts):
        return self.embed_documents(texts)


async def payload_index(folder: Path):
    """The 1,822 + 28 entries through the real ingestion path, with random vectors."""
    from index.importers import load_entries
    from index.ingest import Ingestor
    from index.runtime import open_runtime
    from index.settings import StorageSettings

    embedder = RandomVectors()
    runtime = await open_runtime(embedder=embedder, storage=StorageSettings(data_dir=folder), warmup=False)
    entries = load_entries(ENTRIES) + load_entries(ENRICHED)
    summary = await Ingestor(
        runtime.store, embedder, runtime.fetcher, batch_size=256, fetch_images=False
    ).ingest_entries(entries)
    assert not summary.failed, summary.failed[:3]
    return runtime


def typed_inputs(seed: int = 7) -> list[tuple[str, str, str, str]]:
    """(kind, ref kind, argument name, typed text) drawn from the entries file."""
    rng = random.Random(seed)
    data = json.loads(ENTRIES.read_text())["data"]
    sample = rng.sample(data, 40)
    out: list[tuple[str, str, str, str]] = []
    for e in sample:
        title = e["title"]
        for n in (3, 6, 12):
            out.append((f"title prefix {n}", "prompt", "anime", title[:n]))
        if len(title) > 6:
            i = rng.randrange(1, len(title) - 1)
            out.append(("title typo", "prompt", "anime", title[:i] + title[i + 1 :]))
        if e.get("title_japanese"):
            out.append(("japanese prefix", "prompt", "anime", e["title_japanese"][:3]))
        out.append(("id prefix", "template", "anime_id", e["id"][:-1] or e["id"]))
        out.append(("id from title", "template", "anime_id", title[:8]))
    for genre in ("act", "sci", "slice", "comdy", "rom", "myst"):
        out.append(("genre", "prompt", "genre", genre))
    for studio in ("sun", "madh", "bones", "kyoto", "prod"):
        out.append(("studio", "prompt", "studio", studio))
    out += [("type", "prompt", "type", t) for t in ("tv", "mo", "o")]
    out += [("season", "prompt", "season", s) for s in ("sp", "fa", "w")]
    out.append(("nothing typed", "prompt", "anime", ""))
    return out


async def run(index: Path | None, rounds: int) -> dict:
    from index.runtime import open_runtime
    from index.settings import StorageSettings

    if index is None:
        with tempfile.TemporaryDirectory(prefix="completion-bench-") as folder:
            return await measure(await payload_index(Path(folder)), rounds, "temporary index, random vectors")
    runtime = await open_runtime(storage=StorageSettings(data_dir=index), create=False)
    return await measure(runtime, rounds, f"index {index}")


async def measure(runtime, rounds: int, where: str) -> dict:
    from mcp import Client
    from mcp_types import PromptReference, ResourceTemplateReference

    from server.app import build_server
    from server.state import AppState

    refs = {
        "prompt": {
            "anime": "like_x_but_y",
            "genre": "season_picks",
            "type": "season_picks",
            "season": "season_picks",
            "studio": "studio_spotlight",
        }
    }
    inputs = typed_inputs()

    async def loader():
        return runtime

    timings: dict[str, list[float]] = {}
    empty = 0
    try:
        async with Client(build_server(AppState(loader=loader))) as client:

            async def complete(ref_kind: str, name: str, text: str):
                ref = (
                    ResourceTemplateReference(uri="anime://{anime_id}")
                    if ref_kind == "template"
                    else PromptReference(name=refs["prompt"][name])
                )
                return (await client.complete(ref, {"name": name, "value": text})).completion

            started = time.perf_counter()
            await complete("prompt", "anime", "cowboy")
            first_ms = (time.perf_counter() - started) * 1000
            for _ in range(rounds):
                for kind, ref_kind, name, text in inputs:
                    t0 = time.perf_counter()
                    completion = await complete(ref_kind, name, text)
                    timings.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
                    empty += not completion.values
        entries = await runtime.store.count()
    finally:
        await runtime.close()
    everything = [t for ts in timings.values() for t in ts]
    return {
        "entries": entries,
        "where": where,
        "rounds": rounds,
        "calls": len(everything),
        "empty_answers": empty,
        "first_call_ms": round(first_ms, 1),
        "overall": summary(everything),
        "by_kind": {k: summary(v) for k, v in timings.items()},
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with other jobs)",
    }


def summary(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
    }


def markdown(result: dict) -> str:
    lines = [
        "# completion/complete latency",
        "",
        f"{result['entries']} entries ({result['where']}), in-process MCP client, {result['calls']} calls "
        f"({result['rounds']} rounds); "
        f"{result['machine']}. First call (builds the title cache): {result['first_call_ms']} ms. "
        f"Answers with no values: {result['empty_answers']}.",
        "",
        "| typed | calls | p50 ms | p99 ms |",
        "| --- | --- | --- | --- |",
        f"| **all** | {result['overall']['n']} | {result['overall']['p50_ms']} | {result['overall']['p99_ms']} |",
    ]
    lines += [f"| {k} | {v['n']} | {v['p50_ms']} | {v['p99_ms']} |" for k, v in result["by_kind"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="An index built by `anime-mcp index` (default: a temporary one).")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = anyio.run(run, args.index, args.rounds)
    text = markdown(result)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "completion.md").write_text(text)
    (RESULTS / "completion.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
