"""Pick the storage backend from the settings: a Qdrant server when a URL is set, else embedded."""

from __future__ import annotations

import logging

from index.settings import StorageSettings
from index.storage.base import StoreError, VectorStore
from index.storage.edge import EdgeStore
from index.storage.qdrant_server import ServerStore

log = logging.getLogger(__name__)


def open_store(settings: StorageSettings) -> VectorStore:
    """The configured store, not yet opened: call ``await store.open(spec)`` next.

    ``ANIME_MCP_QDRANT_URL`` unset -> embedded Qdrant Edge shard in
    ``data_dir / collection_name``; set -> that server/cluster (https when the URL says so).
    """
    if settings.qdrant_url:
        store = ServerStore(settings)
        log.info("storage: Qdrant server %s, collection %r", store.location, settings.collection_name)
        return store
    name = settings.collection_name
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise StoreError(f"collection name {name!r} must be a plain folder name (ANIME_MCP_COLLECTION_NAME)")
    directory = settings.data_dir.expanduser() / settings.collection_name
    log.info("storage: embedded index in %s", directory)
    return EdgeStore(directory)
