"""Settings a user sets must do something: ANIME_MCP_INDEX_ON_START indexes before the tools
answer, ANIME_MCP_ENRICHMENT_CONCURRENCY reaches `anime-mcp enrich`, and no variable is
documented twice."""

from __future__ import annotations

import json
import re

import pytest

from server.state import AppState
from tests.index_fixtures import MAL_FILE, build_runtime

pytestmark = pytest.mark.anyio


async def test_index_on_start_indexes_before_ready(tmp_path, remembering_embedder):
    data = json.loads(MAL_FILE.read_text())["data"][:5]
    source = tmp_path / "five.json"
    source.write_text(json.dumps({"data": data}))
    runtime = await build_runtime("edge", tmp_path / "index", remembering_embedder, [])

    async def loader():
        return runtime

    state = AppState(loader=loader, index_on_start=[source])
    try:
        await state.load()
        ready = await state.ready()
        assert await ready.store.count() == 5
        assert state.index_report["status"] == "done" and state.index_report["files"] == ["five.json"]
        hit = await ready.engine.get_entry(data[0]["title"])
        assert hit.title == data[0]["title"]
    finally:
        await runtime.close()


async def test_index_on_start_failure_is_reported_and_the_server_still_serves(tmp_path, remembering_embedder):
    runtime = await build_runtime("edge", tmp_path / "index", remembering_embedder, [])

    async def loader():
        return runtime

    missing = tmp_path / "nowhere" / "missing.json"
    state = AppState(loader=loader, index_on_start=[missing])
    try:
        await state.load()
        assert (await state.ready()) is runtime
        report = state.index_report
        assert report["status"] == "failed" and "missing.json" in report["error"]
        assert str(tmp_path) not in json.dumps(report)  # /health is public: no server paths
    finally:
        await runtime.close()


def test_serve_passes_index_on_start(monkeypatch, tmp_path):
    import server.transports
    from server import cli

    seen = {}
    monkeypatch.setattr(server.transports, "serve", lambda server, state, settings: seen.update(state=state))
    monkeypatch.setenv("ANIME_MCP_INDEX_ON_START", json.dumps([str(tmp_path / "a.json")]))
    assert cli.main(["serve", "--data-dir", str(tmp_path)]) == 0
    assert seen["state"].index_on_start == [tmp_path / "a.json"]


async def test_enrich_concurrency_comes_from_the_setting_unless_given(monkeypatch, tmp_path):
    from enrichment.command import run_enrich_command
    from enrichment.settings import EnrichmentSettings
    from server.cli import build_parser

    assert build_parser().parse_args(["enrich", "--ids", "1"]).concurrency is None
    assert build_parser().parse_args(["enrich", "--ids", "1", "--concurrency", "3"]).concurrency == 3

    used: list[int] = []

    class Spy:
        settings = EnrichmentSettings(_env_file=None, enrichment_concurrency=5)

        async def enrich_many(self, entries, sources, concurrency, skip_recent_days):
            used.append(concurrency)
            return
            yield

    await run_enrich_command(["1"], None, None, None, tmp_path / "o.json", enricher=Spy(), show_progress=False)
    await run_enrich_command(["1"], None, None, 3, tmp_path / "o.json", enricher=Spy(), show_progress=False)
    assert used == [5, 3]


def test_every_variable_is_documented_once():
    from server.settings_doc import settings_markdown

    names = re.findall(r"^\| `(ANIME_MCP_\w+)`", settings_markdown(), re.MULTILINE)
    assert names and len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
