"""Which legs a text query runs: a description whose words match entries keeps its exact-word leg; a
half-remembered scene in the user's own words, matching no entry by its words, is searched by meaning alone
(BM25 would only add noise to it)."""

from __future__ import annotations

import pytest

from index.search.legs import text_legs, words_match_weakly
from index.storage.lexical import lexical_query
from index.vectors import LEXICAL, TITLE

pytestmark = pytest.mark.anyio

PLOT = "two brothers try to bring their dead mother back with forbidden alchemy and pay a terrible price"
VAGUE = "that cartoon where a tiny fella with a huge moustache keeps sneezing glitter over his grumpy neighbours"


async def legs_of(runtime, query: str) -> list[str]:
    engine = runtime.engine
    return [leg.using for leg in await text_legs(engine.embedder, engine.settings, query, None, known=engine.known)]


async def test_a_description_in_the_datas_words_keeps_the_word_leg(edge_runtime):
    assert not await words_match_weakly(edge_runtime.engine.known, lexical_query(PLOT), edge_runtime.engine.settings)
    assert set(await legs_of(edge_runtime, PLOT)) == {TITLE, LEXICAL}


async def test_a_vague_memory_is_searched_by_meaning_alone(edge_runtime):
    assert await words_match_weakly(edge_runtime.engine.known, lexical_query(VAGUE), edge_runtime.engine.settings)
    assert await legs_of(edge_runtime, VAGUE) == [TITLE]
    page = await edge_runtime.engine.search_text(VAGUE, limit=5)
    assert page.results and LEXICAL not in page.method


async def test_short_queries_keep_the_default_blend(edge_runtime):
    # a misspelt or unknown short query is matched by titles and both legs, never by meaning alone
    assert set(await legs_of(edge_runtime, "sneezing glitter")) == {TITLE, LEXICAL}
