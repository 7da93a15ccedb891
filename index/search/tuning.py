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
    # k=2 (not the textbook 60): measured by bench/relevance.py on 97 queries over the 1,822-entry set (lite,
    # MiniLM): k=2 Recall@1 0.80 / Recall@10 0.97 / MRR 0.87 vs k=10 0.78-0.79 / 0.96 / 0.86 and k=60 0.77 / 0.95 /
    # 0.84 (same legs). With two strong legs, the top of each leg must dominate; a large k lets entries that are
    # mediocre everywhere win. (Shared with find_similar/recommend, which this benchmark does not score.)
    rrf_k: int = Field(2, description="RRF constant k (higher flattens rank differences).")
    # title+synopsis dense 0.85 and BM25 1.0 only (bench/results/relevance.md): the light genre/character/staff legs
    # (0.1/0.1/0.05) cost ~0.01-0.02 MRR at every k; the 0.85 keeps BM25 (R@1 0.79 alone) ahead on exact names and
    # breaks RRF ties between the two legs, so rankings are stable (equal weights flipped ~1 query run to run).
    # Result: R@1 0.80 / R@10 0.97 / MRR 0.87, beating BM25 alone (0.79 / 0.93 / 0.85) and dense alone (0.54 / 0.79 /
    # 0.64). DBSF scored higher R@1/MRR (0.83 / 0.89) but lower R@10 (0.945) and ignores weights, which
    # find_similar/recommend rely on, so RRF stays.
    default_weights: dict[str, float] = Field(
        default_factory=lambda: {TITLE: 0.85, LEXICAL: 1.0},
        description="Vector -> weight for a text search without aspects (JSON).",
    )
    # A description (more than 8 words) leans on its meaning more than on its words: bench/relevance.py families
    # on the 1,822 set, vague memories MRR 0.221 -> 0.286 and long descriptions 0.896 -> 0.891 with lexical
    # 0.85 beside title 1.0 (0.7: 0.285 / 0.886; 0.5: 0.291 / 0.857); short queries keep default_weights.
    description_weights: dict[str, float] | None = Field(
        default_factory=lambda: {TITLE: 1.0, LEXICAL: 0.85},
        description="Vector -> weight for a long query (a description, more than 8 words); null: default_weights "
        "(JSON).",
    )
    # A description whose words match no entry well (a half-remembered scene in the user's own words: "big fluffy
    # grey creature waiting at a bus stop") gets only noise from BM25, so it is searched by meaning alone. Strength
    # = best BM25 score / (query tokens x ln(entries)), so the threshold holds as the catalogue grows (IDF grows with
    # ln N). bench/relevance.py families, chosen on the distribution of both corpora: vague-memory queries (f) lie at
    # 0.18-0.26 on the 1,822 set, long plot descriptions (a) mostly at 0.3-1.1. At 0.23 on the 1,822 set: (f)
    # 0.289 -> 0.333 (dense alone 0.296), (a) 0.912 -> 0.917; catalogue (f) 0.204 -> 0.21; other families unchanged
    # (they are short queries).
    vague_weights: dict[str, float] | None = Field(
        default_factory=lambda: {TITLE: 1.0},
        description="Vector -> weight for a description whose words match no entry well (see "
        "weak_lexical_strength); null: description_weights (JSON).",
    )
    weak_lexical_strength: float = Field(
        0.23,
        description="A description is searched with vague_weights when its best BM25 score per query token, "
        "divided by ln(entries), is below this.",
    )
    similar_weights: dict[str, float] = Field(
        default_factory=lambda: {
            TITLE: 1.0,
            GENRE: 0.8,
            CHARACTER: 0.5,
            STAFF: 0.4,
            "related_vector": 0.6,
            "franchise_vector": 0.3,
            "image_vector": 0.3,
        },
        description="Vector -> weight for find_similar_anime/recommend_anime with aspect 'overall' (JSON).",
    )
    # 1.2 (the same 1 : 0.85 ratio as the default search's BM25 : dense): an aspect search names people or
    # characters more often than it describes them, and exact words must win RRF ties. Measured on the 1,822
    # entries + enriched Cowboy Bebop: "directed by Shinichirou Watanabe, music by Yoko Kanno" (staff) puts Bebop
    # 1st in BM25 but only past rank 10 in the staff vector (its pooled staff vector is a long cast list), while
    # an unrelated film tops the staff vector and is absent from BM25; at 1.0 the two tie at 1/(k+1) and the order
    # is arbitrary (it flipped between runs), at 1.2 Bebop is 1st. "Vicious and Julia" (characters) ranks it 1st
    # at every weight.
    aspect_lexical_weight: float = Field(
        1.2, description="Weight of exact-word BM25 beside the named aspects' vectors (names of staff, characters)."
    )
    prefetch_multiplier: int = Field(4, description="Growth factor of the candidate tiers past prefetch_min.")
    prefetch_min: int = Field(100, description="Candidates per vector for results up to this rank (first tier).")
    max_query_chars: int = Field(2000, description="Longest query text accepted.")
    max_limit: int = Field(50, description="Largest page size.")
    max_offset: int = Field(1000, description="Deepest offset.")
    mmr_diversity: float = Field(
        0.5, description="MMR diversity when diversify=true (0 relevance only, 1 diversity only)."
    )
    fuzzy_title_cutoff: float = Field(85.0, description="Minimum rapidfuzz score (0-100) for a fuzzy title match.")
    # Ranking beyond word match (index/search/ranking.py), by a Qdrant score formula: the fused score times
    # (1 + priors), plus title boosts and wishes. The fused RRF score of a result is about 0.1-0.6 (k=2), so the
    # additive boosts are on that scale.
    interpret_queries: bool = Field(
        True,
        description="Read facts and wishes in the query (decades, types, genres, studios, 'best') and match "
        "titles; the interpret tool argument turns it off per call.",
    )
    popularity_prior: float = Field(
        0.3,
        description="Weight of the 0-1 popularity prior (log members, else sites listing the entry) in the "
        "factor that multiplies the word-match score.",
    )
    short_query_prior_scale: float = Field(
        1.5,
        description="Priors weigh this much more for a short query (a title, an idea, a wish list), where "
        "many entries match the words about as well; a long description decides by its words.",
    )
    quality_prior: float = Field(0.1, description="Weight of the mean score (0-10, divided by 10) in the factor.")
    main_entry_prior: float = Field(
        0.2, description="Factor weight for entries that are not OVAs, specials, music videos or promos."
    )
    title_exact_boost: float = Field(
        2.0,
        description="Word-match score given to entries whose title or synonym is exactly the query (above any "
        "fused score, so they rank first, ordered by the priors).",
    )
    title_prefix_boost: float = Field(
        0.6, description="Word-match score given to entries whose title starts with or holds the query's words."
    )
    title_fuzzy_boost: float = Field(
        1.0, description="Word-match floor of a title within typos (half of it at the cutoff, all of it at 100)."
    )
    title_fuzzy_cutoff: float = Field(
        80.0,
        description="Minimum rapidfuzz ratio (0-100) of a typed title to a stored one to count as a misspelling of it.",
    )
    people_boost: float = Field(
        0.5, description="Added when the words name one of an entry's characters, staff or voice actors."
    )
    fact_boost: float = Field(0.1, description="Added per fact a long query names but does not filter on.")
    wish_weight: float = Field(
        0.5, description="Weight of the wished order ('best': score, 'popular': popularity) beside relevance."
    )
