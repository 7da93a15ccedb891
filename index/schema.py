"""AnimeEntry: the one shape every reader, enricher and indexer agrees on.

Lenient where real data is messy (unknown keys dropped, "Movie" vs "MOVIE",
camelCase leftovers), strict where it matters (an entry needs a title and at
least one source). See ../shared/data/README.md for the field list.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import Field, field_validator, model_validator

# The nested models live in index.schema_parts; they are re-exported here because other
# code and tests import them from index.schema.
from index.schema_parts import (  # noqa: F401
    AiredDates,
    Broadcast,
    BroadcastSchedule,
    Character,
    Company,
    ContextualRank,
    EnrichmentMetadata,
    EpisodeDetail,
    Images,
    PlatformStatistics,
    PremiereDates,
    Relation,
    ScoreSummary,
    StaffData,
    StaffMember,
    StreamingInfo,
    Theme,
    ThemeSong,
    Trailer,
    VoiceActor,
    _Model,
    snake_case_keys,
)


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
        aliases = {
            "CURRENTLY AIRING": "ONGOING",
            "AIRING": "ONGOING",
            "NOT YET AIRED": "UPCOMING",
            "FINISHED AIRING": "FINISHED",
            "RELEASING": "ONGOING",
            "NOT_YET_RELEASED": "UPCOMING",
        }
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

    @field_validator(
        "synonyms",
        "genres",
        "tags",
        "demographics",
        "content_warnings",
        "streaming_licenses",
        "licensors",
        mode="before",
    )
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
