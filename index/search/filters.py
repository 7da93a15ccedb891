"""Search filters: one model shared by every search, turned into a Qdrant filter.

Filters are applied inside the vector search (Qdrant's filtered HNSW), never after
it, so ``limit`` results come back whenever that many entries match.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from qdrant_client import models

from index.errors import UserFacingError
from index.payload import RATING_CODES
from index.schema import AnimeStatus, AnimeType, Season, SourceMaterial

MAX_FILTER_VALUES = 50
# MyAnimeList's genres, named in the schema so an assistant knows the words (the index checks genres against its
# own values, case-insensitively, and suggests close ones); the adult genres are left to include_nsfw.
KNOWN_GENRES = (
    "Action",
    "Adventure",
    "Avant Garde",
    "Award Winning",
    "Boys Love",
    "Comedy",
    "Drama",
    "Ecchi",
    "Fantasy",
    "Girls Love",
    "Gourmet",
    "Horror",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Slice of Life",
    "Sports",
    "Supernatural",
    "Suspense",
)


class SearchFilters(BaseModel):
    """Exact conditions every result must meet. All fields are optional and combine with AND."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    genres: list[str] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description=f"Any of these genres ({', '.join(KNOWN_GENRES)}); genres_mode 'all': every one.",
    )
    genres_mode: Literal["any", "all"] = Field("any", description="'all': a result has every genre listed.")
    exclude_genres: list[str] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="None of these genres."
    )
    tags: list[str] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description="Any of these tags: themes such as 'mecha', 'isekai' (enriched entries carry tags).",
    )
    exclude_tags: list[str] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="None of these tags."
    )
    types: list[AnimeType] = Field(default_factory=list, max_length=10)  # the enum says it all
    statuses: list[AnimeStatus] = Field(default_factory=list, max_length=4)
    year_min: int | None = Field(None, ge=1900, le=2100, description="First aired in this year or later.")
    year_max: int | None = Field(None, ge=1900, le=2100, description="First aired in this year or earlier.")
    seasons: list[Season] = Field(default_factory=list, max_length=4, description="Season of first airing.")
    episodes_min: int | None = Field(None, ge=0, le=100000, description="At least this many episodes.")
    episodes_max: int | None = Field(None, ge=0, le=100000, description="At most this many episodes (films have 1).")
    score_min: float | None = Field(None, ge=0, le=10, description="MyAnimeList score (0-10) at least.")
    studios: list[str] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="Any of these studios, e.g. 'madhouse'."
    )
    source_materials: list[SourceMaterial] = Field(default_factory=list, max_length=10, description="Adapted from.")
    # a Literal built from RATING_CODES (defined once) for the schema's enum; mypy reads only written-out Literals
    ratings: list[Literal[RATING_CODES]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=6, description="Age ratings."
    )
    include_nsfw: bool = Field(False, description="Include adult entries.")

    @model_validator(mode="after")
    def _ranges(self) -> SearchFilters:
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            raise ValueError(f"year_min ({self.year_min}) is after year_max ({self.year_max}); swap or widen them")
        if self.episodes_min is not None and self.episodes_max is not None and self.episodes_min > self.episodes_max:
            raise ValueError(f"episodes_min ({self.episodes_min}) is above episodes_max ({self.episodes_max})")
        return self


class FilterValueError(UserFacingError, ValueError):
    """A filter names a value the collection does not know (with suggestions)."""


def _canonical(values: Sequence[str], known: Mapping[str, int] | None, field: str) -> list[str]:
    """Lower-case the values (payload keywords are lower-case) and check them against the known set."""
    out = []
    for raw in values:
        value = raw.strip().lower()
        if not value:
            continue
        if known is not None and value not in known:
            close = difflib.get_close_matches(value, list(known), n=3, cutoff=0.6)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            sample = ", ".join(sorted(known, key=lambda k: -known[k])[:12])
            raise FilterValueError(f"Unknown {field} {raw!r}.{hint} Known {field} include: {sample}.")
        out.append(value)
    return out


def build_filter(
    filters: SearchFilters | None,
    *,
    vocabulary: Mapping[str, Mapping[str, int]] | None = None,
    exclude_point_ids: Sequence[str] = (),
) -> models.Filter | None:
    """Translate SearchFilters into a Qdrant filter.

    ``vocabulary`` maps a keyword field (genres, studios) to its known values with counts, so
    an unknown genre is an error with suggestions instead of a silent empty result. Tags are
    free-form and not checked.
    """
    f = filters or SearchFilters()
    vocab = vocabulary or {}
    must: list[models.Condition] = []
    must_not: list[models.Condition] = []

    def any_of(key: str, values: list[str]) -> None:
        if values:
            must.append(models.FieldCondition(key=key, match=models.MatchAny(any=values)))

    genres = _canonical(f.genres, vocab.get("genres"), "genres")
    if f.genres_mode == "all":
        must.extend(models.FieldCondition(key="genres", match=models.MatchValue(value=g)) for g in genres)
    else:
        any_of("genres", genres)
    excluded = _canonical(f.exclude_genres, vocab.get("genres"), "genres")
    if excluded:
        must_not.append(models.FieldCondition(key="genres", match=models.MatchAny(any=excluded)))
    any_of("tags", _canonical(f.tags, None, "tags"))
    excluded_tags = _canonical(f.exclude_tags, None, "tags")
    if excluded_tags:
        must_not.append(models.FieldCondition(key="tags", match=models.MatchAny(any=excluded_tags)))
    any_of("studios", _canonical(f.studios, vocab.get("studios"), "studios"))
    any_of("type", [str(t) for t in f.types])
    any_of("status", [str(s) for s in f.statuses])
    any_of("season", [str(s) for s in f.seasons])
    any_of("source_material", [str(s) for s in f.source_materials])
    any_of("rating", list(f.ratings))
    if f.year_min is not None or f.year_max is not None:
        must.append(models.FieldCondition(key="year", range=models.Range(gte=f.year_min, lte=f.year_max)))
    if f.episodes_min is not None or f.episodes_max is not None:
        must.append(models.FieldCondition(key="episodes", range=models.Range(gte=f.episodes_min, lte=f.episodes_max)))
    if f.score_min is not None:
        must.append(models.FieldCondition(key="score", range=models.Range(gte=f.score_min)))
    if not f.include_nsfw:
        must_not.append(models.FieldCondition(key="nsfw", match=models.MatchValue(value=True)))
    if exclude_point_ids:
        must_not.append(models.HasIdCondition(has_id=list(exclude_point_ids)))
    if not must and not must_not:
        return None
    return models.Filter(must=must or None, must_not=must_not or None)
