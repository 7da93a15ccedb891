"""Enrichment tools: start a background job that fills an entry from public anime sites,
then follow it. Only registered when the server runs with enrichment enabled."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from enrichment.settings import ALL_SOURCES
from tools.common import READ_ONLY, runtime, tool_errors
from tools.runtime_access import ServerContext, server_context
from tools.similar import AnimeRef

Source = Literal[ALL_SOURCES]  # type: ignore[valid-type]  # the source names, defined once in enrichment/settings.py
START = ToolAnnotations(read_only_hint=False, idempotent_hint=True, open_world_hint=True, destructive_hint=False)


class JobReport(BaseModel):
    job_id: str
    state: str = Field(description="queued, running, done or failed.")
    anime_id: str
    title: str
    sources: list[str]
    progress_done: int
    progress_total: int
    outcomes: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per source: status (ok, partial, stale, failed...), detail."
    )
    changed_fields: list[str] = Field(default_factory=list, description="Entry fields the enrichment changed.")
    error: str | None = None


def _report(status: Any) -> CallToolResult:
    data = status.to_dict()
    report = JobReport.model_validate({k: data.get(k) for k in JobReport.model_fields if k in data})
    text = (
        f"Enrichment job {report.job_id} for {report.title}: {report.state} "
        f"({report.progress_done}/{report.progress_total} sources)"
    )
    if report.changed_fields:
        text += f"; changed: {', '.join(report.changed_fields)}"
    if report.error:
        text += f"; error: {report.error}"
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=report.model_dump(mode="json")
    )


def _jobs(ctx: Context) -> ServerContext:
    """The server state, once the caller may use enrichment (both tools need the anime:admin scope)."""
    state = server_context(ctx)
    if state.enrichment is None:
        raise ToolError("Enrichment is not running on this server (start it with ANIME_MCP_ENRICHMENT_ENABLED=true).")
    if not state.is_admin(ctx):
        raise ToolError(
            "Enrichment needs the anime:admin scope: an admin token (ANIME_MCP_ADMIN_TOKENS) or an "
            "OAuth token granted anime:admin."
        )
    return state


def register(server: MCPServer) -> None:
    @server.tool(title="Enrich an anime from public sources", annotations=START)
    @tool_errors
    async def enrich_anime(
        anime: AnimeRef,
        ctx: Context,
        sources: Annotated[
            list[Source] | None,
            Field(
                max_length=5,
                description=(
                    "Sources to ask (default: all configured): jikan (MyAnimeList), anilist, kitsu, anidb, "
                    "animeschedule."
                ),
            ),
        ] = None,
        wait_seconds: Annotated[
            float,
            Field(
                ge=0,
                le=120,
                description=("Wait up to this long for the job, reporting progress; 0 returns the job id at once."),
            ),
        ] = 0,
    ) -> Annotated[CallToolResult, JobReport]:
        """Fill an anime's entry (synopsis, characters, staff, episodes, statistics) from public sites in the
        background, then re-index it. Returns a job id; follow it with enrichment_status."""
        state = _jobs(ctx)
        rt = await runtime(ctx)
        entry = await rt.engine.get_entry(anime)
        try:
            job_id = state.enrichment.start(entry, list(sources) if sources else None)
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        status = state.enrichment.status(job_id)
        if wait_seconds > 0:
            reported = -1  # progress must increase with each notification: only a change is reported, the end too
            with anyio.move_on_after(wait_seconds):
                while True:
                    if status.progress_done > reported:
                        reported = status.progress_done
                        await ctx.report_progress(
                            reported,
                            status.progress_total or None,
                            f"{status.state.value}: {reported} of {status.progress_total} sources done",
                        )
                    if status.finished:
                        break
                    await anyio.sleep(0.25)
                    status = state.enrichment.status(job_id)
        return _report(status)

    @server.tool(title="Enrichment job status", annotations=READ_ONLY)
    @tool_errors
    async def enrichment_status(
        job_id: Annotated[str, Field(min_length=1, max_length=100, description="The id enrich_anime returned.")],
        ctx: Context,
    ) -> Annotated[CallToolResult, JobReport]:
        """Progress of an enrichment job: state, per-source outcome, and the fields that changed."""
        state = _jobs(ctx)
        try:
            return _report(state.enrichment.status(job_id))
        except KeyError as exc:
            raise ToolError(f"{exc}. Job ids expire an hour after the job ends; start a new one.") from exc
