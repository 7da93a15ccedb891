"""A small index whose entries have pictures: real MyAnimeList entries with covers drawn by Pillow.

The shared data's cover URLs point at sites these machines cannot reach, so each picked entry gets a
drawn cover instead: a different shape, palette and pattern per entry, saved as a PNG. Most entries
point at the file path (read through ANIME_MCP_IMAGE_ALLOWED_DIRS), some at an http URL on a
127.0.0.1 server (fetched through the download path, ANIME_MCP_IMAGE_ALLOW_PRIVATE_HOSTS), one has a
second, resized copy of its cover as a poster (near-duplicates are merged), and a few have no picture
at all. The index is built once per module by the real ingestion path with image fetching on.
"""

from __future__ import annotations

import base64
import colorsys
import functools
import io
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

COVER_SIZE = (160, 240)  # portrait, like real covers
PICTURED = 36  # entries with a cover
PLAIN = 4  # entries without any picture
SERVED_EVERY = 4  # every 4th pictured entry's cover comes over http instead of a path
TYPE_QUOTA = {"TV": 12, "MOVIE": 8, "OVA": 7, "SPECIAL": 5, "ONA": 2, "MUSIC": 2}  # sums to PICTURED
_SHAPES = ("disc", "bars", "checker", "rings", "triangle", "diagonals", "dots", "blocks")


# ----------------------------------------------------------------------------- pictures
def _rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_cover(i: int, size: tuple[int, int] = COVER_SIZE) -> Image.Image:
    """Cover number i: a shape from a cycle of 8, a background hue stepped by the golden angle (so
    neighbours differ most), a contrasting foreground and an accent band at a varying height.
    Colour layout is what a random-weight CLIP mostly sees, hence the spread of hues."""
    rng = random.Random(7919 * (i + 1))
    w, h = size
    shape = _SHAPES[i % len(_SHAPES)]
    hue = (i * 0.381966) % 1.0
    bg = _rgb(hue, rng.uniform(0.4, 1.0), rng.uniform(0.3, 1.0))
    fg = _rgb(hue + rng.uniform(0.3, 0.7), rng.uniform(0.6, 1.0), rng.uniform(0.5, 1.0))
    accent = _rgb(hue + rng.uniform(0.1, 0.9), 1.0, rng.choice((0.15, 1.0)))
    image = Image.new("RGB", size, bg)
    pen = ImageDraw.Draw(image)
    step = rng.choice((10, 16, 24))
    if shape == "disc":
        r = rng.randint(35, 70)
        cx, cy = rng.randint(r, w - r), rng.randint(r, h - r)
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fg)
    elif shape == "bars":
        for x in range(0, w, step * 2):
            pen.rectangle((x, 0, x + step, h), fill=fg)
    elif shape == "checker":
        for y in range(0, h, step):
            for x in range(0, w, step):
                if (x // step + y // step) % 2:
                    pen.rectangle((x, y, x + step - 1, y + step - 1), fill=fg)
    elif shape == "rings":
        for k, r in enumerate(range(h, 0, -step)):
            pen.ellipse((w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r), fill=fg if k % 2 else bg)
    elif shape == "triangle":
        pen.polygon([(rng.randint(0, w), 0), (0, h), (w, rng.randint(h // 2, h))], fill=fg)
    elif shape == "diagonals":
        for k in range(-h, w + h, step * 2):
            pen.line((k, 0, k + h, h), fill=fg, width=step // 2)
    elif shape == "dots":
        for y in range(step, h, step * 2):
            for x in range(step, w, step * 2):
                pen.ellipse((x - step // 2, y - step // 2, x + step // 2, y + step // 2), fill=fg)
    else:
        for _ in range(4):
            x, y = rng.randint(0, w - 40), rng.randint(0, h - 40)
            pen.rectangle((x, y, x + rng.randint(30, 90), y + rng.randint(30, 90)), fill=fg)
    y = rng.randint(0, h - 40)
    pen.rectangle((0, y, w, y + rng.randint(12, 40)), fill=accent)
    return image


def encode(image: Image.Image, fmt: str = "PNG", *, scale: float = 1.0, quality: int = 95) -> bytes:
    """The picture as file bytes, optionally resized first (what a user's screenshot or re-upload is)."""
    if scale != 1.0:
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BICUBIC
        )
    buf = io.BytesIO()
    image.save(buf, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def resized_jpeg(image: Image.Image) -> bytes:
    """The query variant the tests promise to survive: 70% size, JPEG quality 75."""
    return encode(image, "JPEG", scale=0.7, quality=75)


def check_distinct(covers: Sequence[Image.Image], min_pixel_diff: float = 20.0) -> None:
    """Fail early, with a clear message, if two drawn covers are too alike to tell apart by eye."""
    arrays = [np.asarray(c, dtype=np.int16) for c in covers]
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            diff = float(np.abs(arrays[i] - arrays[j]).mean())
            assert diff >= min_pixel_diff, f"covers {i} and {j} differ by only {diff:.1f}/255 per pixel"


# ----------------------------------------------------------------------------- entries
def pick_entries(entries: Sequence, quota: dict[str, int] = TYPE_QUOTA, plain: int = PLAIN) -> tuple[list, list]:
    """(pictured, plain) real entries: per type, evenly spread over the years; no adult entries (the
    default filter hides them). Deterministic."""
    usable = [e for e in entries if e.year and not e.nsfw and e.id and e.id.startswith("mal-")]
    pictured = []
    for kind, count in quota.items():
        of_kind = sorted((e for e in usable if e.type.value == kind), key=lambda e: (e.year, e.id))
        assert len(of_kind) >= count, f"only {len(of_kind)} usable {kind} entries"
        stride = len(of_kind) / count
        pictured += [of_kind[int(k * stride)] for k in range(count)]
    chosen = {e.id for e in pictured}
    tv = [e for e in usable if e.type.value == "TV" and e.id not in chosen]
    plain_entries = tv[:: max(1, len(tv) // plain)][:plain]
    return pictured, plain_entries


@dataclass
class PictureIndex:
    runtime: object  # index.runtime.IndexRuntime
    covers_dir: Path
    covers: dict[str, Image.Image]  # entry id -> its drawn cover (pictured entries only)
    entries: dict[str, object]  # entry id -> AnimeEntry as indexed (all)
    plain_ids: list[str]  # entries indexed without any picture
    served_ids: list[str]  # entries whose cover was downloaded over http while indexing
    summary: object  # the IngestSummary of the build

    def cover_path(self, anime_id: str) -> Path:
        return self.covers_dir / f"{anime_id}.png"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture(scope="module")
async def picture_index(tmp_path_factory, remembering_embedder, index_entries):
    """The pictured index, built by Ingestor with image fetching on (module-scoped: embedding is slow)."""
    from index.ingest import Ingestor
    from index.runtime import open_runtime
    from index.settings import ImageFetchSettings, StorageSettings

    root = tmp_path_factory.mktemp("picture-index")
    covers_dir = root / "covers"
    covers_dir.mkdir()
    pictured, plain = pick_entries(index_entries)
    covers = {}
    for i, entry in enumerate(pictured):
        covers[entry.id] = draw_cover(i)
        (covers_dir / f"{entry.id}.png").write_bytes(encode(covers[entry.id]))
    check_distinct(list(covers.values()))

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(covers_dir)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{httpd.server_address[1]}"

    indexed, served = [], []
    for i, entry in enumerate(pictured):
        e = entry.model_copy(deep=True)
        if i % SERVED_EVERY == SERVED_EVERY - 1:
            e.images.covers = [f"{base_url}/{e.id}.png"]
            served.append(e.id)
        else:
            e.images.covers = [str(covers_dir / f"{e.id}.png")]
        e.images.posters, e.images.banners = [], []
        indexed.append(e)
    # one entry also has a poster: the same cover resized and re-encoded, merged as a near-duplicate
    poster = covers_dir / "poster-of-first.jpg"
    poster.write_bytes(resized_jpeg(covers[indexed[0].id]))
    indexed[0].images.posters = [str(poster)]
    for entry in plain:
        e = entry.model_copy(deep=True)
        e.images.covers, e.images.posters, e.images.banners = [], [], []
        indexed.append(e)

    fetch = ImageFetchSettings(
        _env_file=None,
        image_cache_dir=root / "image-cache",
        image_allowed_dirs=[covers_dir],
        image_allow_private_hosts=True,
        image_fetch_timeout=10.0,
    )
    storage = StorageSettings(_env_file=None, data_dir=root / "index")
    runtime = await open_runtime(embedder=remembering_embedder, storage=storage, fetch=fetch, warmup=False)
    try:
        summary = await Ingestor(
            runtime.store, remembering_embedder, runtime.fetcher, batch_size=64, fetch_images=True
        ).ingest_entries(indexed)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert not summary.failed, summary.failed[:3]
    yield PictureIndex(
        runtime=runtime,
        covers_dir=covers_dir,
        covers=covers,
        entries={e.id: e for e in indexed},
        plain_ids=[e.id for e in plain],
        served_ids=served,
        summary=summary,
    )
    await runtime.close()


@pytest.fixture
async def picture_client(picture_index):
    """An in-process MCP client of the real server assembly, over the pictured index."""
    from mcp import Client

    from server.app import build_server
    from server.state import AppState

    async def loader():
        return picture_index.runtime

    async with Client(build_server(AppState(loader=loader))) as client:
        yield client
