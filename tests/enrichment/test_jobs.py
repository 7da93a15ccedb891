"""Background jobs (what the MCP tools call) and the `anime-mcp enrich` command function."""

from __future__ import annotations

import json
import time

import anyio
import pytest

from enrichment.command import entry_from_id
from enrichment.jobs import JobLimitError, JobManager, JobNotFoundError, JobState, run_enrich_command
from index.schema import AnimeEntry

pytestmark = pytest.mark.anyio

BEBOP = AnimeEntry(id="mal-1", title="Cowboy Bebop", sources=["https://myanimelist.net/anime/1"])


async def test_start_returns_at_once_and_the_job_completes(sources, tmp_path):
    sources.fail("animeschedule", "slow", delay=0.3)
    done = []

    async def on_done(result):
        done.append(result)

    async with JobManager(sources.settings(tmp_path), on_done=on_done) as jobs:
        started = time.monotonic()
        job_id = jobs.start(BEBOP, ["jikan", "animeschedule"])
        assert time.monotonic() - started < 0.05
        assert jobs.status(job_id).state in (JobState.QUEUED, JobState.RUNNING)
        status = await jobs.wait(job_id, timeout=10)
    assert status.state == JobState.DONE and status.error is None
    assert (status.progress_done, status.progress_total) == (2, 2)
    assert set(status.outcomes) == {"jikan", "animeschedule"} and status.outcomes["jikan"]["status"] == "ok"
    assert "synopsis" in status.changed_fields
    assert len(done) == 1 and done[0].entry.synopsis.startswith("Crime is timeless.")
    assert status.to_dict()["state"] == "done"


async def test_jobs_beyond_the_concurrency_bound_wait_queued(sources, tmp_path):
    sources.fail("animeschedule", "slow", delay=0.4)
    async with JobManager(sources.settings(tmp_path), max_concurrent=1) as jobs:
        first = jobs.start(BEBOP, ["animeschedule"])
        second = jobs.start(BEBOP, ["animeschedule"])
        await anyio.sleep(0.15)
        assert jobs.status(first).state == JobState.RUNNING
        assert jobs.status(second).state == JobState.QUEUED
        assert (await jobs.wait(second, timeout=10)).state == JobState.DONE
        assert jobs.status(first).finished_at <= jobs.status(second).started_at


async def test_too_many_pending_jobs_are_refused(sources, tmp_path):
    sources.fail("animeschedule", "slow", delay=0.3)
    async with JobManager(sources.settings(tmp_path), max_concurrent=1, max_pending=2) as jobs:
        jobs.start(BEBOP, ["animeschedule"])
        jobs.start(BEBOP, ["animeschedule"])
        with pytest.raises(JobLimitError, match="limit 2"):
            jobs.start(BEBOP, ["animeschedule"])
        with pytest.raises(ValueError, match="unknown enrichment source"):
            jobs.start(BEBOP, ["nope"])


async def test_finished_jobs_expire(sources, tmp_path):
    now = [1000.0]
    async with JobManager(sources.settings(tmp_path), ttl_seconds=60, clock=lambda: now[0]) as jobs:
        job_id = jobs.start(BEBOP, ["animeschedule"])
        await jobs.wait(job_id, timeout=10)
        now[0] += 30
        assert jobs.status(job_id).state == JobState.DONE
        now[0] += 31
        with pytest.raises(JobNotFoundError, match="expired"):
            jobs.status(job_id)
        assert jobs.jobs() == []


async def test_a_failing_on_done_marks_the_job_failed(sources, tmp_path):
    def on_done(result):
        raise RuntimeError("index is read-only")

    async with JobManager(sources.settings(tmp_path), on_done=on_done) as jobs:
        status = await jobs.wait(jobs.start(BEBOP, ["animeschedule"]), timeout=10)
        assert status.state == JobState.FAILED and "index is read-only" in status.error
        assert jobs.result(status.job_id).entry.synopsis  # the enrichment itself is not lost


async def test_unknown_job_id():
    async with JobManager() as jobs:
        with pytest.raises(JobNotFoundError, match="no enrichment job 'nope'"):
            jobs.status("nope")


def test_entries_from_ids():
    assert entry_from_id("1").sources == ["https://myanimelist.net/anime/1"]
    assert entry_from_id("mal-5").id == "mal-5"
    assert entry_from_id("anilist-21").sources == ["https://anilist.co/anime/21"]
    assert entry_from_id("https://kitsu.io/anime/1").id == "kitsu-1"
    with pytest.raises(ValueError, match="MyAnimeList id such as 1"):
        entry_from_id("cowboy bebop")


async def test_enrich_command_from_ids_writes_an_envelope_and_resumes(sources, tmp_path):
    settings = sources.settings(tmp_path / "cache")
    output = tmp_path / "out" / "enriched.json"
    summary = await run_enrich_command(
        ["1", "999"], None, ["jikan", "animeschedule"], 2, output, settings=settings, show_progress=False
    )
    assert (summary.total, summary.enriched, summary.failed, summary.skipped) == (2, 1, 1, 0)
    assert summary.per_source["jikan"] == {"ok": 1, "not_found": 1}
    data = json.loads(output.read_text())["data"]
    assert [d["id"] for d in data] == ["mal-1", "mal-999"]  # input order
    assert data[0]["title"] == "Cowboy Bebop" and data[0]["synopsis"].startswith("Crime is timeless.")
    assert data[1]["title"] == "mal-999"
    sources.reset_log()
    again = await run_enrich_command(
        ["1", "999"], None, ["jikan", "animeschedule"], 2, output, settings=settings, show_progress=False
    )
    assert again.skipped == 2 and again.enriched == 0
    assert sources.requests() == []  # resumed: nothing refetched


async def test_enrich_command_from_a_file(sources, tmp_path):
    source = tmp_path / "in.json"
    source.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "id": "mal-1",
                        "title": "Cowboy Bebop",
                        "type": "TV",
                        "sources": ["https://myanimelist.net/anime/1"],
                        "genres": ["Action"],
                    },
                    {"id": "x-2", "title": "No Sources Known", "sources": ["https://example.org/anime/2"]},
                    {"title": "", "sources": []},
                ]
            }
        )
    )
    output = tmp_path / "out.json"
    summary = await run_enrich_command(
        None, source, ["jikan"], 1, output, settings=sources.settings(tmp_path / "cache"), show_progress=False
    )
    assert summary.unreadable == 1 and summary.total == 2 and summary.enriched == 1
    data = json.loads(output.read_text())["data"]
    assert data[0]["episodes"] == 26 and "Action" in data[0]["genres"]
    assert data[1]["title"] == "No Sources Known"
    only = await run_enrich_command(
        ["mal-1"],
        source,
        ["jikan"],
        1,
        tmp_path / "one.json",
        settings=sources.settings(tmp_path / "cache"),
        show_progress=False,
    )
    assert only.total == 1


async def test_enrich_command_needs_ids_or_a_file(tmp_path):
    with pytest.raises(ValueError, match="give --ids"):
        await run_enrich_command(None, None, None, 1, tmp_path / "o.json", show_progress=False)
    with pytest.raises(ValueError, match="does not exist"):
        await run_enrich_command(None, tmp_path / "missing.json", None, 1, tmp_path / "o.json", show_progress=False)


async def test_jobs_run_without_the_context_manager_too(sources, tmp_path):
    jobs = JobManager(sources.settings(tmp_path))
    status = await jobs.wait(jobs.start(BEBOP, ["animeschedule"]), timeout=10)
    assert status.state == JobState.DONE
    await jobs.enricher.aclose()


async def test_shutdown_cancels_running_jobs(sources, tmp_path):
    sources.fail("animeschedule", "slow", delay=1.0)
    async with JobManager(sources.settings(tmp_path)) as jobs:
        job_id = jobs.start(BEBOP, ["animeschedule"])
        await anyio.sleep(0.1)
    status = jobs.status(job_id)
    assert status.state == JobState.FAILED and "shut down" in status.error
