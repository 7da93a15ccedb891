"""The demo that `make run` serves: rebuilt reproducibly from the shared catalogue, within its size limit,
modern (a 2019+ title is found by a description of it, through the MCP protocol), and honest (entries
outside the 1,822 full ones carry no invented year, studio or member count)."""

from __future__ import annotations

import importlib.util

import pytest
from mcp import Client

from index.importers import iter_entries
from tests.paths import ROOT

DEMO = ROOT / "demo" / "anime_demo.json"
# 2019+ titles, by id: the catalogue has no year for them (Frieren aired 2023, Jujutsu Kaisen 2020).
FRIEREN, JUJUTSU_KAISEN, ATTACK_ON_TITAN = "mal-52991", "mal-40748", "mal-16498"


def _make_demo():
    spec = importlib.util.spec_from_file_location("make_demo", ROOT / "bench" / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_entries():
    results = list(iter_entries(DEMO))
    assert results and all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    return [r.entry for r in results]


def test_demo_file_is_current_small_and_clean(demo_entries):
    make_demo = _make_demo()
    assert DEMO.stat().st_size <= make_demo.MAX_BYTES == 5 * 1024 * 1024
    assert DEMO.read_text(encoding="utf-8") == make_demo.dumps(*make_demo.build()), "run bench/make_demo.py"
    n_classics, n_modern = make_demo.CLASSICS, make_demo.MODERN
    assert len(demo_entries) == n_classics + n_modern + 28
    classics, modern = demo_entries[:n_classics], demo_entries[n_classics : n_classics + n_modern]
    members = [e.statistics["mal"].members for e in classics]
    assert members == sorted(members, reverse=True) and classics[0].title == "Death Note"
    scores = [e.statistics["mal"].score if "mal" in e.statistics else e.score.arithmetic_geometric_mean for e in modern]
    assert scores == sorted(scores, reverse=True)
    ids = {e.id for e in demo_entries}
    assert {FRIEREN, JUJUTSU_KAISEN, ATTACK_ON_TITAN, "mal-1", "mal-1535"} <= ids
    assert len(ids) == len(demo_entries)


def test_catalogue_only_entries_carry_no_invented_facts(demo_entries):
    make_demo = _make_demo()
    modern = demo_entries[make_demo.CLASSICS : make_demo.CLASSICS + make_demo.MODERN]
    assert modern and all(e.synopsis for e in modern)
    for e in modern:
        assert e.year is None and e.season is None and not e.studios, e.id
        assert all(st.members is None for st in e.statistics.values()), e.id


@pytest.fixture(scope="module")
async def demo_runtime(tmp_path_factory, remembering_embedder, demo_entries):
    """A cut of the demo (the 150 best-scored modern entries, 100 classics, the 28 enriched) indexed as
    `make run` indexes it; the whole demo takes ~1.5 min of model time, too long for the suite."""
    from tests.index_fixtures import build_runtime

    make_demo = _make_demo()
    cut = demo_entries[:100] + demo_entries[make_demo.CLASSICS : make_demo.CLASSICS + 150] + demo_entries[-28:]
    runtime = await build_runtime("edge", tmp_path_factory.mktemp("demo-index"), remembering_embedder, cut)
    yield runtime
    await runtime.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "query, wanted",
    [
        (
            "an elf mage outlives the hero's party she defeated the demon king with and journeys to understand people",
            FRIEREN,
        ),
        ("a high school boy eats a cursed finger and shares his body with the king of curses", JUJUTSU_KAISEN),
    ],
)
async def test_a_modern_title_is_found_by_a_description(demo_runtime, query, wanted):
    from server.app import build_server
    from server.state import AppState

    async def loader():
        return demo_runtime

    async with Client(build_server(AppState(loader=loader))) as client:
        result = await client.call_tool("search_anime", {"query": query, "limit": 3})
    assert not result.is_error, result.content
    ids = [r["id"] for r in result.structured_content["results"]]
    assert ids and ids[0] == wanted, ids
