"""Embeddings of text and pictures; load with `get_embedding_module()` (one per process).

Heavy imports (torch, sentence-transformers, open_clip) happen only when a module is created.
"""

from index.embedding.errors import ImageInputError, ImageModelUnavailable, TextModelUnavailable
from index.embedding.image_fetch import ImageFetcher
from index.embedding.module import EmbeddingModule, clear_embedding_modules, get_embedding_module
from index.embedding.profiles import PROFILES, ResolvedModels, resolve_device, resolve_models

__all__ = [
    "EmbeddingModule",
    "ImageFetcher",
    "ImageInputError",
    "ImageModelUnavailable",
    "PROFILES",
    "ResolvedModels",
    "TextModelUnavailable",
    "clear_embedding_modules",
    "get_embedding_module",
    "resolve_device",
    "resolve_models",
]
