"""Picture search relevance with REAL image weights: Recall@1, Recall@10, MRR and p50 latency per query variant.

Why: tests/tools/test_image_search.py proves the picture plumbing with a random-weight CLIP; whether a user's cover,
re-encoded upload or crop finds its anime depends on the real weights, and is measured here. Each cover is sent
to ``SearchEngine.search_image`` (the engine call of the search_anime_by_image tool: decode, embed, query) three
ways: the picture itself (PNG), a resized JPEG (70% size, quality 75) and a crop (the central 70% of each side).

Covers (the ground truth is the anime id), one of:
  --covers DIR      pictures named by anime id: DIR/mal-1.jpg, DIR/mal-20.png, ...
  --mapping FILE    CSV with columns file,anime_id, or JSON {file: anime_id} / [{"file":..,"anime_id":..}];
                    relative paths are relative to FILE's folder
  --from-index N    N entries of the index itself, their first cover read from the image download cache
                    (ANIME_MCP_IMAGE_CACHE_DIR) or an allowed local path; nothing is downloaded
The index is the one the environment configures (ANIME_MCP_DATA_DIR or ANIME_MCP_QDRANT_URL), built with images;
or --build ENTRIES indexes ENTRIES into a temporary folder first, each entry's pictures replaced by its cover
from the input (entries without one are indexed without pictures), so no download is needed.

It refuses (exit 2, with the reason) when the image model is unavailable, when its weights look random (a
zero-shot check: plain red/green/blue/yellow/black/white pictures against CLIP texts naming those colours;
trained CLIP models name nearly all, random ones about one in six), or when the index holds no picture vectors.

    ANIME_MCP_PROFILE=full .venv/bin/python -m bench.image_relevance --from-index 500
    .venv/bin/python -m bench.image_relevance --covers ~/covers --build ../shared/data/anime_mal_1822.json

Writes bench/results/image-relevance.md. ``--plumbing-check`` skips the weight check to try the script with the
test model; it writes nothing, since such numbers mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import logging
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from qdrant_client import models

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.embedding.image_fetch import ImageFetcher  # noqa: E402
from index.embedding.module import EmbeddingModule, get_embedding_module  # noqa: E402
from index.identity import point_id  # noqa: E402
from index.importers import load_entries  # noqa: E402
from index.ingest import Ingestor  # noqa: E402
from index.runtime import IndexRuntime, open_runtime  # noqa: E402
from index.settings import ImageFetchSettings, StorageSettings  # noqa: E402
from index.vectors import IMAGE  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PICTURE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
COLOURS = {
    "red": (220, 20, 20),
    "green": (20, 170, 40),
    "blue": (20, 40, 220),
    "yellow": (240, 220, 20),
    "black": (5, 5, 5),
    "white": (250, 250, 250),
}
MIN_COLOURS_NAMED = 4  # of 6; chance is 1
DEPTH = 10  # results per query: Recall@10 and MRR@10


class Refusal(Exception):
    """The run cannot give real numbers; the message says why and what to change."""


# ----------------------------------------------------------------------------- query variants
def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def resized_jpeg(image: Image.Image, scale: float = 0.7, quality: int = 75) -> bytes:
    small = image.convert("RGB").resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BICUBIC
    )
    buf = io.BytesIO()
    small.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def central_crop(image: Image.Image, keep: float = 0.7) -> bytes:
    w, h = image.size
    dx, dy = round(w * (1 - keep) / 2), round(h * (1 - keep) / 2)
    return _png(image.crop((dx, dy, w - dx, h - dy)))


VARIANTS = {"original (PNG)": _png, "resized JPEG 70% q75": resized_jpeg, "central crop 70%": central_crop}


# ----------------------------------------------------------------------------- covers
def covers_from_dir(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise Refusal(f"--covers {folder} is not a folder")
    found = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in PICTURE_SUFFIXES and p.is_file()}
    if not found:
        raise Refusal(f"no pictures ({', '.join(sorted(PICTURE_SUFFIXES))}) in {folder}")
    return found


def covers_from_mapping(path: Path) -> dict[str, Path]:
    if not path.is_file():
        raise Refusal(f"--mapping {path} is not a file")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            pairs = list(data.items()) if isinstance(data, dict) else [(d["file"], d["anime_id"]) for d in data]
        else:
            with path.open(newline="", encoding="utf-8") as f:
                pairs = [(row["file"], row["anime_id"]) for row in csv.DictReader(f)]
    except (KeyError, TypeError, ValueError) as exc:
        raise Refusal(
            f"--mapping {path}: expected CSV columns file,anime_id or JSON {{file: anime_id}} / "
            f'[{{"file": ..., "anime_id": ...}}] ({type(exc).__name__}: {exc})'
        ) from exc
    out = {str(anime_id): (path.parent / file) for file, anime_id in pairs}
    missing = [str(p) for p in out.values() if not p.is_file()]
    if missing:
        raise Refusal(f"{len(missing)} mapped files do not exist, e.g. {missing[0]}")
    return out


def load_pictures(paths: dict[str, Path]) -> dict[str, Image.Image]:
    pictures = {}
    for anime_id, path in paths.items():
        try:
            with Image.open(path) as im:
                pictures[anime_id] = im.convert("RGB")
        except Exception as exc:  # one bad file is reported, not fatal
            print(f"skipped {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return pictures


async def covers_from_index(rt: IndexRuntime, n: int) -> dict[str, Image.Image]:
    """Up to n entries that have a picture vector, their first cover from the download cache (no download)."""
    settings = rt.fetcher.settings.model_copy(update={"image_fetch_enabled": False})
    cached = ImageFetcher(settings)
    has_picture = models.Filter(must=[models.HasVectorCondition(has_vector=IMAGE)])
    pictures: dict[str, Image.Image] = {}
    offset = None
    while len(pictures) < n:
        records, offset = await rt.store.scroll(
            scroll_filter=has_picture, limit=256, offset=offset, with_payload=["anime_id", "image_url"]
        )
        pairs = [(r.payload.get("anime_id"), r.payload.get("image_url")) for r in records if r.payload]
        pairs = [(i, u) for i, u in pairs if i and u]
        for (anime_id, _), image in zip(pairs, await cached.fetch_many([u for _, u in pairs]), strict=True):
            if image is not None and len(pictures) < n:
                pictures[anime_id] = image.convert("RGB")
        if offset is None:
            break
    if not pictures:
        raise Refusal("no cover of the index is in the image cache (ANIME_MCP_IMAGE_CACHE_DIR); give --covers DIR")
    return pictures


# ----------------------------------------------------------------------------- checks
def check_weights(embedder: EmbeddingModule) -> str:
    """Refuse an unavailable or untrained image model; the line it returns says what was checked."""
    if not embedder.image_available:
        raise Refusal(f"image model unavailable: {embedder.image_error}")
    names = list(COLOURS)
    pictures = embedder.embed_images([Image.new("RGB", (224, 224), rgb) for rgb in COLOURS.values()])
    texts = embedder.embed_clip_texts([f"a plain {name} picture" for name in names])
    named = sum(int((pictures[i] @ texts.T).argmax() == i) for i in range(len(names)))
    line = f"zero-shot colour check: {named}/{len(names)} plain colours named by the CLIP text tower"
    if named < MIN_COLOURS_NAMED:
        raise Refusal(
            f"the image model's weights look random or untrained ({line}; need {MIN_COLOURS_NAMED}): "
            "set ANIME_MCP_IMAGE_PRETRAINED to real weights (a pretrained tag or checkpoint file)"
        )
    return line


async def check_index(rt: IndexRuntime, pictures: dict[str, Image.Image]) -> tuple[dict[str, Image.Image], str]:
    info = await rt.store.info()
    with_pictures = (info.vectors_present or {}).get(IMAGE, 0)
    if not with_pictures:
        raise Refusal("the index has no picture vectors: index with images (not --no-images) and image weights")
    records = await rt.store.retrieve([point_id(i) for i in pictures], with_payload=["anime_id"], with_vectors=[IMAGE])
    indexed = {
        r.payload["anime_id"]
        for r in records
        if r.payload and isinstance(r.vector, dict) and r.vector.get(IMAGE) is not None
    }
    kept = {i: p for i, p in pictures.items() if i in indexed}
    if not kept:
        raise Refusal(
            f"none of the {len(pictures)} covers' ids is in the index with a picture vector "
            f"(e.g. {next(iter(pictures))}); check the ids or the index"
        )
    line = (
        f"{info.points} entries, {with_pictures} with a picture vector; {len(kept)} of {len(pictures)} "
        f"covers belong to one of them (the others are skipped)"
    )
    return kept, line


# ----------------------------------------------------------------------------- run
async def build_index(
    entries_file: Path, covers: dict[str, Path], folder: Path, limit: int | None, embedder: EmbeddingModule
) -> IndexRuntime:
    entries = load_entries(entries_file)[:limit] if limit else load_entries(entries_file)
    for e in entries:
        cover = covers.get(e.id or "")
        e.images.covers, e.images.posters, e.images.banners = ([str(cover.resolve())] if cover else []), [], []
    dirs = sorted({str(p.resolve().parent) for p in covers.values()})
    fetch = ImageFetchSettings(image_cache_dir=folder / "cache", image_allowed_dirs=dirs, image_fetch_enabled=False)
    rt = await open_runtime(storage=StorageSettings(data_dir=folder / "index"), fetch=fetch, embedder=embedder)
    summary = await Ingestor(rt.store, rt.embedder, rt.fetcher, fetch_images=True).ingest_entries(entries)
    print(f"built: {summary.line()}", file=sys.stderr)
    return rt


async def score(rt: IndexRuntime, pictures: dict[str, Image.Image]) -> dict[str, dict[str, float]]:
    await rt.engine.search_image(_png(next(iter(pictures.values()))), limit=DEPTH)  # warm-up, not timed
    rows = {}
    for variant, encode in VARIANTS.items():
        ranks, seconds = [], []
        for anime_id, picture in pictures.items():
            data = encode(picture)
            start = time.perf_counter()
            page = await rt.engine.search_image(data, limit=DEPTH)
            seconds.append(time.perf_counter() - start)
            got = [h.id for h in page.results]
            ranks.append(got.index(anime_id) + 1 if anime_id in got else None)
        n = len(ranks)
        rows[variant] = {
            "queries": n,
            "recall@1": sum(r == 1 for r in ranks) / n,
            "recall@10": sum(r is not None for r in ranks) / n,
            "mrr@10": sum(1 / r for r in ranks if r) / n,
            "p50_ms": statistics.median(seconds) * 1000,
        }
    return rows


def report(rows: dict[str, dict[str, float]], rt: IndexRuntime, notes: list[str]) -> str:
    d = rt.embedder.describe()
    lines = [
        "# Picture search relevance",
        "",
        f"Image model {d['image_model']} ({d['image_pretrained']}), device {d['device']}; "
        f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}. "
        "Each cover queried through `SearchEngine.search_image` (decode, embed, Qdrant query), top "
        f"{DEPTH}; p50 = median time per query.",
        "",
        *[f"- {n}" for n in notes],
        "",
        "| variant | queries | Recall@1 | Recall@10 | MRR@10 | p50 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant, r in rows.items():
        lines.append(
            f"| {variant} | {r['queries']} | {r['recall@1']:.3f} | {r['recall@10']:.3f} | "
            f"{r['mrr@10']:.3f} | {r['p50_ms']:.1f} |"
        )
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> int:
    paths = covers_from_dir(args.covers) if args.covers else covers_from_mapping(args.mapping) if args.mapping else {}
    embedder = get_embedding_module()  # the environment's models; checked before any indexing
    notes = [] if args.plumbing_check else [check_weights(embedder)]
    with tempfile.TemporaryDirectory(prefix="image-relevance-") as tmp:
        if args.build:
            rt = await build_index(args.build, paths, Path(tmp), args.limit_entries, embedder)
        else:
            rt = await open_runtime(create=False, embedder=embedder)
        try:
            pictures = load_pictures(paths) if paths else await covers_from_index(rt, args.from_index)
            pictures, index_line = await check_index(rt, pictures)
            notes.append(index_line)
            if args.max_queries:
                pictures = dict(list(pictures.items())[: args.max_queries])
            rows = await score(rt, pictures)
            text = report(rows, rt, notes)
        finally:
            await rt.close()
    if args.plumbing_check:
        print("PLUMBING CHECK: image weights not checked, nothing written; these numbers mean nothing.\n")
        print(text)
        return 0
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--covers", type=Path, help="folder of pictures named by anime id")
    source.add_argument("--mapping", type=Path, help="CSV (file,anime_id) or JSON mapping picture files to ids")
    source.add_argument("--from-index", type=int, metavar="N", help="N covers of the index, from the image cache")
    parser.add_argument("--build", type=Path, metavar="ENTRIES", help="index ENTRIES with the covers first (temp)")
    parser.add_argument("--limit-entries", type=int, help="with --build: only the first N entries")
    parser.add_argument("--max-queries", type=int, help="query at most this many covers")
    parser.add_argument("--out", type=Path, default=RESULTS / "image-relevance.md")
    parser.add_argument("--plumbing-check", action="store_true", help="skip the weight check; write nothing")
    args = parser.parse_args(argv)
    if args.build and args.from_index:
        parser.error("--build needs --covers or --mapping (the covers to index)")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        return asyncio.run(run(args))
    except Refusal as exc:
        print(f"image_relevance: refused: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
