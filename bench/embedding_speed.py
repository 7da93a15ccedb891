"""Embedding speed of the lite profile on this machine.

Measures, through the product's own EmbeddingModule:
  * documents/s for real synopses (anime_mal_1822.json) at text batch sizes 32 and 64;
  * queries/s for one client vs 32 concurrent clients (micro-batching; the target is >= 3x);
  * images/s for Pillow-drawn 224px pictures with the tiny test CLIP and with a ViT-B-32 of RANDOM
    weights (architecture speed only: no real weights can be downloaded here, the vectors mean nothing).

Usage: .venv/bin/python bench/embedding_speed.py [--docs 512] [--queries 192] [--images 96] [--no-vitb32]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "anime_mal_1822.json"

TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
}


def synopses(limit: int) -> list[str]:
    entries = json.loads(DATA.read_text())["data"]
    texts = [e["synopsis"] for e in entries if (e.get("synopsis") or "").strip()]
    return texts[:limit]


def queries(limit: int) -> list[str]:
    entries = json.loads(DATA.read_text())["data"]
    out = []
    for e in entries:
        genres = ", ".join(e.get("genres") or []) or "drama"
        out.append(f"{genres.lower()} anime like {e['title']}")
    return out[:limit]


def drawn_images(n: int, size: int = 224):
    from PIL import Image, ImageDraw

    images = []
    for i in range(n):
        image = Image.new("RGB", (size, size), ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256))
        pen = ImageDraw.Draw(image)
        pen.ellipse((10 + i % 50, 20, 150 + i % 60, 200), fill=((i * 11) % 256, 80, 160))
        pen.rectangle((100, 30 + i % 40, 210, 120), outline="black", width=4)
        images.append(image)
    return images


def text_settings(**extra):
    from index.settings import EmbeddingSettings

    return EmbeddingSettings(_env_file=None, profile="lite", device="cpu", image_enabled=False, **extra)


def bench_documents(docs: list[str], batch_size: int) -> None:
    from index.embedding import EmbeddingModule

    module = EmbeddingModule(text_settings(text_batch_size=batch_size))
    module.warmup(documents=True)
    tokens = [module._text.token_count(t) for t in docs]
    chunked = sum(n > module._text.window - 2 for n in tokens)
    started = time.perf_counter()
    vectors = module.embed_documents(docs)
    elapsed = time.perf_counter() - started
    print(
        f"documents  batch {batch_size:>3}: {len(docs) / elapsed:7.1f} texts/s  "
        f"({len(docs)} synopses, mean {statistics.mean(tokens):.0f} tokens, {chunked} chunked, "
        f"{elapsed:.1f}s, dim {vectors.shape[1]})"
    )
    module.close()


def bench_queries(texts: list[str], clients: int = 32) -> None:
    import anyio

    from index.embedding import EmbeddingModule
    from index.search.cache import CacheSettings

    # the texts are encoded twice (one caller, then 32): with the query cache the second pass would time lookups
    module = EmbeddingModule(text_settings(), cache=CacheSettings(_env_file=None, query_cache_enabled=False))
    module.warmup()

    async def single() -> float:
        started = time.perf_counter()
        for t in texts:
            await module.aembed_query(t)
        return len(texts) / (time.perf_counter() - started)

    async def concurrent() -> tuple[float, int]:
        calls = module.query_encoder_calls
        per_client = [texts[i::clients] for i in range(clients)]

        async def client(mine: list[str]) -> None:
            for t in mine:
                await module.aembed_query(t)

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for mine in per_client:
                tg.start_soon(client, mine)
        return len(texts) / (time.perf_counter() - started), module.query_encoder_calls - calls

    one = anyio.run(single)
    many, calls = anyio.run(concurrent)
    print(f"queries    1 client   : {one:7.1f} queries/s")
    print(
        f"queries   {clients} clients  : {many:7.1f} queries/s  ({many / one:.1f}x single; "
        f"{len(texts)} queries in {calls} encoder calls)"
    )
    module.close()


def bench_images(label: str, config: dict | None, arch: str | None, n: int, folder: Path) -> None:
    """Save a model of random weights as a checkpoint, then load and run it through the product path."""
    import open_clip
    import torch

    from index.embedding import EmbeddingModule
    from index.settings import EmbeddingSettings

    if config is not None:
        config_path = folder / "tiny-clip-bench.json"
        config_path.write_text(json.dumps(config))
        open_clip.add_model_config(config_path)
        name, model_setting = "tiny-clip-bench", str(config_path)
    else:
        name = model_setting = arch
    checkpoint = folder / f"{name}-random.pt"
    torch.manual_seed(0)
    torch.save(open_clip.create_model(name, pretrained=None).state_dict(), checkpoint)
    module = EmbeddingModule(
        EmbeddingSettings(
            _env_file=None, profile="lite", device="cpu", image_model=model_setting, image_pretrained=str(checkpoint)
        )
    )
    module.warmup()
    images = drawn_images(n)
    started = time.perf_counter()
    vectors = module.embed_images(images)
    elapsed = time.perf_counter() - started
    texts = [f"a poster with a circle number {i}" for i in range(n)]
    started = time.perf_counter()
    module.embed_clip_texts(texts)
    text_elapsed = time.perf_counter() - started
    print(
        f"images     {label:<34}: {n / elapsed:7.1f} images/s  (224px, batch {module.models.image_batch_size}, "
        f"dim {vectors.shape[1]}); CLIP text {n / text_elapsed:7.1f} texts/s"
    )
    module.close()
    checkpoint.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=512)
    parser.add_argument("--queries", type=int, default=192)
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--no-vitb32", action="store_true", help="skip the random-weight ViT-B-32 run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    import torch

    print(f"lite profile, device cpu, torch threads {torch.get_num_threads()}")
    docs = synopses(args.docs)
    for batch_size in (32, 64):
        bench_documents(docs, batch_size)
    bench_queries(queries(args.queries))
    with tempfile.TemporaryDirectory() as tmp:
        bench_images("tiny test CLIP (random weights)", TINY_CLIP_CONFIG, None, args.images, Path(tmp))
        if not args.no_vitb32:
            bench_images("ViT-B-32 RANDOM weights (speed only)", None, "ViT-B-32", args.images, Path(tmp))


if __name__ == "__main__":
    main()
