"""Turning image search off (ANIME_MCP_IMAGE_ENABLED=false) on an index built with an image model:
text search keeps working, image tools say image search is off. (It used to refuse to open the
index: "image_model: index has 'ViT-B-32', settings give None".)"""

from __future__ import annotations

import base64
import io

import pytest
from mcp import Client

from server.app import build_server
from server.state import AppState
from tests.index_fixtures import build_runtime

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def images_off_embedder(text_model_path):
    from index.embedding.module import EmbeddingModule
    from index.settings import EmbeddingSettings

    module = EmbeddingModule(
        EmbeddingSettings(
            _env_file=None, profile="lite", device="cpu", text_model=str(text_model_path), image_enabled=False
        )
    )
    yield module
    module.close()


@pytest.fixture(scope="module")
async def index_with_images(tmp_path_factory, remembering_embedder, index_entries):
    """A small embedded index written with the image model on (its meta names the model)."""
    path = tmp_path_factory.mktemp("index-with-images")
    runtime = await build_runtime("edge", path, remembering_embedder, index_entries[:60])
    meta = await runtime.store.meta()
    await runtime.close()
    assert meta["image_model"] and meta["image_dim"] == remembering_embedder.configured_image_dim()
    return path, meta


async def test_text_search_works_with_image_search_off(index_with_images, images_off_embedder):
    from index.runtime import open_runtime
    from index.settings import StorageSettings

    path, built = index_with_images
    runtime = await open_runtime(
        embedder=images_off_embedder, storage=StorageSettings(data_dir=path), create=False, warmup=False
    )
    try:
        state = AppState(loader=lambda: _ready(runtime))
        async with Client(build_server(state)) as client:
            found = await client.call_tool("search_anime", {"query": "space bounty hunters", "limit": 3})
            assert not found.is_error, found.content
            assert found.structured_content["results"]
            listed = {t.name for t in (await client.list_tools()).tools}  # not offered while they cannot run
            assert "search_anime" in listed and not listed & {"search_anime_by_image", "search_anime_multimodal"}
            picture = await client.call_tool("search_anime_by_image", {"image": _png()})
            assert picture.is_error and "ANIME_MCP_IMAGE_ENABLED" in picture.content[0].text
            stats = (await client.call_tool("anime_database_stats", {})).structured_content
            assert stats["image_search_available"] is False and stats["image_model"] == built["image_model"]
    finally:
        await runtime.close()


async def test_a_different_image_model_is_still_refused(index_with_images, remembering_embedder):
    """Only switching images off relaxes the check: another configured image model is still a mismatch."""
    from index.runtime import collection_spec
    from index.settings import StorageSettings
    from index.storage.base import CollectionSpec, IncompatibleCollectionError
    from index.storage.factory import open_store

    path, _ = index_with_images
    spec = collection_spec(remembering_embedder)
    other = CollectionSpec(
        text_dim=spec.text_dim, image_dim=spec.image_dim, meta={**spec.meta, "image_model": "ViT-L-14"}
    )
    store = open_store(StorageSettings(data_dir=path))
    with pytest.raises(IncompatibleCollectionError, match="ViT-L-14"):
        await store.open(other, create=False)


async def _ready(runtime):
    return runtime


def _png() -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 30, 200)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()
