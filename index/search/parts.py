"""What the engine's search modules read from it: the store, the models, the settings, the resolver.

A Protocol rather than the SearchEngine class, so text_search, similar_search, picture_search and
browse need not import the engine that imports them; SearchEngine has exactly these attributes.
"""

from __future__ import annotations

from typing import Any, Protocol

from index.embedding.module import EmbeddingModule
from index.search.known_values import KnownValues
from index.search.resolve import AnimeResolver
from index.search.tuning import SearchSettings
from index.storage.base import VectorStore


class EngineParts(Protocol):
    store: VectorStore
    embedder: EmbeddingModule
    settings: SearchSettings
    resolver: AnimeResolver
    known: KnownValues
    image_fetcher: Any
