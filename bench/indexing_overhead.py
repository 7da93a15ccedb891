"""Indexing pipeline vs the encoder alone, on the same texts.

The pipeline (read, map to 13 texts, hash, embed, BM25, payload, upsert into the embedded
engine) may cost at most 15% over the raw encoder throughput (bench target of the
"Measure and win" issue). Both runs use the same model, the same texts and the same batch
size; the encoder run goes first so neither profits from a warmer cache.

    python -m bench.indexing_overhead [--entries 400] [--file PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import anyio

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", type=Path, default=SHARED / "anime_mal_1822.json")
    parser.add_argument("--entries", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "indexing-overhead.md")
    args = parser.parse_args()

    from index.embedding import get_embedding_module
    from index.importers import load_entries
    from index.ingest import Ingestor
    from index.runtime import open_runtime
    from index.settings import StorageSettings
    from index.texts import vector_texts

    entries = load_entries(args.file)[: args.entries]
    embedder = get_embedding_module()
    embedder.warmup(documents=True)
    texts = [t for e in entries for t in vector_texts(e).values()]

    start = time.perf_counter()
    for i in range(0, len(entries), args.batch_size):  # same grouping as the ingestor: per entry batch
        batch = [t for e in entries[i : i + args.batch_size] for t in vector_texts(e).values()]
        embedder.embed_documents(batch)
    encoder_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        runtime = await open_runtime(embedder=embedder, storage=StorageSettings(data_dir=Path(tmp)), warmup=False)
        start = time.perf_counter()
        summary = await Ingestor(
            runtime.store, embedder, runtime.fetcher, batch_size=args.batch_size, fetch_images=False
        ).ingest_entries(entries)
        pipeline_s = time.perf_counter() - start
        await runtime.close()

    overhead = pipeline_s / encoder_s - 1
    rows = {
        "entries": len(entries),
        "texts": len(texts),
        "batch_size": args.batch_size,
        "encoder_s": round(encoder_s, 2),
        "pipeline_s": round(pipeline_s, 2),
        "encoder_texts_per_s": round(len(texts) / encoder_s, 1),
        "pipeline_texts_per_s": round(summary.vectors_embedded / pipeline_s, 1),
        "pipeline_entries_per_s": round(len(entries) / pipeline_s, 2),
        "overhead_pct": round(overhead * 100, 1),
        "target_pct": 15,
        "holds": overhead <= 0.15,
        "machine": f"{os.cpu_count()} CPUs, model {embedder.text_model_name} on {embedder.device}",
    }
    text = "\n".join(
        [
            "# Indexing pipeline vs encoder alone",
            "",
            f"{rows['machine']}; {rows['entries']} entries of {args.file.name}, {rows['texts']} texts, "
            f"batch {args.batch_size}.",
            "",
            "| run | seconds | texts/s | entries/s |",
            "|---|---:|---:|---:|",
            f"| encoder alone (embed_documents) | {rows['encoder_s']} | {rows['encoder_texts_per_s']} | |",
            f"| full pipeline (Ingestor into qdrant-edge) | {rows['pipeline_s']} | {rows['pipeline_texts_per_s']} | "
            f"{rows['pipeline_entries_per_s']} |",
            "",
            f"Pipeline overhead: {rows['overhead_pct']}% (target <= 15%): {'HOLDS' if rows['holds'] else 'MISSES'}.",
            "",
        ]
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    anyio.run(main)
