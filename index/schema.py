"""AnimeEntry: the one shape every reader, enricher and indexer agrees on.

Lenient where real data is messy (unknown keys dropped, "Movie" vs "MOVIE",
camelCase leftovers), strict where it matters (an entry needs a title and at
least one source). See ../shared/data/README.md for the field list.
"""

from __future__ import annotations

import re
from enum import Enum
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


def _upper_enum(value: Any, enum: type[Enum], default: Enum) -> Any:
    """Normalise casing drift ("Movie", "movie ", "light_novel") to the enum's value."""
    if value is None or value == "":
        return default
    if isinstance(value, enum):
        return value
    text = str(value).strip().upper().replace("_", " ")
    for member in enum:
        if member.value == text or member.value.replace("_", " ") == text:
            return member
    return default


class AnimeType(str, Enum):
    TV = "TV"
    MOVIE = "MOVIE"
    OVA = "OVA"
    ONA = "ONA"
    SPECIAL = "SPECIAL"
    MUSIC = "MUSIC"
    PV = "PV"
    UNKNOWN = "UNKNOWN"


class AnimeStatus(str, Enum):
    FINISHED = "FINISHED"
    ONGOING = "ONGOING"
    UPCOMING = "UPCOMING"
    UNKNOWN = "UNKNOWN"


class Season(str, Enum):
    SPRING = "SPRING"
    SUMMER = "SUMMER"
    FALL = "FALL"
    WINTER = "WINTER"


class SourceMaterial(str, Enum):
    MANGA = "MANGA"
    ORIGINAL = "ORIGINAL"
    LIGHT_NOVEL = "LIGHT NOVEL"
    NOVEL = "NOVEL"
    WEB_MANGA = "WEB MANGA"
    VISUAL_NOVEL = "VISUAL NOVEL"
    GAME = "GAME"
    MIXED_MEDIA = "MIXED MEDIA"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


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


class AnimeEntry(_Model):
    """One anime. ``id`` is stable across runs; see index.identity for how it is derived."""

    id: str = ""
    title: str
    type: AnimeType = AnimeType.UNKNOWN
    status: AnimeStatus = AnimeStatus.UNKNOWN
    sources: list[str]

    title_english: str | None = None
    title_japanese: str | None = None
    synopsis: str | None = None
    background: str | None = None
    episodes: int | None = None
    season: Season | None = None
    year: int | None = None
    month: str | None = None
    duration: int | None = None  # seconds per episode
    rating: str | None = None
    source_material: SourceMaterial | None = None
    nsfw: bool | None = None

    synonyms: list[str] = Field(default_factory=list)
    genres: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    demographics: list[str] = Field(default_factory=list)
    content_warnings: list[str] = Field(default_factory=list)
    themes: list[Theme] = Field(default_factory=list)
    characters: list[Character] = Field(default_factory=list)
    episode_details: list[EpisodeDetail] = Field(default_factory=list)
    trailers: list[Trailer] = Field(default_factory=list)
    opening_themes: list[ThemeSong] = Field(default_factory=list)
    ending_themes: list[ThemeSong] = Field(default_factory=list)
    related_anime: list[Relation] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)
    streaming_info: list[StreamingInfo] = Field(default_factory=list)
    streaming_licenses: list[str] = Field(default_factory=list)
    licensors: list[str] = Field(default_factory=list)

    aired_dates: AiredDates | None = None
    broadcast: Broadcast | None = None
    broadcast_schedule: BroadcastSchedule | None = None
    delay_information: dict[str, Any] | None = None
    premiere_dates: PremiereDates | None = None
    episode_overrides: dict[str, Any] | None = None
    images: Images = Field(default_factory=Images)
    score: ScoreSummary | None = None
    statistics: dict[str, PlatformStatistics] = Field(default_factory=dict)
    staff_data: StaffData | None = None
    external_links: dict[str, str] = Field(default_factory=dict)
    enrichment_metadata: EnrichmentMetadata | None = None

    # ----- lenient normalisation -------------------------------------------------
    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> Any:
        return _upper_enum(v, AnimeType, AnimeType.UNKNOWN)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> Any:
        text = str(v or "").strip().upper()
        aliases = {"CURRENTLY AIRING": "ONGOING", "AIRING": "ONGOING", "NOT YET AIRED": "UPCOMING",
                   "FINISHED AIRING": "FINISHED", "RELEASING": "ONGOING", "NOT_YET_RELEASED": "UPCOMING"}
        return _upper_enum(aliases.get(text, text), AnimeStatus, AnimeStatus.UNKNOWN)

    @field_validator("season", mode="before")
    @classmethod
    def _season(cls, v: Any) -> Any:
        text = str(v or "").strip().upper()
        if text == "AUTUMN":
            text = "FALL"
        return text if text in Season.__members__ else None

    @field_validator("source_material", mode="before")
    @classmethod
    def _source_material(cls, v: Any) -> Any:
        if v is None or v == "":
            return None
        return _upper_enum(v, SourceMaterial, SourceMaterial.OTHER)

    @field_validator("episodes", "year", "duration", mode="before")
    @classmethod
    def _int_or_none(cls, v: Any) -> Any:
        if v is None or v == "":
            return None
        try:
            return int(float(v))
        except (TypeError, ValueError):
            return None

    @field_validator("month", mode="before")
    @classmethod
    def _month_text(cls, v: Any) -> Any:
        return None if v is None else str(v)

    @field_validator("synonyms", "genres", "tags", "demographics", "content_warnings",
                     "streaming_licenses", "licensors", mode="before")
    @classmethod
    def _string_list(cls, v: Any) -> Any:
        if v is None:
            return []
        if isinstance(v, str):
            return [v]
        out: dict[str, None] = {}
        for item in v:
            if isinstance(item, dict):
                item = item.get("name")
            if item is not None and str(item).strip():
                out.setdefault(str(item).strip(), None)
        return list(out)

    @field_validator("images", mode="before")
    @classmethod
    def _images(cls, v: Any) -> Any:
        if v is None:
            return {}
        if isinstance(v, list):  # a bare list of urls
            return {"covers": v}
        return v

    @field_validator("external_links", mode="before")
    @classmethod
    def _links(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return {}
        return {str(k): str(u) for k, u in v.items() if u}

    @field_validator("statistics", mode="before")
    @classmethod
    def _stats(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return {}
        return {k: s for k, s in v.items() if isinstance(s, dict)}

    @model_validator(mode="after")
    def _check(self) -> AnimeEntry:
        label = self.id or self.title or "<no id>"
        if not self.title or not self.title.strip():
            raise ValueError(f"anime entry {label!r} has no title")
        self.sources = [s for s in (str(x).strip() for x in self.sources) if s]
        if not self.sources:
            raise ValueError(f"anime entry {label!r} ({self.title}) has no sources")
        if self.nsfw is None:
            self.nsfw = derive_nsfw(self)
        return self

    # ----- conveniences -------------------------------------------------------------
    @property
    def studios(self) -> list[str]:
        return [c.name for c in self.staff_data.studios] if self.staff_data else []

    @property
    def producers(self) -> list[str]:
        return [c.name for c in self.staff_data.producers] if self.staff_data else []

    def mal_score(self) -> float | None:
        stats = self.statistics.get("mal")
        return stats.score if stats else None


_NSFW_GENRES = {"hentai", "erotica"}


def derive_nsfw(entry: AnimeEntry) -> bool:
    """Entries without an explicit flag: adult rating or adult genres mark them nsfw."""
    if entry.rating and entry.rating.strip().lower().startswith("rx"):
        return True
    return any(g.lower() in _NSFW_GENRES for g in [*entry.genres, *entry.tags])
