"""`anime-mcp catalogue download` against a release served from a local HTTP server (GitHub's release API
shape: assets with size and sha256 digest), plus the failures a user must see clearly."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from server.cli import main

ENTRIES = [
    {
        "sources": ["https://myanimelist.net/anime/52991", "https://anilist.co/anime/154587"],
        "title": "Sousou no Frieren",
        "type": "TV",
        "episodes": 28,
        "status": "FINISHED",
        "animeSeason": {"season": "FALL", "year": 2023},
        "picture": "https://cdn.example/f.jpg",
        "thumbnail": "https://cdn.example/ft.jpg",
        "synonyms": ["Frieren: Beyond Journey's End"],
        "studios": ["madhouse"],
        "producers": [],
        "relatedAnime": [],
        "tags": ["fantasy", "elf"],
    },
    {
        "sources": ["https://myanimelist.net/anime/40748", "https://kitsu.app/anime/42765"],
        "title": "Jujutsu Kaisen",
        "type": "TV",
        "episodes": 24,
        "status": "FINISHED",
        "animeSeason": {"season": "FALL", "year": 2020},
        "picture": "https://cdn.example/j.jpg",
        "thumbnail": "https://cdn.example/jt.jpg",
        "synonyms": [],
        "studios": ["mappa"],
        "producers": [],
        "relatedAnime": [],
        "tags": ["curses"],
    },
]
HEAD = {
    "$schema": "https://example.org/anime-offline-database.jsonl.schema.json",
    "license": {"name": "ODbL"},
    "repository": "https://github.com/manami-project/anime-offline-database",
    "lastUpdate": "2026-11-28",
}


def jsonl(entries) -> bytes:
    return ("\n".join(json.dumps(x) for x in [HEAD, *entries]) + "\n").encode()


class Release:
    """What the fake GitHub serves: the release JSON and its asset bytes (both changeable per test)."""

    def __init__(self) -> None:
        self.body = jsonl(ENTRIES)
        self.tag = "2026-48"
        self.digest: str | None = "sha256:" + hashlib.sha256(self.body).hexdigest()
        self.size: int | None = len(self.body)
        self.asset_body: bytes | None = None  # when set, served instead of body (a corrupted download)
        self.requests: list[str] = []


@pytest.fixture
def release(monkeypatch):
    state = Release()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def do_GET(self):
            state.requests.append(self.path)
            host = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path == "/repos/manami-project/anime-offline-database/releases/latest":
                asset = {
                    "name": "anime-offline-database.jsonl",
                    "browser_download_url": f"{host}/download/anime-offline-database.jsonl",
                }
                if state.size is not None:
                    asset["size"] = state.size
                if state.digest is not None:
                    asset["digest"] = state.digest
                other = {"name": "anime-offline-database.jsonl.zst", "browser_download_url": f"{host}/x.zst", "size": 1}
                body = json.dumps({"tag_name": state.tag, "assets": [other, asset]}).encode()
            elif self.path == "/download/anime-offline-database.jsonl":
                self.send_response(302)  # GitHub redirects asset downloads to its object store
                self.send_header("Location", f"{host}/objects/asset")
                self.end_headers()
                return
            elif self.path == "/objects/asset":
                body = state.asset_body if state.asset_body is not None else state.body
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/repos/manami-project/anime-offline-database/releases/latest"
    monkeypatch.setenv("ANIME_MCP_CATALOGUE_RELEASE_URL", url)
    monkeypatch.setenv("ANIME_MCP_CATALOGUE_RETRIES", "1")
    yield state
    server.shutdown()
    server.server_close()


def download(tmp_path: Path, capsys) -> tuple[int, str, str]:
    code = main(["catalogue", "download", "--to", str(tmp_path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_download_verifies_and_keeps_the_previous_release(release, tmp_path, capsys):
    code, out, err = download(tmp_path, capsys)
    assert code == 0, err
    path = Path(out.strip())
    assert path == tmp_path / "anime-offline-database.jsonl" and path.read_bytes() == release.body
    assert "2 entries" in err and "sha256 verified" in err and "2026-48" in err

    old = release.body
    release.body = jsonl([*ENTRIES, {**ENTRIES[0], "title": "Frieren 2", "sources": ["https://anilist.co/anime/9"]}])
    release.digest, release.size, release.tag = (
        "sha256:" + hashlib.sha256(release.body).hexdigest(),
        len(release.body),
        "2026-49",
    )
    code, out, err = download(tmp_path, capsys)
    assert code == 0, err
    assert path.read_bytes() == release.body and "3 entries" in err
    assert (tmp_path / "anime-offline-database.previous.jsonl").read_bytes() == old
    assert "previous file kept" in err

    code, out, err = download(tmp_path, capsys)  # same release again: nothing replaced
    assert code == 0 and "already this release" in err
    assert (tmp_path / "anime-offline-database.previous.jsonl").read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "anime-offline-database.jsonl",
        "anime-offline-database.previous.jsonl",
    ]


@pytest.mark.parametrize(
    "fault, message",
    [
        ("checksum", "checksum mismatch"),
        ("truncated", "download incomplete"),
        ("html", "not JSON"),
        ("not-anime", "is not an anime"),
    ],
)
def test_a_bad_download_never_replaces_the_catalogue(release, tmp_path, capsys, fault, message):
    good = tmp_path / "anime-offline-database.jsonl"
    good.write_bytes(b"the user's current catalogue")
    if fault == "checksum":
        release.asset_body = release.body.replace(b"Frieren", b"Fryeren")
    elif fault == "truncated":
        release.asset_body = release.body[: len(release.body) // 2]
    else:
        release.body = b"<html>rate limited</html>" if fault == "html" else jsonl([{"name": "no title here"}])
        release.digest, release.size = None, len(release.body)  # an older release without digests
    code, out, err = download(tmp_path, capsys)
    assert code == 1 and out == ""
    assert message in err and err.startswith("error: ") and "Traceback" not in err
    assert good.read_bytes() == b"the user's current catalogue"
    assert [p.name for p in tmp_path.iterdir()] == ["anime-offline-database.jsonl"]  # no .part left behind


def test_without_a_published_checksum_size_and_shape_still_verify(release, tmp_path, capsys):
    release.digest = None
    code, out, err = download(tmp_path, capsys)
    assert code == 0 and "no checksum published" in err and Path(out.strip()).read_bytes() == release.body


def test_offline_fails_clearly_and_quickly(tmp_path, capsys, monkeypatch):
    with socket.socket() as s:  # a loopback port with nothing listening: what offline looks like
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ANIME_MCP_CATALOGUE_RELEASE_URL", f"http://127.0.0.1:{port}/releases/latest")
    monkeypatch.setenv("ANIME_MCP_CATALOGUE_RETRIES", "2")
    code, out, err = download(tmp_path, capsys)
    assert code == 1 and out == ""
    assert (
        "cannot download the catalogue" in err
        and "after 2 attempts" in err
        and "ANIME_MCP_CATALOGUE_RELEASE_URL" in err
    )
    assert list(tmp_path.iterdir()) == []


def test_a_release_without_the_file_names_the_other_format(release, tmp_path, capsys):
    code = main(["catalogue", "download", "--to", str(tmp_path), "--format", "json"])
    err = capsys.readouterr().err
    assert code == 1 and "no anime-offline-database-minified.json" in err and "--format jsonl" in err


@pytest.mark.anyio
async def test_the_downloaded_release_indexes(release, tmp_path, capsys, embedding_module):
    from index.ingest import Ingestor
    from index.runtime import open_runtime
    from index.settings import ImageFetchSettings, StorageSettings
    from index.storage.factory import open_store

    code, out, err = download(tmp_path / "catalogue", capsys)
    assert code == 0, err
    runtime = await open_runtime(
        embedder=embedding_module,
        store=open_store(StorageSettings(data_dir=tmp_path / "ix")),
        fetch=ImageFetchSettings(image_cache_dir=tmp_path / "img"),
        warmup=False,
    )
    try:
        summary = await Ingestor(runtime.store, embedding_module, runtime.fetcher, fetch_images=False).ingest_paths(
            [Path(out.strip())]
        )
        assert (summary.indexed, len(summary.failed)) == (2, 0)
        hit = await runtime.engine.get_entry("Sousou no Frieren")
        assert hit is not None and hit.id == "mal-52991" and hit.year == 2023
    finally:
        await runtime.close()
