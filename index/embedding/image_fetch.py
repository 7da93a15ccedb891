"""Pictures for image embeddings: from bytes, base64, data: URLs, http(s) URLs or allowed local files.

Every source is untrusted (URLs in data files, pictures sent by users), hence: http(s) only with the
SSRF guard and manually checked redirects, a byte cap enforced while streaming, a pixel cap against
decompression bombs, an aspect-ratio cap against pictures whose preprocessing would blow up (below), and
only real raster formats (Pillow never runs e.g. its Ghostscript EPS path).
Downloads are cached on disk by URL hash so re-indexing does not fetch again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
from PIL import Image, ImageOps

from index.embedding.errors import ImageInputError
from index.embedding.net_guard import guarded_transport, resolve_checked
from index.settings import ImageFetchSettings

logger = logging.getLogger(__name__)

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
_REDIRECTS = (301, 302, 303, 307, 308)
_ACCEPTED_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")
_BASE64 = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")
_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"BM", b"II*\x00", b"MM\x00*")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_USER_AGENT = "anime-mcp/0.1 (image indexing)"
_SOURCES = "raw bytes, base64, a data: URL, an http(s) URL, or a path inside ANIME_MCP_IMAGE_ALLOWED_DIRS"
#: Longest side over shortest side kept. CLIP preprocessing scales the short side to the model's size (224)
#: and keeps the centre square: a 65000x1 picture (142 bytes, far under the pixel cap) became a
#: 14,560,000x224 image first (74 s, 15 GB). Cropping the centre to 4:1 before keeps what that square sees
#: and bounds the work at 4 squares, whatever the file's proportions.
MAX_ASPECT = 4
_ADDRESS = re.compile(r"<[^<>]*? at 0x[0-9a-fA-F]+>")  # "<_io.BytesIO object at 0x7f..>": no heap addresses

ImageSource = str | bytes | bytearray | memoryview | Path


def decode_image(data: bytes, origin: str, max_bytes: int, max_pixels: int) -> Image.Image:
    """Bytes -> fully loaded RGB/RGBA image, or ImageInputError saying what is wrong."""
    if not data:
        raise ImageInputError(f"{origin}: empty image data")
    if len(data) > max_bytes:
        raise ImageInputError(f"{origin}: {len(data)} bytes is over the limit ANIME_MCP_IMAGE_MAX_BYTES={max_bytes}")
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow refuses outright at twice this; we refuse at once
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as probe:
            probe.verify()  # structure check without decoding every pixel
        image: Image.Image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
        if image.width * image.height > max_pixels:
            raise ImageInputError(
                f"{origin}: {image.width}x{image.height} pixels is over ANIME_MCP_IMAGE_MAX_PIXELS={max_pixels}"
            )
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # phone photos: stored sideways, shown upright
    except ImageInputError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageInputError(f"{origin}: too many pixels ({exc}); limit ANIME_MCP_IMAGE_MAX_PIXELS") from exc
    except Exception as exc:  # Pillow raises many kinds for broken or foreign data
        reason = _ADDRESS.sub("the data", f"{type(exc).__name__}: {exc}")
        raise ImageInputError(
            f"{origin}: not a readable image ({reason}); accepted formats: {', '.join(IMAGE_FORMATS)}"
        ) from exc
    image = _within_aspect(image)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    return image


def _within_aspect(image: Image.Image) -> Image.Image:
    """The centre of ``image`` cropped to at most MAX_ASPECT:1 (unchanged when it already is)."""
    width, height = image.size
    short = max(1, min(width, height))
    if max(width, height) <= MAX_ASPECT * short:
        return image
    keep = MAX_ASPECT * short
    if width > height:
        left = (width - keep) // 2
        return image.crop((left, 0, left + keep, height))
    top = (height - keep) // 2
    return image.crop((0, top, width, top + keep))


class ImageFetcher:
    """Turns any accepted picture source into a PIL image; safe to share between tasks."""

    def __init__(self, settings: ImageFetchSettings | None = None) -> None:
        self.settings = settings or ImageFetchSettings()
        self.requests_made = 0  # HTTP requests sent (cache hits send none)
        self._allowed_dirs = [Path(d).expanduser().resolve() for d in self.settings.image_allowed_dirs]

    # -- public -----------------------------------------------------------------------------------

    async def fetch(self, source: ImageSource) -> Image.Image:
        """One picture from any accepted source; ImageInputError when it cannot be had."""
        async with self._client() as client:
            return await self._fetch(source, client, allow_download=True)

    async def fetch_many(self, urls: Sequence[ImageSource]) -> list[Image.Image | None]:
        """Pictures for indexing, in order; a failure is logged and gives None, never an exception.
        Downloads run `image_fetch_concurrency` at a time; with `image_fetch_enabled` off only cached
        pictures and local files are used."""
        results: list[Image.Image | None] = [None] * len(urls)
        positions: dict[object, list[int]] = {}  # the same URL twice is fetched once
        for i, src in enumerate(urls):
            key = src if isinstance(src, (str, Path)) else ("bytes", i)
            positions.setdefault(key, []).append(i)
        limiter = anyio.CapacityLimiter(max(1, self.settings.image_fetch_concurrency))

        async def one(indexes: list[int], client: httpx.AsyncClient) -> None:
            source = urls[indexes[0]]
            async with limiter:
                try:
                    image = await self._fetch(source, client, allow_download=self.settings.image_fetch_enabled)
                except ImageInputError as exc:
                    logger.warning("image skipped: %s", exc)
                    return
                except Exception as exc:  # indexing must go on whatever one picture does
                    logger.warning("image skipped: %s: %s: %s", _short(str(source)), type(exc).__name__, exc)
                    return
            for i in indexes:
                results[i] = image

        async with self._client() as client, anyio.create_task_group() as tg:
            for indexes in positions.values():
                tg.start_soon(one, indexes, client)
        return results

    # -- sources ----------------------------------------------------------------------------------

    async def _fetch(self, source: ImageSource, client: httpx.AsyncClient, *, allow_download: bool) -> Image.Image:
        if isinstance(source, (bytes, bytearray, memoryview)):
            return await self._decode(bytes(source), "image bytes")
        if isinstance(source, Path):
            return await self._read_local(source)
        if not isinstance(source, str):
            raise ImageInputError(f"unsupported image source type {type(source).__name__}: give {_SOURCES}")
        text = source.strip()
        if not text:
            raise ImageInputError(f"empty image source: give {_SOURCES}")
        if "\x00" in text:
            raise ImageInputError(f"the image source holds a NUL character: give {_SOURCES}")
        lowered = text[:16].lower()
        if lowered.startswith("data:"):
            return await self._decode(_data_url_bytes(text), "data: URL")
        if lowered.startswith(("http://", "https://")):
            return await self._fetch_url(text, client, allow_download=allow_download)
        if _SCHEME.match(text):
            raise ImageInputError(f"unsupported URL scheme in {_short(text)}: only http and https are fetched")
        if len(text) >= 64 and _BASE64.match(text):
            data = _b64decode(text)
            if data is not None and data.startswith(_MAGIC):  # a JPEG in base64 starts with "/9j/", like a path
                return await self._decode(data, "base64 image")
        return await self._read_local(Path(text))

    async def _read_local(self, path: Path) -> Image.Image:
        if not self._allowed_dirs:
            raise ImageInputError(
                f"local image path {_short(str(path))} refused: no folder is allowed; add it to "
                f"ANIME_MCP_IMAGE_ALLOWED_DIRS (or give {_SOURCES})"
            )
        # Whether the path is allowed is decided before whether it exists, from the path alone (symlinks
        # that exist are followed, '..' removed): a refusal must not tell a caller what exists outside.
        shown = _short(str(path))
        outside = ImageInputError(f"local image {shown} is outside ANIME_MCP_IMAGE_ALLOWED_DIRS: refused")
        try:
            resolved = path.expanduser().resolve(strict=False)
        except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, an unknown ~user
            raise outside from exc
        if not any(resolved.is_relative_to(d) for d in self._allowed_dirs):
            raise outside
        try:
            if not resolved.is_file():
                raise ImageInputError(f"local image {shown} not found (or not a file) in ANIME_MCP_IMAGE_ALLOWED_DIRS")
            max_bytes = self.settings.image_max_bytes
            if resolved.stat().st_size > max_bytes:
                raise ImageInputError(f"local image {shown} is over ANIME_MCP_IMAGE_MAX_BYTES={max_bytes}")
            data = await anyio.Path(resolved).read_bytes()
        except OSError as exc:
            raise ImageInputError(f"local image {shown} cannot be read ({exc.strerror or exc})") from exc
        return await self._decode(data, shown)

    async def _fetch_url(self, url: str, client: httpx.AsyncClient, *, allow_download: bool) -> Image.Image:
        cache_file = self._cache_path(url)
        if cache_file.is_file():
            data = await anyio.Path(cache_file).read_bytes()
            try:
                return await self._decode(data, _short(url))
            except ImageInputError:
                logger.warning("dropping unreadable cached image of %s", _short(url))
                cache_file.unlink(missing_ok=True)
        if not allow_download:
            raise ImageInputError(f"{_short(url)} is not cached and downloads are off (ANIME_MCP_IMAGE_FETCH_ENABLED)")
        try:
            with anyio.fail_after(self.settings.image_fetch_timeout):
                data = await self._download(url, client)
        except TimeoutError as exc:
            raise ImageInputError(
                f"{_short(url)}: no complete answer within "
                f"ANIME_MCP_IMAGE_FETCH_TIMEOUT={self.settings.image_fetch_timeout}s"
            ) from exc
        except httpx.HTTPError as exc:
            raise ImageInputError(f"{_short(url)}: download failed ({type(exc).__name__}: {exc})") from exc
        image = await self._decode(data, _short(url))
        await anyio.to_thread.run_sync(_write_atomic, cache_file, data)
        return image

    async def _download(self, url: str, client: httpx.AsyncClient) -> bytes:
        max_bytes = self.settings.image_max_bytes
        for _hop in range(self.settings.image_max_redirects + 1):
            target = httpx.URL(url)
            if target.scheme not in ("http", "https") or not target.host:
                raise ImageInputError(f"{_short(url)}: only http(s) URLs with a host are fetched")
            # Early, clear refusal; the guarded transport checks again at connect time.
            port = target.port or (443 if target.scheme == "https" else 80)
            await resolve_checked(target.host, port, self.settings.image_allow_private_hosts)
            self.requests_made += 1
            async with client.stream("GET", target) as response:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise ImageInputError(f"{_short(url)}: redirect without a Location header")
                    url = str(target.join(location))
                    continue
                if response.status_code != 200:
                    raise ImageInputError(f"{_short(url)}: HTTP {response.status_code}")
                ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype and not ctype.startswith(_ACCEPTED_TYPES):
                    raise ImageInputError(f"{_short(url)}: content type {ctype!r} is not an image")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise ImageInputError(
                        f"{_short(url)}: {declared} bytes is over ANIME_MCP_IMAGE_MAX_BYTES={max_bytes}"
                    )
                body = bytearray()
                async for part in response.aiter_bytes():
                    body += part
                    if len(body) > max_bytes:
                        raise ImageInputError(f"{_short(url)}: larger than ANIME_MCP_IMAGE_MAX_BYTES={max_bytes}")
                return bytes(body)
        raise ImageInputError(f"{_short(url)}: more than {self.settings.image_max_redirects} redirects")

    # -- helpers ----------------------------------------------------------------------------------

    async def _decode(self, data: bytes, origin: str) -> Image.Image:
        s = self.settings
        return await anyio.to_thread.run_sync(decode_image, data, origin, s.image_max_bytes, s.image_max_pixels)

    def _cache_path(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return Path(self.settings.image_cache_dir).expanduser() / digest[:2] / digest

    def _client(self) -> httpx.AsyncClient:
        timeout = httpx.Timeout(self.settings.image_fetch_timeout)
        return httpx.AsyncClient(
            transport=guarded_transport(self.settings.image_allow_private_hosts),
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": _USER_AGENT, "Accept": "image/*"},
            trust_env=False,
        )


def _data_url_bytes(url: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep:
        raise ImageInputError("data: URL without a comma: expected data:image/png;base64,<data>")
    if not header.lower().endswith(";base64"):
        raise ImageInputError("data: URL is not base64-encoded: expected data:image/...;base64,<data>")
    data = _b64decode(payload)
    if data is None:
        raise ImageInputError("data: URL payload is not valid base64")
    return data


def _b64decode(text: str) -> bytes | None:
    compact = "".join(text.split())
    compact += "=" * (-len(compact) % 4)
    try:
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(compact)
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temp file + rename, so a crash never leaves half an image in the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache must not stop indexing
        logger.warning("could not cache image at %s: %s", path, exc)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
