"""A small real index of its own (a slice of the MyAnimeList file) for tests that damage, fill or check it:
the shared session indexes must stay whole for everyone else."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

SLICE = 24  # entries: enough for several pages of a check, quick to embed with the session's remembered vectors


async def build_small_index(data_dir: Path, embedder, entries, *, count: int = SLICE):
    """The first ``count`` entries indexed by the real ingestion path into ``data_dir``, runtime closed."""
    from index.ingest import Ingestor
    from index.runtime import open_runtime

    runtime = await open_runtime(embedder=embedder, storage=storage_settings(data_dir), warmup=False)
    try:
        summary = await Ingestor(runtime.store, embedder, runtime.fetcher, fetch_images=False).ingest_entries(
            [e.model_copy(deep=True) for e in entries[:count]]
        )
    finally:
        await runtime.close()
    assert not summary.failed, summary.failed[:3]


def storage_settings(data_dir: Path):
    from index.settings import StorageSettings

    return StorageSettings(_env_file=None, data_dir=data_dir)


def shard_files(data_dir: Path, name: str) -> list[Path]:
    """The files called ``name`` in the segments of the index in ``data_dir``."""
    return sorted((data_dir / "anime" / "shard" / "segments").glob(f"*/{name}"))


@asynccontextmanager
async def client_over(data_dir: Path, embedder):
    """An in-process MCP client of the real server assembly whose loader opens the index in ``data_dir``
    as the server does (so an index that cannot be opened is reported the server's way)."""
    from mcp import Client

    from index.runtime import open_runtime
    from server.app import build_server
    from server.state import AppState

    async def loader():
        return await open_runtime(embedder=embedder, storage=storage_settings(data_dir), warmup=False, create=False)

    state = AppState(loader=loader)
    try:
        async with Client(build_server(state)) as client:
            yield client
    finally:
        await state.close()
