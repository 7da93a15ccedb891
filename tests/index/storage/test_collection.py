"""Pieces both backends share: per-vector search params, ACORN for filtered graph searches,
the backend factory, BM25 tokens.
"""

from __future__ import annotations

import pytest
from qdrant_client import models

from index.settings import StorageSettings
from index.storage.base import StoreError
from index.storage.collection import prepare_request, vector_layouts
from index.storage.edge import EdgeStore
from index.storage.factory import open_store
from index.storage.lexical import lexical_document, lexical_query
from index.storage.qdrant_server import ServerStore
from index.vectors import LEXICAL, TITLE
from tests.index.storage.helpers import SPEC, STORAGE_MARKS, TEXT_DIM

pytestmark = STORAGE_MARKS


# ---------------------------------------------------------------------------- search params


def test_default_search_params_per_priority():
    layouts = vector_layouts(SPEC)
    request = models.QueryRequest(
        prefetch=[
            models.Prefetch(query=[0.1] * TEXT_DIM, using=TITLE, limit=5),
            models.Prefetch(
                query=[0.1] * TEXT_DIM, using="streaming_vector", limit=5, params=models.SearchParams(exact=True)
            ),
            models.Prefetch(query=lexical_query("x"), using=LEXICAL, limit=5),
        ],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=3,
    )
    prepared = prepare_request(request, layouts)
    title, streaming, lexical = prepared.prefetch
    assert title.params.quantization.rescore and title.params.quantization.oversampling == layouts[TITLE].oversampling
    assert streaming.params == models.SearchParams(exact=True)  # explicit params are kept
    assert lexical.params is None and prepared.params is None
    assert request.prefetch[0].params is None  # the caller's request is not changed
    assert title.params.acorn is None  # unfiltered: the plain graph walk


def test_filtered_graph_searches_use_acorn():
    """A broad filter walks the HNSW graph with ACORN (plain graph walks lost half the true top 10
    at 100,000 points, see collection.py); vectors without a graph are scanned and need none."""
    layouts = vector_layouts(SPEC)
    movies = models.Filter(must=[models.FieldCondition(key="type", match=models.MatchValue(value="MOVIE"))])
    request = models.QueryRequest(
        prefetch=[
            models.Prefetch(query=[0.1] * TEXT_DIM, using=TITLE, filter=movies, limit=5),
            models.Prefetch(query=[0.1] * TEXT_DIM, using="streaming_vector", filter=movies, limit=5),
        ],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        filter=movies,
        limit=3,
    )
    title, streaming = prepare_request(request, layouts).prefetch
    assert title.params.acorn.enable and 0 < title.params.acorn.max_selectivity < 1
    assert layouts["streaming_vector"].hnsw_m == 0 and streaming.params.acorn is None


# ---------------------------------------------------------------------------- factory, lexical


def test_factory_picks_backend(tmp_path):
    edge = open_store(StorageSettings(data_dir=tmp_path, collection_name="col"))
    assert isinstance(edge, EdgeStore) and edge.directory == tmp_path / "col"
    server = open_store(StorageSettings(qdrant_url="https://q.example.com:6333", qdrant_api_key="k"))
    assert isinstance(server, ServerStore) and server.location == "https://q.example.com:6333"
    with pytest.raises(StoreError, match="plain folder name"):
        open_store(StorageSettings(data_dir=tmp_path, collection_name="../x"))


def test_lexical_tokens_match_between_documents_and_queries():
    doc = lexical_document("Shingeki no Kyojin 進撃の巨人: the Attacks on Titan, Pokémon")
    for query in ("attack", "titan", "pokemon", "巨人", "KYOJIN"):
        q = lexical_query(query)
        assert q.indices and set(q.indices) <= set(doc.indices), query
        assert q.values == [1.0] * len(q.indices)
    assert lexical_query("").indices == [] and lexical_query("the on no").indices == []
