"""Image fetching: every accepted source works, and untrusted sources cannot reach private
addresses, read files outside the allowed folders, or blow up memory. Pictures are served by a
loopback HTTP server started here (loopback is allowed only by an explicit test setting)."""

from __future__ import annotations

import base64
import io
import os
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from index.embedding import ImageFetcher, ImageInputError, image_fetch
from index.embedding.net_guard import address_allowed
from index.settings import ImageFetchSettings

pytestmark = pytest.mark.anyio


def png_bytes(size=(40, 30), color="red", noise: bool = False) -> bytes:
    image = Image.effect_noise(size, 80).convert("RGB") if noise else Image.new("RGB", size, color)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


POSTER = png_bytes()
BIG = png_bytes((300, 300), noise=True)  # ~270 KB of incompressible noise
assert len(BIG) > 100_000
MAX_BYTES = 50_000


class Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    hits: Counter = Counter()

    def do_GET(self):  # noqa: N802 (http.server API)
        type(self).hits[self.path] += 1
        status, headers, body = self.routes.get(self.path, (404, {"Content-Type": "text/plain"}, b"not found"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers and not headers.get("X-No-Length"):
            self.send_header("Content-Length", str(len(body)))
        if headers.get("X-No-Length"):
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def server():
    Handler.routes = {
        "/poster.png": (200, {"Content-Type": "image/png"}, POSTER),
        "/cached.png": (200, {"Content-Type": "image/png"}, png_bytes(color="blue")),
        "/big.png": (200, {"Content-Type": "image/png"}, BIG),
        "/big-unannounced.png": (200, {"Content-Type": "image/png", "X-No-Length": "1"}, BIG),
        "/page.html": (200, {"Content-Type": "text/html"}, b"<html>not a picture</html>"),
        "/fake.png": (200, {"Content-Type": "image/png"}, b"GIF89a but not really an image at all"),
        "/redirect": (302, {"Location": "/poster.png"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
    }
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def allowed_dir(tmp_path) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    (folder / "poster.png").write_bytes(POSTER)
    return folder


def make_fetcher(tmp_path, allowed_dir=None, **overrides) -> ImageFetcher:
    values = dict(
        image_cache_dir=tmp_path / "cache",
        image_allow_private_hosts=True,
        image_max_bytes=MAX_BYTES,
        image_fetch_timeout=5.0,
        image_allowed_dirs=[allowed_dir] if allowed_dir else [],
    )
    values.update(overrides)
    return ImageFetcher(ImageFetchSettings(_env_file=None, **values))


# -- sources -------------------------------------------------------------------------------------


async def test_bytes_base64_and_data_url(tmp_path):
    fetcher = make_fetcher(tmp_path)
    encoded = base64.b64encode(POSTER).decode()
    jpeg = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(jpeg, format="JPEG")
    jpeg_b64 = base64.b64encode(jpeg.getvalue()).decode()
    assert jpeg_b64.startswith("/")  # looks like a path, must still be read as base64
    for source in (POSTER, encoded, f"data:image/png;base64,{encoded}", jpeg_b64, bytearray(POSTER)):
        image = await fetcher.fetch(source)
        assert image.size == (40, 30) and image.mode == "RGB"
    with pytest.raises(ImageInputError, match="not a readable image"):
        await fetcher.fetch("data:image/png;base64," + base64.b64encode(b"hello").decode())
    with pytest.raises(ImageInputError, match="ANIME_MCP_IMAGE_ALLOWED_DIRS"):
        await fetcher.fetch("QUFB" * 30)  # base64 of no picture: taken as a path, and paths are off


async def test_url_is_fetched_then_served_from_disk_cache(server, tmp_path):
    url = f"{server}/cached.png"
    first = await make_fetcher(tmp_path).fetch(url)
    assert Handler.hits["/cached.png"] == 1
    again = make_fetcher(tmp_path)  # a new process would see the same cache folder
    second = await again.fetch(url)
    assert Handler.hits["/cached.png"] == 1 and again.requests_made == 0
    assert first.tobytes() == second.tobytes()


async def test_redirect_is_followed_and_loops_stop(server, tmp_path):
    fetcher = make_fetcher(tmp_path)
    assert (await fetcher.fetch(f"{server}/redirect")).size == (40, 30)
    before = Handler.hits["/loop"]
    with pytest.raises(ImageInputError, match="more than 3 redirects"):
        await fetcher.fetch(f"{server}/loop")
    assert Handler.hits["/loop"] - before == 4  # first request + 3 redirects, then stop


# -- untrusted content ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/big.png", "/big-unannounced.png"])
async def test_size_cap(server, tmp_path, path):
    with pytest.raises(ImageInputError, match="ANIME_MCP_IMAGE_MAX_BYTES"):
        await make_fetcher(tmp_path).fetch(f"{server}{path}")


async def test_non_image_content_rejected(server, tmp_path):
    fetcher = make_fetcher(tmp_path)
    with pytest.raises(ImageInputError, match="not an image"):
        await fetcher.fetch(f"{server}/page.html")
    with pytest.raises(ImageInputError, match="not a readable image"):
        await fetcher.fetch(f"{server}/fake.png")
    with pytest.raises(ImageInputError, match="not a readable image"):
        await fetcher.fetch(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")  # EPS never reaches Ghostscript


async def test_decompression_bomb_refused(tmp_path):
    bomb = png_bytes((3000, 3000), color="white")  # small file, 9 M pixels
    assert len(bomb) < MAX_BYTES
    with pytest.raises(ImageInputError, match="ANIME_MCP_IMAGE_MAX_PIXELS"):
        await make_fetcher(tmp_path, image_max_pixels=1_000_000).fetch(bomb)


async def test_fetch_many_skips_failures_in_order(server, tmp_path):
    sources = [f"{server}/poster.png", f"{server}/missing.png", f"{server}/page.html", f"{server}/poster.png", POSTER]
    before = Handler.hits["/poster.png"]
    images = await make_fetcher(tmp_path).fetch_many(sources)
    assert [im is not None for im in images] == [True, False, False, True, True]
    assert Handler.hits["/missing.png"] >= 1
    assert Handler.hits["/poster.png"] - before == 1  # the same URL twice is fetched once


async def test_fetch_many_uses_only_cache_when_downloads_are_off(server, tmp_path):
    images = await make_fetcher(tmp_path, image_fetch_enabled=False).fetch_many([f"{server}/poster.png"])
    assert images == [None]


# -- SSRF -----------------------------------------------------------------------------------------


async def test_private_addresses_refused_unless_allowed(server, tmp_path):
    fetcher = make_fetcher(tmp_path, image_allow_private_hosts=False)
    before = sum(Handler.hits.values())
    for url in (
        f"{server}/poster.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/a.png",
        "http://[::1]/a.png",
        f"http://localhost:{server.rsplit(':', 1)[1]}/poster.png",
    ):
        with pytest.raises(ImageInputError, match="non-public address"):
            await fetcher.fetch(url)
    assert sum(Handler.hits.values()) == before  # nothing reached the server


async def test_connection_is_checked_even_if_the_first_check_is_fooled(server, tmp_path, monkeypatch):
    """DNS rebinding: the name looked public when checked; the connect-time guard still refuses."""

    async def fooled(host, port, allow_private):
        return ["93.184.216.34"]

    monkeypatch.setattr(image_fetch, "resolve_checked", fooled)
    before = sum(Handler.hits.values())
    with pytest.raises(ImageInputError, match="non-public address"):
        await make_fetcher(tmp_path, image_allow_private_hosts=False).fetch(f"{server}/poster.png")
    assert sum(Handler.hits.values()) == before


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://x/"])
async def test_other_schemes_refused(tmp_path, url):
    with pytest.raises(ImageInputError, match="only http and https"):
        await make_fetcher(tmp_path).fetch(url)


def test_address_policy():
    for bad in (
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ):
        assert not address_allowed(bad), bad
    for good in ("93.184.216.34", "2606:4700::1111", "8.8.8.8"):
        assert address_allowed(good), good


# -- local files ----------------------------------------------------------------------------------


async def test_local_path_inside_allowed_dir(tmp_path, allowed_dir):
    fetcher = make_fetcher(tmp_path, allowed_dir)
    assert (await fetcher.fetch(str(allowed_dir / "poster.png"))).size == (40, 30)
    assert (await fetcher.fetch(allowed_dir / "poster.png")).size == (40, 30)


async def test_paths_outside_allowed_dirs_refused(tmp_path, allowed_dir):
    secret = tmp_path / "secret.png"
    secret.write_bytes(POSTER)
    os.symlink(secret, allowed_dir / "link.png")
    fetcher = make_fetcher(tmp_path, allowed_dir)
    for path in (str(secret), str(allowed_dir / ".." / "secret.png"), str(allowed_dir / "link.png")):
        with pytest.raises(ImageInputError, match="outside ANIME_MCP_IMAGE_ALLOWED_DIRS"):
            await fetcher.fetch(path)
    with pytest.raises(ImageInputError, match="ANIME_MCP_IMAGE_ALLOWED_DIRS"):
        await make_fetcher(tmp_path).fetch(str(allowed_dir / "poster.png"))  # no folder allowed at all
