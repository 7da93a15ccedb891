"""A damaged index is never served as whole: opening refuses it, the tools and `stats` say it is damaged
and how to check and rebuild it, and `anime-mcp check` reads every entry and prints one line per problem."""

from __future__ import annotations

import uuid

import pytest
import qdrant_edge as qe

from index.identity import point_id
from index.storage.check import check_index
from tests.index.small_index import SLICE, build_small_index, client_over, shard_files, storage_settings
from tests.served import cli_env, run_cli

pytestmark = pytest.mark.anyio


def text_of(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


@pytest.fixture
async def index_dir(tmp_path, remembering_embedder, index_entries):
    await build_small_index(tmp_path, remembering_embedder, index_entries)
    return tmp_path


def lose_a_point_behind_its_back(data_dir, anime_id: str) -> None:
    """What a lost file does: a point gone without the store's knowledge (its record still counts it)."""
    shard = qe.EdgeShard.load(str(data_dir / "anime" / "shard"))
    try:
        shard.update(qe.UpdateOperation.delete_points([uuid.UUID(point_id(anime_id))]))
        shard.flush()
    finally:
        shard.close()


async def test_check_passes_a_whole_index(index_dir):
    report = await check_index(storage_settings(index_dir))
    assert report.ok, report.lines()
    assert report.points_read == SLICE


async def test_a_lost_entry_is_reported_by_open_tools_and_check(index_dir, remembering_embedder, index_entries):
    lose_a_point_behind_its_back(index_dir, index_entries[3].id)
    async with client_over(index_dir, remembering_embedder) as client:
        for tool, args in (("search_anime", {"query": "space pirates"}), ("anime_database_stats", {})):
            result = await client.call_tool(tool, args)
            text = text_of(result)
            assert result.is_error and "damaged" in text and "anime-mcp check" in text, text
            assert str(index_dir) not in text
    report = await check_index(storage_settings(index_dir))
    assert not report.ok
    assert any(f"holds {SLICE - 1} entries" in line and f"left {SLICE}" in line for line in report.lines())


async def test_unreadable_payloads_are_listed(index_dir):
    for f in shard_files(index_dir, "payload_storage/page_0.dat"):
        f.write_bytes(b"")
    report = await check_index(storage_settings(index_dir))
    assert not report.ok and any("unreadable" in line for line in report.lines()), report.lines()


def test_the_command_exits_0_then_1_with_one_line_per_problem(tmp_path, tiny_clip, remembering_embedder, index_entries):
    import anyio

    anyio.run(build_small_index, tmp_path, remembering_embedder, index_entries)
    env = cli_env(tmp_path, tiny_clip)
    whole = run_cli(env, "check", "--data-dir", str(tmp_path), timeout=300)
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout == "" and f"checked {SLICE} entries: ok" in whole.stderr
    lose_a_point_behind_its_back(tmp_path, index_entries[0].id)
    damaged = run_cli(env, "check", "--data-dir", str(tmp_path), timeout=300)
    assert damaged.returncode == 1, damaged.stderr
    lines = damaged.stdout.strip().splitlines()
    assert lines and all(line.startswith("count:") for line in lines), damaged.stdout
    stats = run_cli(env, "stats", "--data-dir", str(tmp_path), timeout=300)
    assert stats.returncode == 1 and "damaged" in stats.stderr and "Traceback" not in stats.stderr, stats.stderr
