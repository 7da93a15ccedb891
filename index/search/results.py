"""Typed results of the search core; the MCP tools return these models as structured output."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from index.payload_fields import ENTRY_KEY, IMAGE_URL_KEY, SYNOPSIS_SHORT_KEY

# The payload a hit is built from (nested paths select parts of the stored entry). Searches ask for
# these instead of the whole payload: a fully enriched entry is tens of kilobytes per result that the
# engine would copy into Python objects only for from_payload to drop.
HIT_PAYLOAD: list[str] = [
    "anime_id",
    "title",
    "type",
    "year",
    "season",
    "episodes",
    "score",
    SYNOPSIS_SHORT_KEY,
    IMAGE_URL_KEY,
    f"{ENTRY_KEY}.id",
    f"{ENTRY_KEY}.title",
    f"{ENTRY_KEY}.title_english",
    f"{ENTRY_KEY}.genres",
    f"{ENTRY_KEY}.staff_data.studios",
]


class AnimeHit(BaseModel):
    """One anime in a result list."""

    id: str = Field(description="Stable anime id; pass it to get_anime, find_similar_anime or recommend_anime.")
    title: str
    title_english: str | None = None
    type: str | None = None
    year: int | None = None
    season: str | None = None
    episodes: int | None = None
    score: float | None = Field(None, description="MyAnimeList score, 0-10.")
    genres: list[str] = Field(default_factory=list)
    studios: list[str] = Field(default_factory=list)
    synopsis: str | None = Field(None, description="The synopsis, shortened.")
    image_url: str | None = None
    relevance: float | None = Field(
        None, description="Fused relevance score (higher is better; scale depends on fusion)."
    )
    vector_scores: dict[str, float] | None = Field(
        None, description="With explain=true: cosine similarity per named vector that produced the result."
    )

    @classmethod
    def from_payload(cls, payload: dict[str, Any], relevance: float | None = None) -> AnimeHit:
        """Build from a full payload or one selected with HIT_PAYLOAD (keep the two in step)."""
        entry = payload.get(ENTRY_KEY) or {}
        staff = entry.get("staff_data") or {}
        return cls(
            id=payload.get("anime_id") or entry.get("id", ""),
            title=entry.get("title") or payload.get("title", ""),
            title_english=entry.get("title_english"),
            type=payload.get("type"),
            year=payload.get("year"),
            season=payload.get("season"),
            episodes=payload.get("episodes"),
            score=payload.get("score"),
            genres=list(entry.get("genres") or []),
            studios=[s.get("name") for s in staff.get("studios") or [] if s.get("name")],
            synopsis=payload.get(SYNOPSIS_SHORT_KEY),
            image_url=payload.get(IMAGE_URL_KEY),
            relevance=relevance,
        )


class InterpretedQuery(BaseModel):
    """How the words of a query were read, so the caller can see it and correct course."""

    text: str = Field(description="The words searched by meaning (empty when the query held only facts).")
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description=("Filters read from the words (an explicit filters argument wins field by field)."),
    )
    sort: str | None = Field(None, description="Wished order: score ('best'), popularity ('popular'), hidden_gems.")
    boosts: list[str] = Field(default_factory=list, description="Soft preferences added to the ranking.")
    title_matches: int = Field(0, description="Entries whose title matches the words (ranked first).")
    phrases: list[str] = Field(default_factory=list, description="The words read as facts or wishes.")
    request: list[str] = Field(
        default_factory=list,
        description="The request's wrapper ('what's the movie where', 'I remember a show about'), left out of the "
        "search.",
    )
    like: str | None = Field(None, description="A title named as a reference ('something like X but ...').")
    relaxed: bool = Field(
        False,
        description="True when nothing met the filters read from the words, so they were "
        "applied as preferences instead.",
    )

    def summary(self) -> str:
        """One short line for the text rendering."""
        bits = [f"{k}={v}" for k, v in self.filters.items() if k != "genres_mode"]
        if self.sort:
            bits.append(f"order: {self.sort}")
        bits += self.boosts
        if self.request:
            bits.append(f"request wrapper {' / '.join(repr(w) for w in self.request)} left out")
        if self.like:
            bits.append(f"like {self.like!r} (a reference, not searched)")
        if self.title_matches:
            bits.append(f"{self.title_matches} title match{'es' if self.title_matches > 1 else ''}")
        if not bits:
            return "Read as: words only (no facts, wishes or titles recognised)."
        relaxed = " (nothing met them exactly, so they were used as preferences)" if self.relaxed else ""
        text = f"; searched text: {self.text!r}" if self.phrases or self.request else ""
        return f"Read as: {'; '.join(bits)}{relaxed}{text}"


class ResolvedName(BaseModel):
    """Which entry an anime name was read as, and the close ones it was not, so the caller can correct course."""

    query: str = Field(description="The name as given.")
    id: str
    title: str
    also: list[str] = Field(
        default_factory=list, description="Close alternatives not chosen: 'title (type year) [id]'."
    )


class SearchPage(BaseModel):
    """A page of ranked results."""

    results: list[AnimeHit]
    offset: int
    limit: int
    hint: str | None = Field(None, description="Set when nothing matched: how to widen the search.")
    method: str | None = Field(None, description="How the ranking was produced (vectors and fusion).")
    interpreted_as: InterpretedQuery | None = Field(
        None, description="search_anime: how the query's words were read (filters, order, boosts, text)."
    )
    resolved: list[ResolvedName] | None = Field(
        None, description="find_similar_anime / recommend_anime: which entry each named anime was read as."
    )


class FacetValue(BaseModel):
    value: str | int | float | bool
    count: int


class BrowsePage(BaseModel):
    """Entries matching the filters, in a chosen order, with optional facet counts."""

    results: list[AnimeHit]
    offset: int
    limit: int
    total: int = Field(description="How many entries match the filters.")
    sort_by: str
    facets: dict[str, list[FacetValue]] = Field(default_factory=dict)
    hint: str | None = None


class DatabaseStats(BaseModel):
    """What the index holds and how it was built."""

    entries: int
    vectors_present: dict[str, int] = Field(description="Named vector -> entries that have it.")
    backend: str  # "edge" or "server": no folder or URL (the statistics are public)
    disk_bytes: int | None = None
    text_model: str | None = None  # the models' names, never the paths they were loaded from
    image_model: str | None = None
    text_dim: int | None = None
    image_dim: int | None = None
    image_search_available: bool = False
    image_search_error: str | None = None
    top_genres: list[FacetValue] = Field(default_factory=list)
    types: list[FacetValue] = Field(default_factory=list)
