"""The ``anime-mcp enrich`` command: enrich a file or a list of ids into an enveloped JSON file.

Resumable: entries already in the output file and enriched within
``skip_recent_days`` are kept as they are, and the output is rewritten
(atomically) every ``checkpoint_every`` entries, so an interrupted run loses at
most that much work. Progress goes to stderr (tqdm); stdout stays clean.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from tqdm import tqdm

from enrichment.ids import PLATFORM_KEYS, platform_of, platform_url
from enrichment.pipeline import Enricher, EnrichmentResult
from enrichment.settings import EnrichmentSettings
from index.importers import iter_entries  # the project's reader of every supported file dialect
from index.schema import AnimeEntry

log = logging.getLogger(__name__)


@dataclass
class EnrichSummary:
    total: int = 0  # entries in the output
    enriched: int = 0  # got data from at least one source
    skipped: int = 0  # enriched recently (resume)
    failed: int = 0  # no source gave anything, or the entry errored
    unreadable: int = 0  # entries of the input file that could not be read
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> {status: count}
    output: Path | None = None
    duration_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["output"] = str(self.output) if self.output else None
        return data


def entry_from_id(text: str) -> AnimeEntry:
    """A minimal entry from "1", "mal-1", "anilist-21" or a page URL; enrichment fills the rest."""
    value = str(text).strip()
    if not value:
        raise ValueError("empty anime id")
    if value.isdigit():
        key, ident = "mal", value
    elif (found := platform_of(value)) is not None:
        key, ident = found
    else:
        match = re.match(rf"^({'|'.join(PLATFORM_KEYS)})[-:](\S+)$", value, re.IGNORECASE)
        if not match:
            raise ValueError(
                f"cannot read an anime id from {value!r}: use a MyAnimeList id such as 1 or mal-1, "
                "another platform's id such as anilist-21, or a page URL"
            )
        key, ident = match.group(1).lower(), match.group(2)
    anime_id = f"{key}-{ident}"
    return AnimeEntry(id=anime_id, title=anime_id, sources=[platform_url(key, ident)])


def _key(entry: AnimeEntry) -> str:
    return entry.id or (entry.sources[0] if entry.sources else entry.title)


def _read(path: Path, summary: EnrichSummary | None = None) -> list[AnimeEntry]:
    out: list[AnimeEntry] = []
    for item in iter_entries(path):
        if item.entry is not None:
            out.append(item.entry)
        elif summary is not None:
            summary.unreadable += 1
            summary.errors.append(item.error or f"entry #{item.index} unreadable")
    return out


def _select(entries: list[AnimeEntry], ids: list[str]) -> list[AnimeEntry]:
    """The file's entries named by ``ids`` (by entry id or any platform URL); unknown ids get minimal entries."""
    wanted = [entry_from_id(i) for i in ids]
    chosen: list[AnimeEntry] = []
    for want in wanted:
        want_url = platform_of(want.sources[0])
        match = next(
            (e for e in entries if e.id == want.id or (want_url and want_url in {platform_of(s) for s in e.sources})),
            None,
        )
        if match is None:
            log.info("%s is not in the input file; starting from its id alone", want.id)
        chosen.append(match or want)
    return chosen


def write_envelope(path: Path, entries: list[AnimeEntry]) -> None:
    """``{"lastUpdate": ..., "data": [...]}``, written to a temp file and renamed (never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "lastUpdate": datetime.now(UTC).strftime("%Y-%m-%d"),
        "data": [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in entries],
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def run_enrich_command(
    ids: list[str] | None,
    file: Path | None,
    sources: list[str] | None,
    concurrency: int | None,
    output: Path,
    *,
    settings: EnrichmentSettings | None = None,
    enricher: Enricher | None = None,
    skip_recent_days: float | None = None,
    show_progress: bool = True,
    checkpoint_every: int = 10,
) -> EnrichSummary:
    """Enrich ``ids`` and/or the entries of ``file`` into ``output``; see the module docstring.
    ``concurrency`` None uses ``settings.enrichment_concurrency`` (ANIME_MCP_ENRICHMENT_CONCURRENCY)."""
    started = time.monotonic()
    settings = settings or (enricher.settings if enricher else EnrichmentSettings())
    if concurrency is None:
        concurrency = settings.enrichment_concurrency
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
    summary = EnrichSummary(output=Path(output))
    if not ids and file is None:
        raise ValueError("nothing to enrich: give --ids (MyAnimeList ids such as 1 or mal-1) or --file PATH")
    if file is not None and not Path(file).is_file():
        raise ValueError(f"input file {file} does not exist")
    entries = _read(Path(file), summary) if file is not None else []
    if ids:
        entries = _select(entries, ids)
    if not entries:
        raise ValueError(f"no readable entries in {file}" + (f" ({summary.errors[0]})" if summary.errors else ""))

    # resume: what an earlier run already wrote replaces the input entry (and is skipped if recent)
    previous = {_key(e): e for e in _read(Path(output))} if Path(output).is_file() else {}
    entries = [previous.get(_key(e), e) for e in entries]
    position = {id(e): i for i, e in enumerate(entries)}
    current = list(entries)
    per_source: dict[str, Counter[str]] = {}
    done_since_checkpoint = 0

    own = enricher is None
    runner = enricher or Enricher(settings)
    bar = tqdm(total=len(entries), file=sys.stderr, unit="anime", desc="enrich", disable=not show_progress)
    try:
        if own:
            await runner.__aenter__()
        async for result in runner.enrich_many(entries, sources, concurrency, skip_recent_days):
            _count(result, summary, per_source)
            current[position[id(result.base)]] = result.entry
            bar.update(1)
            bar.set_postfix_str(result.entry.title[:30])
            done_since_checkpoint += 1
            if done_since_checkpoint >= max(1, checkpoint_every):
                write_envelope(Path(output), current)
                done_since_checkpoint = 0
    finally:
        bar.close()
        if own:
            await runner.aclose()
        write_envelope(Path(output), current)  # also after an interruption: keep what was done
    summary.total = len(current)
    summary.per_source = {name: dict(counts) for name, counts in sorted(per_source.items())}
    summary.duration_seconds = round(time.monotonic() - started, 3)
    log.info(
        "enriched %d, skipped %d, failed %d of %d entries into %s",
        summary.enriched,
        summary.skipped,
        summary.failed,
        summary.total,
        output,
    )
    return summary


def _count(result: EnrichmentResult, summary: EnrichSummary, per_source: dict[str, Counter[str]]) -> None:
    if result.skipped:
        summary.skipped += 1
        return
    for name, outcome in result.outcomes.items():
        per_source.setdefault(name, Counter())[outcome.status] += 1
    if result.error or not result.sources_used:
        summary.failed += 1
        reasons = result.error or "; ".join(f"{n}: {o.detail or o.status}" for n, o in result.outcomes.items())
        summary.errors.append(f"{result.entry.title}: {reasons}")
    else:
        summary.enriched += 1


def run_enrich_cli(
    ids: list[str] | None = None,
    file: Path | None = None,
    sources: list[str] | None = None,
    concurrency: int | None = None,
    output: Path = Path("enriched.json"),
    **kwargs: Any,
) -> EnrichSummary:
    """Synchronous wrapper for a CLI: runs ``run_enrich_command`` in a fresh event loop."""
    return anyio.run(functools.partial(run_enrich_command, ids, file, sources, concurrency, output, **kwargs))
