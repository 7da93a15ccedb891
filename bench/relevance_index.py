"""Build the catalogue bench index with only the vectors that text search reads.

Why: the relevance benchmark scores `search_text` without aspects, which reads the legs of
SearchSettings.default_weights (title_vector and BM25) and the payload; the other eleven dense vectors of 24,901
entries cost most of an hour of CPU and change no result it measures. Entries keep their full payload and BM25
vector; their stored text hashes name only the vectors embedded, so a later `anime-mcp index` of the same files
into this folder embeds the rest. Do not serve this index as a product index: aspect search, find_similar and
recommend need the other vectors.

    .venv/bin/python -m bench.relevance_index --data-dir .bench-index-catalogue FILE...
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import index.ingest as ingest
from index.runtime import open_runtime
from index.search.tuning import SearchSettings
from index.settings import StorageSettings
from index.texts import vector_texts


def searched_texts(entry):  # type: ignore[no-untyped-def]
    """vector_texts limited to the dense vectors of the default text search."""
    wanted = set(SearchSettings().default_weights)
    return {name: text for name, text in vector_texts(entry).items() if name in wanted}


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument(
        "--batch-size",
        type=int,
        default=1024,
        help="entries per write: every write is flushed, and the flushes, not the embedding, "
        "dominated with the default 64",
    )
    ap.add_argument("paths", type=Path, nargs="+")
    args = ap.parse_args()
    ingest.vector_texts = searched_texts  # the ingestor reads texts through this module-level name
    rt = await open_runtime(storage=StorageSettings(data_dir=args.data_dir), warmup=False)
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if done % 2048 < n:
            print(f"indexed {done} entries", file=sys.stderr, flush=True)

    try:
        summary = await ingest.Ingestor(
            rt.store, rt.embedder, rt.fetcher, batch_size=args.batch_size, fetch_images=False
        ).ingest_paths(args.paths, progress=progress)
    finally:
        await rt.close()
    print(f"indexed: {summary.line()} (vectors: {sorted(SearchSettings().default_weights)})", file=sys.stderr)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
