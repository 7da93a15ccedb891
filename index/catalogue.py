"""Download the whole catalogue: the latest anime-offline-database release, verified, previous copy kept.

Why here and only on request: the index never touches the network by itself; ``anime-mcp catalogue
download`` is the one explicit command that does. manami-project publishes a release every week
(GitHub release ``latest``) with ``anime-offline-database.jsonl`` and
``anime-offline-database-minified.json`` (plus .zst copies, which we skip: no extra dependency).
GitHub's release API lists each asset's size and, on releases since mid-2025, its sha256
(``digest: "sha256:..."``); both are checked when given. Then the file's JSON shape is checked
(metadata, then objects with ``title`` and a ``sources`` list), so a truncated or HTML error page
never replaces a good catalogue. The previous file is renamed to ``*.previous.*``, not deleted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.importers import ImportFileError, iter_raw

log = logging.getLogger(__name__)

LATEST_RELEASE_API = "https://api.github.com/repos/manami-project/anime-offline-database/releases/latest"
ASSETS: dict[str, str] = {"jsonl": "anime-offline-database.jsonl", "json": "anime-offline-database-minified.json"}
CHUNK = 1 << 20


class CatalogueSettings(BaseSettings):
    """Where the catalogue release is fetched from and kept."""

    model_config = SettingsConfigDict(env_prefix="ANIME_MCP_", env_file=".env", extra="ignore")

    catalogue_release_url: str = Field(
        LATEST_RELEASE_API,
        description="GitHub release API URL of the anime-offline-database release to download "
        "(`anime-mcp catalogue download`; the only command that uses the network for the catalogue).",
    )
    catalogue_dir: Path = Field(
        Path(user_data_dir("anime-mcp")) / "catalogue",
        description="Folder the downloaded catalogue (and the previous one) is kept in.",
    )
    catalogue_timeout: float = Field(60.0, description="Seconds without progress before a catalogue request fails.")
    catalogue_retries: int = Field(3, description="Attempts per catalogue request (network errors, 429, 5xx).")
    catalogue_max_bytes: int = Field(1 << 30, description="Largest catalogue file accepted (bytes).")


class CatalogueError(RuntimeError):
    """The download or its verification failed; the message says what to change."""


@dataclass(frozen=True)
class Downloaded:
    path: Path
    entries: int
    size: int
    sha256: str
    release: str  # tag or name of the release
    checksum_verified: bool  # False when the release published no digest
    previous: Path | None  # where the file it replaced now is
    unchanged: bool = False  # the same bytes as the file already there: nothing replaced


def previous_path(path: Path) -> Path:
    """``anime-offline-database.jsonl`` -> ``anime-offline-database.previous.jsonl``."""
    stem, dot, suffix = path.name.partition(".")
    return path.with_name(f"{stem}.previous{dot}{suffix}")


def _request(client: httpx.Client, method: str, url: str, retries: int, **kw) -> httpx.Response:
    """One request with retries on network errors, 429 and 5xx (backoff 1, 2, 4... s); streamed when asked."""
    stream = kw.pop("stream", False)
    last = ""
    for attempt in range(max(1, retries)):
        if attempt:
            time.sleep(min(2 ** (attempt - 1), 30))
        try:
            request = client.build_request(method, url, **kw)
            response = client.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            last = f"timed out ({type(exc).__name__})"
            continue
        except httpx.TransportError as exc:
            last = f"cannot connect ({exc or type(exc).__name__})"
            continue
        if response.status_code == 429 or response.status_code >= 500:
            last = f"HTTP {response.status_code}"
            response.close()
            continue
        if response.status_code >= 400:
            response.close()
            raise CatalogueError(f"{url} answered HTTP {response.status_code}; check ANIME_MCP_CATALOGUE_RELEASE_URL")
        return response
    raise CatalogueError(
        f"cannot download the catalogue from {httpx.URL(url).host or url}: {last} after "
        f"{max(1, retries)} attempts. Check the network (this is the only command that needs it) "
        "or ANIME_MCP_CATALOGUE_RELEASE_URL"
    )


def _asset(release: dict, fmt: str) -> dict:
    assets = release.get("assets") if isinstance(release, dict) else None
    if not isinstance(assets, list):
        raise CatalogueError(
            "the release URL did not return a GitHub release (no 'assets'); check ANIME_MCP_CATALOGUE_RELEASE_URL"
        )
    wanted = ASSETS[fmt]
    for asset in assets:
        if isinstance(asset, dict) and asset.get("name") == wanted and asset.get("browser_download_url"):
            return asset
    names = ", ".join(str(a.get("name")) for a in assets if isinstance(a, dict)) or "none"
    raise CatalogueError(
        f"the release has no {wanted} (assets: {names}); try --format {'json' if fmt == 'jsonl' else 'jsonl'}"
    )


def verify_shape(path: Path) -> int:
    """Number of entries; raises CatalogueError unless every entry is an object with a title and sources."""
    count = 0
    try:
        for item in iter_raw(path):
            data = item.data
            where = f"entry #{item.index}" + (f" (line {item.line})" if item.line else "")
            if item.error:
                raise CatalogueError(f"{path.name}: {where}: {item.error}")
            if not (
                isinstance(data, dict)
                and isinstance(data.get("title"), str)
                and isinstance(data.get("sources"), list)
                and data["sources"]
            ):
                raise CatalogueError(f"{path.name}: {where} is not an anime (needs a title and a sources list)")
            count += 1
    except ImportFileError as exc:
        raise CatalogueError(str(exc)) from exc
    if count == 0:
        raise CatalogueError(f"{path.name} holds no entries")
    return count


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download_catalogue(
    settings: CatalogueSettings | None = None, *, to: Path | None = None, fmt: Literal["jsonl", "json"] = "jsonl"
) -> Downloaded:
    """Fetch the release's file into ``to`` (default: the catalogue_dir setting), verified; keep the old one."""
    settings = settings or CatalogueSettings()
    folder = Path(to or settings.catalogue_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    timeout = httpx.Timeout(settings.catalogue_timeout, connect=min(settings.catalogue_timeout, 15.0))
    headers = {"Accept": "application/vnd.github+json", "User-Agent": "anime-mcp (catalogue download)"}
    with httpx.Client(timeout=timeout, follow_redirects=True, headers=headers) as client:
        response = _request(client, "GET", settings.catalogue_release_url, settings.catalogue_retries)
        try:
            release = response.json()
        except ValueError as exc:
            raise CatalogueError(
                f"{settings.catalogue_release_url} did not answer JSON; check ANIME_MCP_CATALOGUE_RELEASE_URL"
            ) from exc
        asset = _asset(release, fmt)
        tag = str(release.get("tag_name") or release.get("name") or "latest")
        expected_size = asset.get("size") if isinstance(asset.get("size"), int) else None
        digest = str(asset.get("digest") or "")
        expected_sha = digest.removeprefix("sha256:").lower() if digest.startswith("sha256:") else None
        if expected_size is not None and expected_size > settings.catalogue_max_bytes:
            raise CatalogueError(
                f"the release file is {expected_size} bytes, over ANIME_MCP_CATALOGUE_MAX_BYTES "
                f"({settings.catalogue_max_bytes})"
            )
        target = folder / asset["name"]
        part = folder / f".{asset['name']}.part"
        try:
            sha, size = _fetch(client, asset["browser_download_url"], part, settings)
            if expected_size is not None and size != expected_size:
                raise CatalogueError(
                    f"download incomplete: {size} bytes, the release lists {expected_size}; run the command again"
                )
            if expected_sha is not None and sha != expected_sha:
                raise CatalogueError(
                    f"checksum mismatch: sha256 {sha}, the release lists {expected_sha}; "
                    "the file was not kept, run the command again"
                )
            entries = verify_shape(part)
            if target.exists() and _sha256_of(target) == sha:
                part.unlink()
                return Downloaded(target, entries, size, sha, tag, expected_sha is not None, None, unchanged=True)
            previous = None
            if target.exists():
                previous = previous_path(target)
                os.replace(target, previous)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
    log.info("catalogue %s: %d entries, %d bytes -> %s", tag, entries, size, target)
    return Downloaded(target, entries, size, sha, tag, expected_sha is not None, previous)


def _fetch(client: httpx.Client, url: str, part: Path, settings: CatalogueSettings) -> tuple[str, int]:
    """Stream ``url`` into ``part``: (sha256, bytes); the size cap holds even without a listed size."""
    response = _request(
        client, "GET", url, settings.catalogue_retries, headers={"Accept": "application/octet-stream"}, stream=True
    )
    digest, size = hashlib.sha256(), 0
    try:
        with part.open("wb") as out:
            for chunk in response.iter_bytes(CHUNK):
                size += len(chunk)
                if size > settings.catalogue_max_bytes:
                    raise CatalogueError(
                        f"the catalogue file exceeds ANIME_MCP_CATALOGUE_MAX_BYTES "
                        f"({settings.catalogue_max_bytes} bytes)"
                    )
                digest.update(chunk)
                out.write(chunk)
    except httpx.HTTPError as exc:
        raise CatalogueError(f"download interrupted ({type(exc).__name__}: {exc}); run the command again") from exc
    finally:
        response.close()
    return digest.hexdigest(), size
