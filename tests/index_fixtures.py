"""Session fixtures: the real 1,822-entry MyAnimeList file (plus the 28 enriched entries)
indexed once with the lite text model and the tiny test CLIP model, on both backends.

The embedded (qdrant-edge) index is built by the real ingestion path; the server-backend
index (qdrant-client against its in-process stand-in) is built by the same path with an
embedder that remembers vectors, so the second build costs no model time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.paths import SHARED

MAL_FILE = SHARED / "data" / "anime_mal_1822.json"
ENRICHED_FILE = SHARED / "data" / "enriched_sample_28.json"
TITLES_FILE = SHARED / "data" / "anime_mal_titles_24901.json"


class RememberingEmbedder:
    """Wraps the real module; document vectors are computed once per text for the whole session."""

    def __init__(self, inner):
        self._inner = inner
        self._docs: dict[str, np.ndarray] = {}

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def embed_documents(self, texts):
        missing = [t for t in dict.fromkeys(texts) if t not in self._docs]
        if missing:
            for t, v in zip(missing, self._inner.embed_documents(missing), strict=True):
                self._docs[t] = v
        return np.stack([self._docs[t] for t in texts]) if texts else np.zeros((0, self._inner.text_dim), "float32")

    async def aembed_documents(self, texts):
        import anyio

        return await anyio.to_thread.run_sync(self.embed_documents, texts)


@pytest.fixture(scope="session")
def remembering_embedder(embedding_module):
    return RememberingEmbedder(embedding_module)


@pytest.fixture(scope="session")
def index_entries():
    from index.importers import load_entries

    return load_entries(MAL_FILE) + load_entries(ENRICHED_FILE)


async def build_runtime(backend: str, path: Path, embedder, entries):
    from index.ingest import Ingestor
    from index.runtime import open_runtime
    from index.settings import ImageFetchSettings, StorageSettings

    if backend == "edge":
        from index.storage.factory import open_store

        store = open_store(StorageSettings(data_dir=path))
    else:
        from qdrant_client import AsyncQdrantClient

        from index.storage.qdrant_server import ServerStore

        store = ServerStore(
            StorageSettings(collection_name="anime_test"), client=AsyncQdrantClient(location=":memory:")
        )
    fetch = ImageFetchSettings(
        image_cache_dir=path / "images", image_allowed_dirs=[path], image_allow_private_hosts=True
    )
    runtime = await open_runtime(embedder=embedder, store=store, fetch=fetch, warmup=False)
    summary = await Ingestor(
        runtime.store, embedder, runtime.fetcher, batch_size=128, fetch_images=False
    ).ingest_entries([e.model_copy(deep=True) for e in entries])
    assert not summary.failed, summary.failed[:3]
    return runtime


@pytest.fixture(scope="session", params=["edge", "server"])
async def search_runtime(request, tmp_path_factory, remembering_embedder, index_entries):
    """The indexed runtime, once per backend; every search test runs against both."""
    path = tmp_path_factory.mktemp(f"index-{request.param}")
    runtime = await build_runtime(request.param, path, remembering_embedder, index_entries)
    yield runtime
    await runtime.close()


@pytest.fixture(scope="session")
async def edge_runtime(tmp_path_factory, remembering_embedder, index_entries):
    """One embedded index for tests that need just one backend (tools, server)."""
    path = tmp_path_factory.mktemp("index-tools")
    runtime = await build_runtime("edge", path, remembering_embedder, index_entries)
    yield runtime
    await runtime.close()


@pytest.fixture
async def client(edge_runtime):
    """An in-process MCP client on the real server assembly, served by the shared embedded index."""
    from mcp import Client

    from server.app import build_server
    from server.state import AppState

    async def loader():
        return edge_runtime

    async with Client(build_server(AppState(loader=loader))) as c:
        yield c
