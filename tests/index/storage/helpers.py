"""Shared by the tests/test_storage_*.py files: small random points with real payload keys, and
stores on both backends.

The server backend runs against qdrant-client's in-process stand-in
(``location=":memory:"``) and, when ``ANIME_MCP_TEST_QDRANT_URL`` is set, against that
real server too (optional ``ANIME_MCP_TEST_QDRANT_API_KEY``). Vectors are small and
random (text 8-d, image 4-d); payloads use the real payload keys. A test file imports
the fixtures it uses (``backend``, ``factory``, ``store``, ``filled``) from here.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient, models

from index.settings import StorageSettings
from index.storage.base import CollectionSpec, VectorStore
from index.storage.edge import EdgeStore
from index.storage.lexical import lexical_document
from index.storage.qdrant_server import ServerStore
from index.vectors import CHARACTER, DENSE_VECTORS, IMAGE, LEXICAL

STORAGE_MARKS = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Payload indexes have no effect"),
    pytest.mark.filterwarnings("ignore:Local mode performs exact"),
    pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection"),
]

TEXT_DIM, IMAGE_DIM = 8, 4
SPEC = CollectionSpec(
    text_dim=TEXT_DIM, image_dim=IMAGE_DIM, meta={"text_model": "test-text", "image_model": "test-image"}
)
N = 40
REAL_URL = os.environ.get("ANIME_MCP_TEST_QDRANT_URL")
BACKENDS = ["edge", "server"] + (["real-server"] if REAL_URL else [])

TITLES = ["Cowboy Bebop", "Trigun", "Monster", "Mushishi"]
TYPES = ["TV", "MOVIE", "OVA"]
GENRE_SETS = [["action", "sci-fi"], ["drama"], ["action", "drama"], ["comedy"], ["mystery", "drama"]]


def pid(i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"anime-{i}"))


def unit(v: np.ndarray) -> list[float]:
    return (v / np.linalg.norm(v)).astype(np.float32).tolist()


def payload_of(i: int) -> dict:
    payload = {
        "anime_id": f"a{i}",
        "title": f"{TITLES[i % 4]} {i}",
        "titles_norm": [f"{TITLES[i % 4].lower()} {i}"],
        "type": TYPES[i % 3],
        "status": "FINISHED",
        "year": 1990 + i % 7,
        "genres": GENRE_SETS[i % 5],
        "nsfw": i % 4 == 0,
        "score": round(5.0 + (i * 37 % 50) / 10, 1),
        "members": 1000 + 10 * i,
        "title_sort": f"{TITLES[i % 4].lower()} {i:03d}",
    }
    if i % 5:
        payload["studios"] = ["sunrise"] if i % 2 else ["madhouse"]
    return payload


def make_points(seed: int = 7) -> tuple[list[models.PointStruct], dict[str, dict[str, np.ndarray]]]:
    """N points; character_vector missing on every 6th. Returns points and raw dense vectors."""
    rng = np.random.default_rng(seed)
    points, raw = [], {}
    for i in range(N):
        vectors: dict = {}
        raw[pid(i)] = {}
        for name in DENSE_VECTORS:
            if name == CHARACTER and i % 6 == 0:
                continue
            v = rng.normal(size=IMAGE_DIM if name == IMAGE else TEXT_DIM)
            raw[pid(i)][name] = v
            vectors[name] = unit(v)
        p = payload_of(i)
        vectors[LEXICAL] = lexical_document(f"{p['title']} {' '.join(p['genres'])}")
        points.append(models.PointStruct(id=pid(i), vector=vectors, payload=p))
    return points, raw


async def make_store(kind: str, path: Path, client: AsyncQdrantClient | None = None) -> VectorStore:
    if kind == "edge":
        return EdgeStore(path / "anime")
    if kind == "server":
        return ServerStore(StorageSettings(collection_name="anime_test"), client=client)
    settings = StorageSettings(
        qdrant_url=REAL_URL,
        qdrant_api_key=os.environ.get("ANIME_MCP_TEST_QDRANT_API_KEY"),
        collection_name=f"anime_mcp_test_{path.name[-12:].replace('-', '_')}",
    )
    return ServerStore(settings)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
async def factory(backend, tmp_path):
    """Builds stores on one location (same folder / same in-process client); cleans up after."""
    client = AsyncQdrantClient(location=":memory:") if backend == "server" else None
    made: list[VectorStore] = []

    async def build() -> VectorStore:
        store = await make_store(backend, tmp_path, client)
        made.append(store)
        return store

    yield build
    for store in made:
        await store.close()
    if backend == "real-server":
        cleanup = await make_store(backend, tmp_path)
        await cleanup._client.delete_collection(cleanup.collection_name)
        await cleanup.close()
    if client is not None:
        await client.close()


@pytest.fixture
async def store(factory):
    s = await factory()
    await s.open(SPEC)
    return s


@pytest.fixture
async def filled(store):
    points, raw = make_points()
    await store.upsert(points)
    return store, points, raw


def ids_of(results) -> list[str]:
    return [str(r.id) for r in results]


async def scroll_all(store, **kwargs) -> list[models.Record]:
    out, offset, pages = [], None, 0
    while True:
        page, offset = await store.scroll(offset=offset, **kwargs)
        out += page
        pages += 1
        assert pages < 100, "scroll does not end"
        if offset is None:
            return out
