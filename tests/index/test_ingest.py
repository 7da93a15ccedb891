"""Updates in place: indexing a newer catalogue release re-embeds only what changed, prunes what vanished,
keeps ids when sources gain a site, and keeps the fields enrichment added (unless asked to replace)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.index_fixtures import ENRICHED_FILE

pytestmark = pytest.mark.anyio


def _offline(title: str, mal: int | None, anilist: int, **extra) -> dict:
    """One anime-offline-database entry (no id: it is derived from the sources)."""
    sources = [f"https://anilist.co/anime/{anilist}", f"https://kitsu.app/anime/{anilist + 7}"]
    if mal is not None:
        sources.append(f"https://myanimelist.net/anime/{mal}")
    entry = {
        "sources": sources,
        "title": title,
        "type": "TV",
        "episodes": 12,
        "status": "FINISHED",
        "animeSeason": {"season": "SPRING", "year": 2021},
        "picture": "https://cdn.example/p.jpg",
        "thumbnail": "https://cdn.example/t.jpg",
        "synonyms": [],
        "studios": ["studio a"],
        "producers": [],
        "relatedAnime": [],
        "tags": ["action", "school"],
    }
    entry.update(extra)
    return entry


def _release(path: Path, entries: list, broken_lines: tuple[str, ...] = ()) -> Path:
    """A JSONL release: the metadata line, then one entry per line."""
    head = {
        "$schema": "https://example.org/schema.json",
        "license": {"name": "ODbL"},
        "repository": "https://github.com/manami-project/anime-offline-database",
        "lastUpdate": "2026-01-01",
    }
    lines = [json.dumps(head)] + [json.dumps(e) for e in entries] + list(broken_lines)
    path.write_text("\n".join(lines) + "\n")
    return path


RELEASE_A = [
    _offline("Sky Knights", 101, 1001),
    _offline("Harbour Diaries", 102, 1002, tags=["slice of life"]),
    _offline("Vanishing Point", 103, 1003),
    _offline("Clockwork Garden", 104, 1004, episodes=24),
]
RELEASE_B = [
    RELEASE_A[0],  # unchanged
    _offline("Harbour Diaries: Tides", 102, 1002, tags=["slice of life", "sea"], episodes=13),  # changed
    # "Vanishing Point" (mal 103) is gone from B
    RELEASE_A[3],  # unchanged
    _offline("Lantern Street", 105, 1005, tags=["mystery"]),  # new
]
BROKEN = '{"title": "No Sources Here", "type": "TV", "sources": "not a list"}'


async def _open(path: Path, embedder, backend: str = "edge"):
    from index.runtime import open_runtime
    from index.settings import ImageFetchSettings, StorageSettings
    from index.storage.factory import open_store

    if backend == "edge":
        store = open_store(StorageSettings(data_dir=path / "index"))
    else:  # the Qdrant server code path, against qdrant-client's in-process stand-in
        from qdrant_client import AsyncQdrantClient

        from index.storage.qdrant_server import ServerStore

        store = ServerStore(
            StorageSettings(collection_name="anime_update"), client=AsyncQdrantClient(location=":memory:")
        )
    return await open_runtime(
        embedder=embedder, store=store, warmup=False, fetch=ImageFetchSettings(image_cache_dir=path / "images")
    )


async def _index(runtime, *files: Path, prune: bool = False, merge: bool = True):
    from index.ingest import Ingestor

    ingestor = Ingestor(runtime.store, runtime.embedder, runtime.fetcher, batch_size=2, fetch_images=False, merge=merge)
    return await ingestor.ingest_paths(list(files), prune=prune)


async def _snapshot(store) -> dict[str, tuple]:
    """Everything a search reads, per point: payload (entry, hashes, filters) and every vector."""
    records, offset = [], None
    while True:
        page, offset = await store.scroll(limit=256, offset=offset, with_payload=False)
        records += page
        if offset is None:
            break
    full = await store.retrieve([str(r.id) for r in records], with_payload=True, with_vectors=True)
    out = {}
    for r in full:
        vectors = {
            name: (
                np.asarray(v.values if hasattr(v, "values") else v, dtype="float32"),
                tuple(v.indices) if hasattr(v, "indices") else None,
            )
            for name, v in (r.vector or {}).items()
        }
        out[str(r.id)] = (r.payload, vectors)
    return out


def _assert_same_index(one: dict, two: dict) -> None:
    assert one and set(one) == set(two)
    for pid, (payload, vectors) in one.items():
        other_payload, other_vectors = two[pid]
        assert payload == other_payload, payload.get("anime_id")
        assert set(vectors) == set(other_vectors), payload.get("anime_id")
        for name, (values, indices) in vectors.items():
            assert indices == other_vectors[name][1]
            np.testing.assert_allclose(values, other_vectors[name][0], atol=1e-5)


@pytest.mark.parametrize("backend", ["edge", "server"])
async def test_indexing_release_b_over_a_equals_a_fresh_index_of_b(tmp_path, remembering_embedder, backend):
    from index.identity import point_id

    a = _release(tmp_path / "a.jsonl", RELEASE_A)
    b = _release(tmp_path / "b.jsonl", RELEASE_B, broken_lines=(BROKEN,))
    updated = await _open(tmp_path / "updated", remembering_embedder, backend)
    fresh = await _open(tmp_path / "fresh", remembering_embedder, backend)
    try:
        first = await _index(updated, a)
        assert (first.indexed, first.updated, first.unchanged, len(first.failed)) == (4, 0, 0, 0)
        summary = await _index(updated, b, prune=True)
        assert (summary.indexed, summary.updated, summary.unchanged, summary.pruned, len(summary.failed)) == (
            1,
            1,
            2,
            1,
            1,
        ), summary.line()
        assert "pruned 1" in summary.line() and "failed 1" in summary.line()
        # only the changed and the new entry were embedded: the unchanged ones cost no model time
        fresh_summary = await _index(fresh, b)
        assert 0 < summary.vectors_embedded < fresh_summary.vectors_embedded
        assert await updated.store.retrieve([point_id("mal-103")]) == []
        _assert_same_index(await _snapshot(updated.store), await _snapshot(fresh.store))

        again = await _index(updated, b, prune=True)  # nothing left to do
        assert (again.indexed, again.updated, again.unchanged, again.pruned, again.vectors_embedded) == (0, 0, 4, 0, 0)
    finally:
        await updated.close()
        await fresh.close()


async def test_prune_keeps_entries_that_failed_to_import_and_refuses_an_empty_source(tmp_path, embedding_module):
    from index.identity import point_id

    a = _release(tmp_path / "a.jsonl", RELEASE_A[:2])
    # entry mal-102 is still in B but broken there: pruning must not delete what it cannot read
    broken_102 = json.dumps({"sources": ["https://myanimelist.net/anime/102"], "title": None})
    b = _release(tmp_path / "b.jsonl", RELEASE_A[:1], broken_lines=(broken_102,))
    empty = _release(tmp_path / "empty.jsonl", [])
    runtime = await _open(tmp_path, embedding_module)
    try:
        await _index(runtime, a)
        summary = await _index(runtime, b, prune=True)
        assert (summary.pruned, len(summary.failed)) == (0, 1)
        assert len(await runtime.store.retrieve([point_id("mal-101"), point_id("mal-102")])) == 2
        assert (await _index(runtime, empty, prune=True)).pruned == 0
        assert await runtime.store.count() == 2
    finally:
        await runtime.close()


async def test_an_entry_keeps_its_id_when_its_sources_gain_a_site(tmp_path, embedding_module):
    from index.identity import point_id

    before = _release(tmp_path / "a.jsonl", [_offline("Quiet Orbit", None, 2001)])  # AniList + Kitsu only
    after = _release(tmp_path / "b.jsonl", [_offline("Quiet Orbit", 2999, 2001)])  # now on MyAnimeList too
    runtime = await _open(tmp_path, embedding_module)
    try:
        await _index(runtime, before)
        assert len(await runtime.store.retrieve([point_id("anilist-2001")])) == 1
        summary = await _index(runtime, after, prune=True)
        assert (summary.updated, summary.indexed, summary.pruned) == (1, 0, 0), summary.line()
        [record] = await runtime.store.retrieve([point_id("anilist-2001")])
        assert record.payload["anime_id"] == "anilist-2001"
        assert "https://myanimelist.net/anime/2999" in record.payload["entry"]["sources"]
        assert await runtime.store.retrieve([point_id("mal-2999")]) == []
        assert await runtime.store.count() == 1
    finally:
        await runtime.close()


async def test_enriched_fields_survive_a_catalogue_release_unless_replaced(tmp_path, embedding_module):
    from index.identity import point_id
    from index.importers import load_entries

    enriched = next(e for e in load_entries(ENRICHED_FILE) if e.characters and e.staff_data and e.episode_details)
    # the same anime as a catalogue release lists it: sources, title, tags, no characters/staff/episodes
    release = _release(
        tmp_path / "release.jsonl",
        [
            {
                "id": enriched.id,
                "sources": enriched.sources,
                "title": enriched.title,
                "type": "TV",
                "episodes": 99,
                "status": "FINISHED",
                "tags": ["newly tagged"],
                "studios": ["brand new studio"],
            }
        ],
    )
    runtime = await _open(tmp_path, embedding_module)
    try:
        from index.ingest import Ingestor

        await Ingestor(runtime.store, runtime.embedder, runtime.fetcher, fetch_images=False).ingest_entries([enriched])
        summary = await _index(runtime, release)
        assert summary.updated == 1
        [record] = await runtime.store.retrieve([point_id(enriched.id)])
        stored = record.payload["entry"]
        assert stored["episodes"] == 99 and stored["tags"] == ["newly tagged"]  # the release's values win
        assert len(stored["characters"]) == len(enriched.characters) > 0  # enrichment survives
        assert len(stored["episode_details"]) == len(enriched.episode_details) > 0
        assert stored["synopsis"] == enriched.synopsis
        assert "brand new studio" in [s["name"] if isinstance(s, dict) else s for s in stored["staff_data"]["studios"]]
        assert stored["staff_data"].get("production_staff") == enriched.staff_data.model_dump(
            mode="json", exclude_none=True, by_alias=True
        ).get("production_staff")
        assert (await _index(runtime, release)).unchanged == 1  # stable: no rewrite loop

        replaced = await _index(runtime, release, merge=False)
        assert replaced.updated == 1
        [record] = await runtime.store.retrieve([point_id(enriched.id)])
        assert not record.payload["entry"].get("characters") and "synopsis" not in record.payload["entry"]
        assert (
            "character_vector"
            not in (await runtime.store.retrieve([point_id(enriched.id)], with_vectors=True))[0].vector
        )
    finally:
        await runtime.close()


def test_the_index_command_prunes_and_reports_every_count(tmp_path, tiny_clip, monkeypatch, capsys):
    """`anime-mcp index B --prune` after A: the one summary line a user reads counts each kind of entry."""
    from server.cli import main
    from tests.served import cli_env

    for key, value in cli_env(tmp_path / "data", tiny_clip).items():
        if key.startswith(("ANIME_MCP_", "HF_")):
            monkeypatch.setenv(key, value)
    a = _release(tmp_path / "a.jsonl", RELEASE_A)
    b = _release(tmp_path / "b.jsonl", RELEASE_B, broken_lines=(BROKEN,))
    assert main(["index", str(a), "--no-images"]) == 0
    capsys.readouterr()
    assert main(["index", str(b), "--no-images", "--prune"]) == 0
    err = capsys.readouterr().err
    assert "read 5, indexed 1 new, updated 1, skipped 2 unchanged, failed 1, pruned 1" in err, err[-1500:]
    assert "No Sources Here" in err  # the failed entry is named
