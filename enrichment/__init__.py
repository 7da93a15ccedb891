"""Enrichment: fill anime entries from public sources (Jikan, AniList, Kitsu, AniDB, AnimeSchedule).

Entry points (imported lazily, so ``import enrichment.settings`` stays cheap):

- ``enrich_entry(entry, sources=None, progress=None)`` / ``enrich_many(...)`` (enrichment.pipeline)
- ``Enricher``: shares one HTTP client (rate limits, circuit breakers, cache) across calls
- ``JobManager``: background jobs for the MCP tools (enrichment.jobs)
- ``run_enrich_command(...)``: the ``anime-mcp enrich`` command (enrichment.command)
- ``merge_entry(base, partials)``: the deterministic merge (enrichment.merge)
- ``EnrichmentSettings``: every setting, env prefix ``ANIME_MCP_`` (enrichment.settings)

No language model is involved anywhere: parsing and merging are plain rules.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "enrich_entry": "enrichment.pipeline",
    "enrich_many": "enrichment.pipeline",
    "Enricher": "enrichment.pipeline",
    "EnrichmentResult": "enrichment.pipeline",
    "SourceOutcome": "enrichment.pipeline",
    "JobManager": "enrichment.jobs",
    "JobStatus": "enrichment.jobs",
    "JobState": "enrichment.jobs",
    "run_enrich_command": "enrichment.command",
    "run_enrich_cli": "enrichment.command",
    "EnrichSummary": "enrichment.command",
    "merge_entry": "enrichment.merge",
    "EnrichmentSettings": "enrichment.settings",
    "extract_ids": "enrichment.ids",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'enrichment' has no attribute {name!r}")
    return getattr(import_module(module), name)
