"""The server backend alone: retries of transient errors only, collections without meta,
backoff, credentials never shown.
"""

from __future__ import annotations

import pytest
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from index.settings import StorageSettings
from index.storage import qdrant_calls
from index.storage.base import IncompatibleCollectionError, StoreError
from index.storage.qdrant_calls import safe_url
from index.storage.qdrant_server import ServerStore
from index.vectors import TITLE
from tests.index.storage.helpers import SPEC, STORAGE_MARKS, TEXT_DIM

pytestmark = STORAGE_MARKS


class FlakyClient:
    """Fails the first ``failures`` calls of collection_exists with a transient error."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def collection_exists(self, name: str) -> bool:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return False

    async def close(self) -> None:
        pass


async def test_server_retries_transient_errors_only(monkeypatch):
    monkeypatch.setattr(qdrant_calls, "backoff_delay", lambda attempt, exc=None: 0.0)
    settings = StorageSettings(qdrant_retries=3, collection_name="c")
    flaky = FlakyClient(2, ResponseHandlingException(ConnectionError("refused")))
    store = ServerStore(settings, client=flaky)
    assert await store.meta() is None and flaky.calls == 3
    busy = FlakyClient(10, UnexpectedResponse(503, "Service Unavailable", b"", None))
    with pytest.raises(StoreError, match="did not answer"):
        await ServerStore(settings, client=busy).meta()
    assert busy.calls == 4
    bad = FlakyClient(10, UnexpectedResponse(400, "Bad Request", b'{"status":{"error":"nope"}}', None))
    with pytest.raises(StoreError, match="nope"):
        await ServerStore(settings, client=bad).meta()
    assert bad.calls == 1


async def test_server_refuses_collection_without_meta():
    client = AsyncQdrantClient(location=":memory:")
    await client.create_collection(
        "foreign", vectors_config={TITLE: models.VectorParams(size=TEXT_DIM, distance=models.Distance.COSINE)}
    )
    store = ServerStore(StorageSettings(collection_name="foreign"), client=client)
    with pytest.raises(IncompatibleCollectionError, match="no anime-mcp meta record"):
        await store.open(SPEC)
    await client.close()


def test_backoff_grows_with_jitter():
    delays = [qdrant_calls.backoff_delay(a) for a in range(4)]
    for attempt, d in enumerate(delays):
        step = min(qdrant_calls.BACKOFF_CAP_S, qdrant_calls.BACKOFF_BASE_S * 2**attempt)
        assert step / 2 <= d <= step


async def test_server_unreachable_hides_api_key(monkeypatch):
    monkeypatch.setattr(qdrant_calls, "backoff_delay", lambda attempt, exc=None: 0.0)
    secret = "s3cr3t-key"
    settings = StorageSettings(
        qdrant_url="http://user:pw@127.0.0.1:9/?k=v", qdrant_api_key=secret, qdrant_retries=1, qdrant_timeout=2
    )
    store = ServerStore(settings)
    assert store.location == "http://127.0.0.1:9/"
    with pytest.raises(StoreError) as err:
        await store.open(SPEC)
    assert secret not in str(err.value) and "pw" not in str(err.value)
    assert "ANIME_MCP_QDRANT_URL" in str(err.value)
    await store.close()


def test_safe_url_strips_credentials():
    assert safe_url("https://me:pw@q.example.com:6333/base?api_key=x#f") == "https://q.example.com:6333/base"
