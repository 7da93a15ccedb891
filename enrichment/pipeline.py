"""Enrich entries: fetch every source concurrently, parse, merge, report per source.

A source starts as soon as the ids it needs are known: Jikan, AniList and Kitsu
start from the MyAnimeList id; AniDB usually starts later, once Jikan's external
links (or AnimeSchedule's) revealed its id. A source that fails never costs the
others their data: its reason goes to ``outcomes`` and to the entry's
``enrichment_metadata.failures``.

Use ``async with Enricher(settings) as enricher`` to share one HTTP client (rate
limits, circuit breakers, cache) across many entries; the module-level
``enrich_entry``/``enrich_many`` make a temporary one when none is given.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx

from enrichment.http import HttpClient, NotFoundError, SourceError
from enrichment.ids import extract_ids
from enrichment.merge import merge_entry
from enrichment.settings import EnrichmentSettings, check_sources
from enrichment.sources import SPECS, FetchContext
from index.schema import AnimeEntry

log = logging.getLogger(__name__)

#: statuses of a SourceOutcome
OK, PARTIAL, STALE, FAILED, NOT_FOUND, SKIPPED = "ok", "partial", "stale", "failed", "not_found", "skipped"
_NEEDS_TEXT = {
    "mal": "MyAnimeList",
    "anilist": "AniList",
    "kitsu": "Kitsu",
    "anidb": "AniDB",
    "animeschedule": "AnimeSchedule",
}


@dataclass
class SourceOutcome:
    """What one source did for one entry."""

    source: str
    status: str  # ok | partial | stale | failed | not_found | skipped
    detail: str | None = None  # the reason, or the secondary requests that failed
    requests: int = 0  # sent over the network (0: everything came from the cache)
    from_cache: bool = False
    seconds: float = 0.0

    @property
    def usable(self) -> bool:
        return self.status in (OK, PARTIAL, STALE)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EnrichmentResult:
    entry: AnimeEntry
    outcomes: dict[str, SourceOutcome] = field(default_factory=dict)
    changed_fields: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0
    skipped: bool = False  # enrich_many left it alone (enriched recently)
    error: str | None = None  # set only when the entry as a whole could not be enriched
    base: AnimeEntry | None = field(default=None, repr=False)  # the entry as it was given

    @property
    def sources_used(self) -> list[str]:
        return [name for name, outcome in self.outcomes.items() if outcome.usable]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entry.id,
            "title": self.entry.title,
            "skipped": self.skipped,
            "error": self.error,
            "changed_fields": self.changed_fields,
            "duration_seconds": round(self.duration_seconds, 3),
            "sources": {name: o.to_dict() for name, o in self.outcomes.items()},
        }


Progress = Callable[[SourceOutcome, int, int], Any]


def changed_fields(before: AnimeEntry, after: AnimeEntry) -> list[str]:
    """Top-level fields whose values differ (enrichment_metadata, which always changes, left out)."""
    a = before.model_dump(mode="json")
    b = after.model_dump(mode="json")
    return [name for name in AnimeEntry.model_fields if name != "enrichment_metadata" and a.get(name) != b.get(name)]


def enriched_recently(entry: AnimeEntry, days: float, now: datetime | None = None) -> bool:
    """True when enrichment_metadata.enriched_at is younger than ``days`` (0 days: never)."""
    meta = entry.enrichment_metadata
    if days <= 0 or meta is None or not meta.enriched_at:
        return False
    try:
        when = datetime.fromisoformat(meta.enriched_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - when < timedelta(days=days)


async def _call(callback: Callable[..., Any] | None, *args: Any) -> None:
    if callback is None:
        return
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a broken progress display must not break enrichment
        log.exception("progress callback failed")


class Enricher:
    """Owns the shared HttpClient of an enrichment run."""

    def __init__(
        self,
        settings: EnrichmentSettings | None = None,
        *,
        http: HttpClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or EnrichmentSettings()
        self._own_http = http is None
        self.http = http or HttpClient(self.settings, transport=transport)

    async def __aenter__(self) -> Enricher:
        await self.http.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    def resolve_sources(self, sources: list[str] | None) -> list[str]:
        """Requested names checked, or the configured defaults; an unknown name raises ValueError."""
        names = check_sources(sources) if sources else self.settings.default_sources()
        if not names:
            raise ValueError("no enrichment source selected; choose from jikan, anilist, kitsu, anidb, animeschedule")
        return names

    async def enrich(
        self, entry: AnimeEntry, sources: list[str] | None = None, progress: Progress | None = None
    ) -> EnrichmentResult:
        """Fetch, parse and merge; never raises for a source's failure (see ``outcomes``)."""
        names = self.resolve_sources(sources)
        started = time.monotonic()
        ids = extract_ids(entry.sources)
        outcomes: dict[str, SourceOutcome] = {}
        partials: dict[str, dict[str, Any]] = {}
        pending = list(names)
        total = len(names)

        if "anidb" in pending and not self.settings.anidb_client_name:
            pending.remove("anidb")
            outcomes["anidb"] = SourceOutcome(
                "anidb",
                SKIPPED,
                "AniDB needs a registered client: set ANIME_MCP_ANIDB_CLIENT_NAME and ANIME_MCP_ANIDB_CLIENT_VERSION",
            )
            await _call(progress, outcomes["anidb"], len(outcomes), total)

        async with anyio.create_task_group() as tg:

            def launch_ready() -> None:
                for name in list(pending):
                    if SPECS[name].ready(ids):
                        pending.remove(name)
                        tg.start_soon(run, name)

            async def run(name: str) -> None:
                spec = SPECS[name]
                ctx = FetchContext(name, self.http, self.settings, dict(ids), entry)
                t0 = time.monotonic()
                try:
                    raw = await spec.fetch(ctx)
                    partial = spec.parse(raw)
                except NotFoundError as exc:
                    outcome = SourceOutcome(name, NOT_FOUND, exc.reason)
                except SourceError as exc:
                    outcome = SourceOutcome(name, FAILED, exc.reason)
                except Exception as exc:  # a parser bug or an unexpected shape: contain it to this source
                    log.exception("%s: unexpected error enriching %r", name, entry.title)
                    outcome = SourceOutcome(name, FAILED, f"{type(exc).__name__}: {exc}")
                else:
                    partials[name] = partial
                    status = STALE if ctx.stale else PARTIAL if ctx.warnings else OK
                    detail = (
                        "served from a stale cache: the source is failing"
                        if ctx.stale
                        else "; ".join(ctx.warnings) or None
                    )
                    outcome = SourceOutcome(name, status, detail)
                    found = extract_ids(
                        list(partial.get("sources") or []) + list((partial.get("external_links") or {}).values())
                    )
                    for key, value in found.items():
                        ids.setdefault(key, value)
                outcome.requests = ctx.requests
                outcome.from_cache = ctx.from_cache
                outcome.seconds = round(time.monotonic() - t0, 3)
                outcomes[name] = outcome
                await _call(progress, outcome, len(outcomes), total)
                launch_ready()

            launch_ready()

        for name in pending:
            needs = " or ".join(_NEEDS_TEXT.get(k, k) for k in SPECS[name].needs)
            outcomes[name] = SourceOutcome(name, SKIPPED, f"no {needs} id among the entry's sources")
            await _call(progress, outcomes[name], len(outcomes), total)

        ordered = {name: outcomes[name] for name in names if name in outcomes}
        failures = {
            name: f"{o.status}: {o.detail}" if o.detail else o.status for name, o in ordered.items() if not o.usable
        }
        merged = merge_entry(entry, partials, failures=failures)
        duration = time.monotonic() - started
        if merged.enrichment_metadata is not None:  # fetching and merging, as a user waits for both
            merged.enrichment_metadata.duration_seconds = round(duration, 3)
        return EnrichmentResult(
            entry=merged,
            outcomes=ordered,
            changed_fields=changed_fields(entry, merged),
            duration_seconds=duration,
            base=entry,
        )

    async def enrich_many(
        self,
        entries: Iterable[AnimeEntry] | AsyncIterable[AnimeEntry],
        sources: list[str] | None = None,
        concurrency: int | None = None,
        skip_recent_days: float | None = None,
    ) -> AsyncIterator[EnrichmentResult]:
        """Results as they complete (not in input order); recently enriched entries come back ``skipped``."""
        self.resolve_sources(sources)  # fail before any work on a bad source name
        limit = max(1, concurrency or self.settings.enrichment_concurrency)
        days = self.settings.skip_recent_days if skip_recent_days is None else skip_recent_days
        send, receive = anyio.create_memory_object_stream[EnrichmentResult](limit)

        async def worker(entry: AnimeEntry, out: Any, slots: anyio.Semaphore) -> None:
            async with out:
                try:
                    result = await self.enrich(entry, sources)
                except Exception as exc:  # merge/validation bug: report it on this entry, go on with the rest
                    log.exception("enriching %r failed", entry.title)
                    result = EnrichmentResult(entry=entry, error=f"{type(exc).__name__}: {exc}", base=entry)
                finally:
                    slots.release()
                await out.send(result)

        async def produce() -> None:
            slots = anyio.Semaphore(limit)
            async with send, anyio.create_task_group() as workers:
                async for entry in _aiter(entries):
                    if enriched_recently(entry, days):
                        await send.send(EnrichmentResult(entry=entry, skipped=True, base=entry))
                        continue
                    await slots.acquire()
                    workers.start_soon(worker, entry, send.clone(), slots)

        async with anyio.create_task_group() as tg:
            tg.start_soon(produce)
            async with receive:
                async for result in receive:
                    yield result


async def _aiter(entries: Iterable[AnimeEntry] | AsyncIterable[AnimeEntry]) -> AsyncIterator[AnimeEntry]:
    if isinstance(entries, AsyncIterable):
        async for entry in entries:
            yield entry
    else:
        for entry in entries:
            yield entry


async def enrich_entry(
    entry: AnimeEntry,
    sources: list[str] | None = None,
    progress: Progress | None = None,
    *,
    settings: EnrichmentSettings | None = None,
    enricher: Enricher | None = None,
) -> EnrichmentResult:
    """Enrich one entry; pass ``enricher`` to share rate limits, breakers and the cache across calls."""
    if enricher is not None:
        return await enricher.enrich(entry, sources, progress)
    async with Enricher(settings) as own:
        return await own.enrich(entry, sources, progress)


async def enrich_many(
    entries: Iterable[AnimeEntry] | AsyncIterable[AnimeEntry],
    sources: list[str] | None = None,
    concurrency: int | None = None,
    skip_recent_days: float | None = None,
    *,
    settings: EnrichmentSettings | None = None,
    enricher: Enricher | None = None,
) -> AsyncIterator[EnrichmentResult]:
    """Enrich many entries, ``concurrency`` at a time, skipping recently enriched ones (resumable)."""
    if enricher is not None:
        async for result in enricher.enrich_many(entries, sources, concurrency, skip_recent_days):
            yield result
        return
    async with Enricher(settings) as own:
        async for result in own.enrich_many(entries, sources, concurrency, skip_recent_days):
            yield result
