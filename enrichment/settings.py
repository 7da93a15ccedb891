"""Settings of the enrichment package (env prefix ``ANIME_MCP_``).

Every public source has its own base URL (tests point them at a loopback fake
server), rate limit, timeout and circuit breaker, because each API has its own
limits and its own ways of failing; one slow source must never stall the others.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_cache_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Sources with a live client, in the order they are listed to users.
ALL_SOURCES: tuple[str, ...] = ("jikan", "anilist", "kitsu", "anidb", "animeschedule")


class EnrichmentSettings(BaseSettings):
    """Where each source lives, how fast it may be called and how failures are handled."""

    model_config = SettingsConfigDict(env_prefix="ANIME_MCP_", env_file=".env", extra="ignore")

    enrichment_sources: list[str] = Field(
        default_factory=lambda: list(ALL_SOURCES),
        description="Sources used when a call names none (AniDB only runs with a client name set).",
    )

    # --- where ------------------------------------------------------------------------
    jikan_base_url: str = Field("https://api.jikan.moe/v4", description="Jikan v4 (MyAnimeList) API root.")
    anilist_url: str = Field("https://graphql.anilist.co", description="AniList GraphQL endpoint.")
    kitsu_base_url: str = Field("https://kitsu.app/api/edge", description="Kitsu JSON:API root.")
    anidb_base_url: str = Field("http://api.anidb.net:9001/httpapi", description="AniDB HTTP API endpoint.")
    animeschedule_base_url: str = Field("https://animeschedule.net/api/v3", description="AnimeSchedule v3 API root.")
    animeschedule_token: SecretStr | None = Field(None, description="AnimeSchedule application token (Bearer), if any.")
    anidb_client_name: str = Field("", description="Registered AniDB HTTP client name; empty skips AniDB.")
    anidb_client_version: int = Field(1, description="Registered AniDB HTTP client version.")
    tracemoe_url: str = Field("https://api.trace.moe", description="trace.moe API root (identify_scene).")
    tracemoe_key: SecretStr | None = Field(None, description="trace.moe API key (x-trace-key), if any.")
    live_apis_enabled: bool = Field(
        False,
        description="Let where_to_watch, airing_schedule, identify_scene and recommend_anime(from_list) call "
        "AniList, Kitsu and trace.moe; off: they answer from the index or say why not.",
    )
    user_agent: str = Field("anime-mcp/0.1 (+https://github.com/anime-mcp)", description="User-Agent of API calls.")

    # --- how fast ---------------------------------------------------------------------
    jikan_per_second: float = Field(3, description="Jikan requests per second (its documented limit: 3/s).")
    jikan_per_minute: float = Field(60, description="Jikan requests per minute (its documented limit: 60/min).")
    anilist_per_minute: float = Field(30, description="AniList requests per minute (also follows X-RateLimit-*).")
    kitsu_per_second: float = Field(4, description="Kitsu requests per second.")
    anidb_min_interval: float = Field(4.0, description="Seconds between two AniDB requests (AniDB bans flooders).")
    animeschedule_per_second: float = Field(2, description="AnimeSchedule requests per second.")
    source_concurrency: int = Field(2, ge=1, description="Requests in flight at once per source.")

    # --- failures ---------------------------------------------------------------------
    enrichment_timeout: float = Field(20.0, gt=0, description="Seconds per request (any source without its own).")
    source_timeouts: dict[str, float] = Field(
        default_factory=dict, description='Per-source request timeouts in seconds, e.g. {"anidb": 30} (JSON).'
    )
    max_retries: int = Field(3, ge=0, description="Retries of a request after 429, 5xx or a timeout.")
    backoff_base: float = Field(1.0, ge=0, description="First retry delay (s); doubles each retry, with jitter.")
    backoff_max: float = Field(30.0, ge=0, description="Longest retry delay in seconds.")
    retry_after_max: float = Field(60.0, ge=0, description="Longest Retry-After honoured; longer ones fail at once.")
    circuit_failure_threshold: int = Field(5, ge=1, description="Failed attempts in a row that open a circuit.")
    circuit_reset_seconds: float = Field(60.0, ge=0, description="Seconds an open circuit waits before one trial call.")

    # --- cache ------------------------------------------------------------------------
    cache_enabled: bool = Field(True, description="Keep API responses on disk.")
    cache_dir: Path = Field(Path(user_cache_dir("anime-mcp")) / "enrichment", description="Response cache folder.")
    cache_ttl_seconds: float = Field(7 * 24 * 3600, ge=0, description="Age after which a cached response is refetched.")

    # --- amount of work ---------------------------------------------------------------
    max_pages: int = Field(40, ge=1, description="Most pages followed per paginated list (a guard against loops).")
    jikan_episode_details_max: int = Field(
        30, ge=0, description="Episodes whose detail page (synopsis) is fetched from Jikan; 0 skips them."
    )
    enrichment_concurrency: int = Field(
        2,
        ge=1,
        description="Entries enriched at once by enrich_many and `anime-mcp enrich` (its --concurrency overrides it).",
    )
    skip_recent_days: float = Field(7.0, ge=0, description="Entries enriched this recently are skipped (resume).")
    max_concurrent_jobs: int = Field(2, ge=1, description="Enrichment jobs running at once in the server.")
    max_pending_jobs: int = Field(50, ge=1, description="Queued plus running jobs accepted before start() refuses.")
    job_ttl_seconds: float = Field(3600.0, ge=0, description="Finished jobs are forgotten after this many seconds.")

    @field_validator("enrichment_sources")
    @classmethod
    def _known_sources(cls, value: list[str]) -> list[str]:
        return check_sources(value)

    def timeout_for(self, source: str) -> float:
        return float(self.source_timeouts.get(source, self.enrichment_timeout))

    def default_sources(self) -> list[str]:
        """Configured sources that can run: AniDB needs a registered client name."""
        return [s for s in self.enrichment_sources if s != "anidb" or self.anidb_client_name]


def check_sources(sources: list[str] | tuple[str, ...]) -> list[str]:
    """Lower-cased, de-duplicated source names; an unknown name raises and lists the known ones."""
    out: list[str] = []
    for raw in sources:
        name = str(raw).strip().lower()
        if not name:
            continue
        if name not in ALL_SOURCES:
            raise ValueError(f"unknown enrichment source {raw!r}; choose from {', '.join(ALL_SOURCES)}")
        if name not in out:
            out.append(name)
    return out
