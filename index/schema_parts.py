"""The nested parts of an AnimeEntry: characters, episodes, staff, statistics, dates.

Why apart from index.schema: AnimeEntry's own fields and their lenient normalisation
are what readers and filters care about; these small models only describe the shape
of the nested data. All share ``_Model``: unknown keys dropped, camelCase accepted.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake_case_keys(data: Any) -> Any:
    """Map leftover camelCase keys (``animeSeason``) to snake_case, keeping snake keys winning."""
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        snake = _CAMEL.sub("_", key).lower() if isinstance(key, str) else key
        if snake != key and snake in data:
            continue  # an explicit snake_case key wins over its camelCase twin
        out[snake] = value
    return out


class _Model(BaseModel):
    """Base for nested models: unknown keys ignored, camelCase accepted."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _snake(cls, data: Any) -> Any:
        return snake_case_keys(data)


class Theme(_Model):
    name: str
    description: str | None = None


class VoiceActor(_Model):
    name: str
    language: str | None = None


class Character(_Model):
    name: str
    role: str | None = None
    name_native: str | None = None
    name_kanji: str | None = None
    name_variations: list[str] = Field(default_factory=list)
    nicknames: list[str] = Field(default_factory=list)
    description: str | None = None
    gender: str | None = None
    age: str | None = None
    voice_actors: list[VoiceActor] = Field(default_factory=list)
    images: list[str] = Field(default_factory=list)
    character_ids: dict[str, Any] = Field(default_factory=dict)
    character_pages: dict[str, str] = Field(default_factory=dict)

    @field_validator("age", mode="before")
    @classmethod
    def _age_text(cls, v: Any) -> Any:
        return None if v is None else str(v)


class EpisodeDetail(_Model):
    episode_number: int | None = None
    season_number: int | None = None
    title: str | None = None
    title_japanese: str | None = None
    title_romaji: str | None = None
    synopsis: str | None = None
    aired: str | None = None
    duration: int | None = None
    score: float | None = None
    filler: bool = False
    recap: bool = False
    thumbnails: list[str] = Field(default_factory=list)
    episode_pages: dict[str, str] = Field(default_factory=dict)


class Trailer(_Model):
    url: str | None = None
    title: str | None = None
    thumbnail_url: str | None = None


class ThemeSong(_Model):
    title: str
    artist: str | None = None
    episodes: str | None = None

    @field_validator("episodes", mode="before")
    @classmethod
    def _episodes_text(cls, v: Any) -> Any:
        return None if v is None else str(v)


class Relation(_Model):
    title: str
    relation_type: str | None = None
    url: str | None = None


class StreamingInfo(_Model):
    platform: str
    url: str | None = None
    region: str | None = None
    free: bool | None = None
    premium_required: bool | None = None
    subtitle_languages: list[str] = Field(default_factory=list)
    dub_languages: list[str] = Field(default_factory=list)


class AiredDates(_Model):
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    string: str | None = None


class Broadcast(_Model):
    day: str | None = None
    time: str | None = None
    timezone: str | None = None
    string: str | None = None


class BroadcastSchedule(_Model):
    jpn_time: str | None = None
    sub_time: str | None = None
    dub_time: str | None = None


class PremiereDates(_Model):
    original: str | None = None
    sub: str | None = None
    dub: str | None = None


class Images(_Model):
    covers: list[str] = Field(default_factory=list)
    posters: list[str] = Field(default_factory=list)
    banners: list[str] = Field(default_factory=list)

    def all_urls(self) -> list[str]:
        seen: dict[str, None] = {}
        for url in [*self.covers, *self.posters, *self.banners]:
            if url:
                seen.setdefault(url, None)
        return list(seen)


class ScoreSummary(_Model):
    arithmetic_geometric_mean: float | None = None
    arithmetic_mean: float | None = None
    median: float | None = None


class ContextualRank(_Model):
    rank: int | None = None
    type: str | None = None
    format: str | None = None
    year: int | None = None
    season: str | None = None
    all_time: bool | None = None


class PlatformStatistics(_Model):
    score: float | None = None
    scored_by: int | None = None
    rank: int | None = None
    popularity_rank: int | None = None
    members: int | None = None
    favorites: int | None = None
    contextual_ranks: list[ContextualRank] = Field(default_factory=list)


class StaffMember(_Model):
    name: str
    native_name: str | None = None
    role: str | None = None
    language: str | None = None
    character_assignments: list[str] = Field(default_factory=list)
    alternative_names: list[str] = Field(default_factory=list)
    primary_occupations: list[str] = Field(default_factory=list)
    biography: str | None = None
    staff_ids: dict[str, Any] = Field(default_factory=dict)
    image: str | None = None


class Company(_Model):
    name: str
    type: str | None = None
    url: str | None = None


class StaffData(_Model):
    production_staff: dict[str, list[StaffMember]] = Field(default_factory=dict)
    studios: list[Company] = Field(default_factory=list)
    producers: list[Company] = Field(default_factory=list)
    licensors: list[Company] = Field(default_factory=list)
    voice_actors: dict[str, list[StaffMember]] = Field(default_factory=dict)

    @field_validator("studios", "producers", "licensors", mode="before")
    @classmethod
    def _companies(cls, v: Any) -> Any:
        # the offline database gives plain lower-case strings
        if isinstance(v, list):
            return [{"name": x} if isinstance(x, str) else x for x in v]
        return v


class EnrichmentMetadata(_Model):
    source: str | None = None
    enriched_at: str | None = None
    success: bool | None = None
    sources_used: list[str] = Field(default_factory=list)
    failures: dict[str, str] = Field(default_factory=dict)
    duration_seconds: float | None = None
