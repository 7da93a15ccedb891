"""Ingestion: entries -> texts -> vectors -> Qdrant points, idempotent and resumable.

- Point ids are uuid5 of entry ids, so re-running upserts the same points.
- Each point stores the hash of its entry and of every text it was embedded from: an
  unchanged entry is skipped, a changed one re-embeds only the vectors whose text changed.
- Batches are written as they complete (vectors first, payload with the new hash last),
  so a run killed halfway leaves a valid index and the next run finishes the rest.
- A bad entry is reported and skipped; nothing already indexed is touched by a failure.
- Updates in place: an entry already stored keeps the fields the new file lacks (index.stored_merge;
  ``merge=False`` replaces it), keeps its id when its sources gained a site (index.identity), and
  ``prune=True`` deletes the entries the files no longer hold.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import models

from index.embedding.image_encoder import entry_vector
from index.embedding.module import EmbeddingModule
from index.identity import content_hash, entry_id, id_candidates, point_id, text_hash
from index.importers import iter_entries
from index.payload import build_payload
from index.payload_fields import ENTRY_KEY, TEXT_HASHES_KEY
from index.schema import AnimeEntry
from index.storage.base import VectorStore
from index.storage.lexical import lexical_document
from index.stored_merge import merge_with_stored
from index.texts import image_sources, lexical_text, vector_texts
from index.vectors import IMAGE, LEXICAL

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
PRUNE_PAGE = 1024  # point ids read (and deleted) per request while pruning


@dataclass
class IngestSummary:
    read: int = 0
    indexed: int = 0  # new points
    updated: int = 0  # existing points whose content changed
    unchanged: int = 0  # skipped by content hash
    pruned: int = 0  # points deleted because the files no longer hold them (prune=True)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (entry label, reason)
    vectors_embedded: int = 0
    images_embedded: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.read / self.seconds if self.seconds else 0.0
        # "updated" counts changed entries; tests and scripts read this wording, so it stays
        return (
            f"read {self.read}, indexed {self.indexed} new, updated {self.updated}, "
            f"skipped {self.unchanged} unchanged, failed {len(self.failed)}, pruned {self.pruned} "
            f"({self.vectors_embedded} texts, {self.images_embedded} images embedded; "
            f"{self.seconds:.1f}s, {rate:.1f} entries/s)"
        )


@dataclass
class _Plan:
    entry: AnimeEntry
    pid: str
    chash: str
    payload: dict[str, Any]
    texts: dict[str, str]  # texts to (re-)embed
    hashes: dict[str, str]  # all current text hashes (incl. image marker)
    removed: list[str]  # vectors that must disappear
    exists: bool
    image_urls: list[str]
    needs_image: bool
    vectors: dict[str, Any] = field(default_factory=dict)


class Ingestor:
    def __init__(
        self,
        store: VectorStore,
        embedder: EmbeddingModule,
        image_fetcher: Any = None,
        batch_size: int = 64,
        fetch_images: bool = True,
        merge: bool = True,
    ):
        self.store = store
        self.embedder = embedder
        self.image_fetcher = image_fetcher
        self.batch_size = max(1, batch_size)
        self.fetch_images = fetch_images and image_fetcher is not None
        self.merge = merge
        self._seen: set[str] = set()  # point ids this run wrote, skipped or must not prune

    async def ingest_paths(
        self, paths: Iterable[Path], progress: Progress | None = None, *, prune: bool = False
    ) -> IngestSummary:
        """Index every entry of ``paths``; with ``prune``, then delete every point they do not hold."""
        summary = IngestSummary()
        start = time.perf_counter()
        self._seen = set()
        for path in paths:
            await self._ingest(_results_of(Path(path), summary, self._seen), summary, progress)
        if prune:
            summary.pruned = await self._prune(summary)
        summary.seconds = time.perf_counter() - start
        return summary

    async def ingest_entries(self, entries: Iterable[AnimeEntry], progress: Progress | None = None) -> IngestSummary:
        summary = IngestSummary()
        start = time.perf_counter()
        self._seen = set()

        async def gen() -> AsyncIterator[AnimeEntry]:
            for e in entries:
                summary.read += 1
                yield e

        await self._ingest(gen(), summary, progress)
        summary.seconds = time.perf_counter() - start
        return summary

    async def _ingest(
        self, entries: AsyncIterator[AnimeEntry], summary: IngestSummary, progress: Progress | None
    ) -> None:
        batch: list[AnimeEntry] = []
        async for entry in entries:
            batch.append(entry)
            if len(batch) >= self.batch_size:
                await self._batch(batch, summary, progress)
                batch = []
        if batch:
            await self._batch(batch, summary, progress)

    # ----- one batch --------------------------------------------------------------------------
    async def _batch(self, batch: list[AnimeEntry], summary: IngestSummary, progress: Progress | None) -> None:
        plans: dict[str, _Plan] = {}
        candidates = [_candidates(e) for e in batch]
        existing = await self._existing([point_id(c) for ids in candidates for c in ids])
        for entry, ids in zip(batch, candidates, strict=True):
            entry.id = self._resolve_id(ids, existing)
            self._seen.add(point_id(entry.id))
        stored = await self._stored_entries(batch, existing)
        for entry in batch:
            try:
                if entry.id in stored:
                    entry = merge_with_stored(entry, stored[entry.id])
                plan = self._plan(entry, existing)
            except Exception as exc:  # one bad entry never stops the run
                summary.failed.append((entry.id or entry.title, f"{type(exc).__name__}: {exc}"))
                continue
            if plan is None:
                summary.unchanged += 1
            else:
                plans[plan.pid] = plan  # a duplicate id later in the batch wins
        todo = list(plans.values())
        if todo:
            await self._embed(todo, summary)
            await self._write(todo)
            for p in todo:
                if p.exists:
                    summary.updated += 1
                else:
                    summary.indexed += 1
        if progress:
            progress(len(batch))

    async def _existing(self, pids: list[str]) -> dict[str, dict[str, Any]]:
        records = await self.store.retrieve(list(dict.fromkeys(pids)), with_payload=["content_hash", TEXT_HASHES_KEY])
        return {str(r.id): r.payload or {} for r in records}

    def _resolve_id(self, candidates: list[str], existing: dict[str, dict[str, Any]]) -> str:
        """The entry's own (derived) id, unless only another id its sources name is stored already:
        then that one, so an entry whose sources gained a site stays on its point (index.identity)."""
        own = candidates[0]
        if point_id(own) in existing:
            return own
        for other in candidates[1:]:
            pid = point_id(other)
            if pid in existing and pid not in self._seen:  # not claimed by another entry of this run
                return other
        return own

    async def _stored_entries(self, batch: list[AnimeEntry], existing: dict[str, dict[str, Any]]) -> dict[str, dict]:
        """Stored entries to merge with (entry id -> JSON), read only for entries whose content differs."""
        if not self.merge:
            return {}
        wanted = {
            point_id(e.id): e.id
            for e in batch
            if (old := existing.get(point_id(e.id))) is not None and old.get("content_hash") != content_hash(e)
        }
        if not wanted:
            return {}
        records = await self.store.retrieve(list(wanted), with_payload=[ENTRY_KEY])
        return {wanted[str(r.id)]: (r.payload or {}).get(ENTRY_KEY) or {} for r in records}

    async def _prune(self, summary: IngestSummary) -> int:
        """Delete the points this run neither read nor must keep; refuses when the run read nothing."""
        if summary.read == 0:
            log.warning("prune skipped: the files held no entries (that would empty the index)")
            return 0
        doomed: list[str] = []
        offset: str | None = None
        while True:
            records, offset = await self.store.scroll(limit=PRUNE_PAGE, offset=offset, with_payload=False)
            doomed += [str(r.id) for r in records if str(r.id) not in self._seen]
            if offset is None:
                break
        for start in range(0, len(doomed), PRUNE_PAGE):
            await self.store.delete(doomed[start : start + PRUNE_PAGE])
        if doomed:
            log.info("pruned %d entries the files no longer hold", len(doomed))
        return len(doomed)

    def _image_marker(self, urls: list[str]) -> str | None:
        """Hash of the image set and image model; None when no image vector can be made now."""
        if not urls or not self.embedder.image_available or not self.fetch_images:
            return None
        return text_hash("\n".join(urls) + "|" + str(self.embedder.image_model_name))

    def _plan(self, entry: AnimeEntry, existing: dict[str, dict[str, Any]]) -> _Plan | None:
        entry.id = entry_id(entry)
        pid = point_id(entry.id)
        chash = content_hash(entry)
        old = existing.get(pid)
        old_hashes: dict[str, str] = (old or {}).get(TEXT_HASHES_KEY) or {}
        texts = vector_texts(entry)
        hashes = {name: text_hash(text) for name, text in texts.items()}
        urls = image_sources(entry)
        marker = self._image_marker(urls)
        needs_image = marker is not None and old_hashes.get(IMAGE) != marker
        if old is not None and old.get("content_hash") == chash and not needs_image:
            return None
        if marker is not None:
            hashes[IMAGE] = marker
        elif IMAGE in old_hashes and urls and not self.embedder.image_available:
            hashes[IMAGE] = old_hashes[IMAGE]  # keep the old picture vector while images are off
        changed = {n: t for n, t in texts.items() if old_hashes.get(n) != hashes[n]}
        removed = [n for n in old_hashes if n not in hashes]
        payload = build_payload(entry)
        payload["content_hash"] = chash
        payload[TEXT_HASHES_KEY] = hashes
        return _Plan(entry, pid, chash, payload, changed, hashes, removed, old is not None, urls, needs_image)

    async def _embed(self, plans: list[_Plan], summary: IngestSummary) -> None:
        flat = [(p, name, text) for p in plans for name, text in p.texts.items()]
        if flat:
            vectors = await self.embedder.aembed_documents([t for _, _, t in flat])
            for (plan, name, _), vec in zip(flat, vectors, strict=True):
                plan.vectors[name] = vec.tolist()
            summary.vectors_embedded += len(flat)
        for plan in plans:
            plan.vectors[LEXICAL] = lexical_document(lexical_text(plan.entry))
        todo = [plan for plan in plans if plan.needs_image]
        # the whole batch at once: downloads run image_fetch_concurrency at a time across entries, and the
        # image model gets full batches, in a worker thread (a server indexing on start shares this event loop)
        fetched = await self.image_fetcher.fetch_many([url for plan in todo for url in plan.image_urls]) if todo else []
        pictures = [img for img in fetched if img is not None]
        image_vectors = iter(await self.embedder.aembed_images(pictures) if pictures else [])
        got = iter(fetched)
        for plan in todo:
            arrived = [img is not None for img in itertools.islice(got, len(plan.image_urls))]
            if not all(arrived):
                plan.hashes.pop(IMAGE, None)  # no marker: the next run fetches the missing pictures again
            vec = entry_vector(np.stack([next(image_vectors) for _ in range(sum(arrived))])) if any(arrived) else None
            if vec is not None:
                plan.vectors[IMAGE] = vec.tolist()
                summary.images_embedded += sum(arrived)
            elif plan.exists:
                plan.removed.append(IMAGE)

    async def _write(self, plans: list[_Plan]) -> None:
        new = [models.PointStruct(id=p.pid, vector=p.vectors, payload=p.payload) for p in plans if not p.exists]
        if new:
            await self.store.upsert(new)
        stored = [p for p in plans if p.exists]
        await self.store.update_vectors([models.PointVectors(id=p.pid, vector=p.vectors) for p in stored if p.vectors])
        for p in stored:
            removed = [n for n in dict.fromkeys(p.removed) if n not in p.vectors]
            if removed:
                await self.store.delete_vectors([p.pid], removed)
        # Last, in one write: the new content hash marks a point done, so a run killed before it redoes the batch.
        await self.store.set_payloads({p.pid: p.payload for p in stored})


def _candidates(entry: AnimeEntry) -> list[str]:
    try:
        return id_candidates(entry)
    except ValueError:  # neither id nor sources: _plan reports it as failed
        return [entry.id or entry.title]


async def _results_of(path: Path, summary: IngestSummary, keep: set[str]) -> AsyncIterator[AnimeEntry]:
    """Valid entries of a file; a rejected one is counted, and the ids it may have are kept from pruning."""
    for result in iter_entries(path):
        summary.read += 1
        if result.entry is None:
            summary.failed.append((result.label, result.error or "invalid entry"))
            keep.update(point_id(i) for i in result.id_hints)
            continue
        yield result.entry
