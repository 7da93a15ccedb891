"""Background enrichment jobs for the MCP tools (``enrich_anime`` / ``enrichment_status``).

Enriching one anime takes seconds to a minute (rate limits), far longer than a
tool call should block, so ``start`` returns a job id at once and the work runs
in a task group the server owns (``async with JobManager(...)`` in its lifespan).
A bounded number of jobs run at a time; the rest wait as ``queued``; finished
jobs are forgotten after ``job_ttl_seconds``. ``on_done(result)`` lets the
server re-index the enriched entry.

The CLI entry point lives in enrichment.command and is re-exported here.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import anyio
from anyio.abc import TaskGroup

from enrichment.command import EnrichSummary, run_enrich_cli, run_enrich_command
from enrichment.pipeline import Enricher, EnrichmentResult, SourceOutcome
from enrichment.settings import EnrichmentSettings
from index.errors import UserFacingError
from index.schema import AnimeEntry

log = logging.getLogger(__name__)

__all__ = [
    "JobManager",
    "JobState",
    "JobStatus",
    "JobError",
    "JobNotFoundError",
    "JobLimitError",
    "EnrichSummary",
    "run_enrich_command",
    "run_enrich_cli",
]


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobError(UserFacingError):
    """Base of job errors; the message says what to do."""


class JobNotFoundError(JobError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "job not found"


class JobLimitError(JobError):
    """Too many jobs queued or running."""


@dataclass
class JobStatus:
    job_id: str
    state: JobState
    anime_id: str
    title: str
    sources: list[str]
    progress_done: int = 0
    progress_total: int = 0
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_fields: list[str] = field(default_factory=list)
    error: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data


OnDone = Callable[[EnrichmentResult], Awaitable[None] | None]


@dataclass
class _Job:
    status: JobStatus
    entry: AnimeEntry
    sources: list[str] | None
    done: anyio.Event | None = None
    result: EnrichmentResult | None = None


class JobManager:
    """Runs enrichment jobs in the background; ``start`` never waits for the network."""

    def __init__(
        self,
        settings: EnrichmentSettings | None = None,
        *,
        enricher: Enricher | None = None,
        on_done: OnDone | None = None,
        max_concurrent: int | None = None,
        max_pending: int | None = None,
        ttl_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or (enricher.settings if enricher else EnrichmentSettings())
        self._own_enricher = enricher is None
        self.enricher = enricher or Enricher(self.settings)
        self.on_done = on_done
        self.max_concurrent = max_concurrent or self.settings.max_concurrent_jobs
        self.max_pending = max_pending or self.settings.max_pending_jobs
        self.ttl = self.settings.job_ttl_seconds if ttl_seconds is None else ttl_seconds
        self._clock = clock
        self._jobs: dict[str, _Job] = {}
        self._slots: anyio.Semaphore | None = None
        self._tg: TaskGroup | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> JobManager:
        if self._own_enricher:
            await self.enricher.__aenter__()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Shutting down cancels unfinished jobs (they are marked failed)."""
        tg, self._tg = self._tg, None
        if tg is not None:
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)
        for task in list(self._tasks):
            task.cancel()
        if self._own_enricher:
            await self.enricher.aclose()

    # ----- public API ----------------------------------------------------------------------
    def start(self, entry: AnimeEntry, sources: list[str] | None = None) -> str:
        """Queue a job and return its id at once; raises ValueError (bad source) or JobLimitError."""
        chosen = self.enricher.resolve_sources(sources)
        self._expire()
        active = sum(1 for j in self._jobs.values() if not j.status.finished)
        if active >= self.max_pending:
            raise JobLimitError(
                f"{active} enrichment jobs are already queued or running (limit {self.max_pending}); "
                "wait for some to finish and try again"
            )
        job_id = uuid.uuid4().hex[:12]
        status = JobStatus(
            job_id=job_id,
            state=JobState.QUEUED,
            anime_id=entry.id,
            title=entry.title,
            sources=chosen,
            progress_total=len(chosen),
            created_at=self._clock(),
        )
        job = _Job(status=status, entry=entry, sources=sources)
        self._jobs[job_id] = job
        if self._tg is not None:
            self._tg.start_soon(self._run, job)
        else:
            try:
                task = asyncio.get_running_loop().create_task(self._run(job))
            except RuntimeError:
                del self._jobs[job_id]
                raise JobError(
                    "JobManager.start needs a running event loop; use it inside `async with JobManager(...)`"
                ) from None
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        log.info("enrichment job %s queued for %r (%s)", job_id, entry.title, ", ".join(chosen))
        return job_id

    def status(self, job_id: str) -> JobStatus:
        """A snapshot of the job; unknown or expired ids raise JobNotFoundError."""
        self._expire()
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(
                f"no enrichment job {job_id!r}: the id is wrong or the job finished more than "
                f"{self.ttl:.0f}s ago and expired"
            )
        return JobStatus(
            **{
                **job.status.__dict__,
                "outcomes": dict(job.status.outcomes),
                "changed_fields": list(job.status.changed_fields),
            }
        )

    def jobs(self) -> list[JobStatus]:
        self._expire()
        return [self.status(job_id) for job_id in list(self._jobs)]

    def result(self, job_id: str) -> EnrichmentResult | None:
        """The enrichment result of a finished job (None while it runs)."""
        self.status(job_id)
        return self._jobs[job_id].result

    async def wait(self, job_id: str, timeout: float | None = None) -> JobStatus:
        """Wait for a job to finish (or ``timeout`` seconds) and return its status."""
        job = self._jobs.get(job_id)
        if job is None:
            return self.status(job_id)  # raises
        event = self._event(job)
        with anyio.move_on_after(timeout):
            await event.wait()
        return self.status(job_id)

    # ----- internals -----------------------------------------------------------------------
    def _event(self, job: _Job) -> anyio.Event:
        if job.done is None:
            job.done = anyio.Event()
            if job.status.finished:
                job.done.set()
        return job.done

    def _expire(self) -> None:
        now = self._clock()
        for job_id, job in list(self._jobs.items()):
            finished = job.status.finished_at
            if finished is not None and now - finished > self.ttl:
                del self._jobs[job_id]

    async def _run(self, job: _Job) -> None:
        status = job.status
        event = self._event(job)
        if self._slots is None:
            self._slots = anyio.Semaphore(self.max_concurrent)
        try:
            async with self._slots:
                status.state = JobState.RUNNING
                status.started_at = self._clock()

                def progress(outcome: SourceOutcome, done: int, total: int) -> None:
                    status.progress_done, status.progress_total = done, total
                    status.outcomes[outcome.source] = outcome.to_dict()

                result = await self.enricher.enrich(job.entry, job.sources, progress)
                job.result = result
                status.outcomes = {name: o.to_dict() for name, o in result.outcomes.items()}
                status.changed_fields = list(result.changed_fields)
                status.progress_done = status.progress_total
                if self.on_done is not None:
                    try:
                        outcome = self.on_done(result)
                        if inspect.isawaitable(outcome):
                            await outcome
                    except Exception as exc:
                        log.exception("on_done of enrichment job %s failed", status.job_id)
                        status.error = f"enriched, but saving the result failed: {type(exc).__name__}: {exc}"
                        status.state = JobState.FAILED
                        return
                status.state = JobState.DONE
        except anyio.get_cancelled_exc_class():
            status.state, status.error = JobState.FAILED, "cancelled: the server shut down"
            raise
        except Exception as exc:
            log.exception("enrichment job %s failed", status.job_id)
            status.state, status.error = JobState.FAILED, f"{type(exc).__name__}: {exc}"
        finally:
            status.finished_at = self._clock()
            event.set()
