"""How searches fuse vectors: weights, fusion method, prefetch depth.

Defaults are chosen by the relevance benchmark (bench/relevance.py, results in
bench/results/); every value can be overridden with ``ANIME_MCP_SEARCH_*`` settings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.vectors import CHARACTER, GENRE, LEXICAL, STAFF, TITLE


class SearchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANIME_MCP_SEARCH_", env_file=".env", extra="ignore")

    fusion: Literal["rrf", "dbsf"] = Field("rrf", description="How prefetch results are fused.")
    # k=10 (not the textbook 60): with only a few legs, the top ranks of the two strong legs (title+synopsis
    # dense, BM25) must dominate; k=60 let entries that are mediocre in many weak legs win (measured on the
    # 1,822-entry set: the Naruto plot query fell from rank 1 in both strong legs to rank 4 fused).
    rrf_k: int = Field(10, description="RRF constant k (higher flattens rank differences).")
    default_weights: dict[str, float] = Field(
        default_factory=lambda: {TITLE: 1.0, LEXICAL: 1.0, GENRE: 0.1, CHARACTER: 0.1, STAFF: 0.05},
        description="Vector -> weight for a text search without aspects (JSON).",
    )
    similar_weights: dict[str, float] = Field(
        default_factory=lambda: {TITLE: 1.0, GENRE: 0.8, CHARACTER: 0.5, STAFF: 0.4, "related_vector": 0.6,
                                 "franchise_vector": 0.3, "image_vector": 0.3},
        description="Vector -> weight for find_similar_anime/recommend_anime with aspect 'overall' (JSON).",
    )
    aspect_lexical_weight: float = Field(
        0.5, description="Weight of exact-word BM25 beside the named aspects' vectors (names of staff, characters).")
    prefetch_multiplier: int = Field(4, description="Each prefetch fetches (offset+limit) x this many candidates.")
    prefetch_min: int = Field(50, description="Lower bound of each prefetch's candidate count.")
    max_query_chars: int = Field(2000, description="Longest query text accepted.")
    max_limit: int = Field(50, description="Largest page size.")
    max_offset: int = Field(1000, description="Deepest offset.")
    mmr_diversity: float = Field(0.5, description="MMR diversity when diversify=true (0 relevance only, 1 diversity only).")
    fuzzy_title_cutoff: float = Field(85.0, description="Minimum rapidfuzz score (0-100) for a fuzzy title match.")
