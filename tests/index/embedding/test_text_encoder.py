"""Text vectors: unit float32 rows, the model's own pooling, long texts chunked not cut, query prompts,
bf16 and float32 giving the same vectors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.index.embedding.helpers import COOKING, SPACE, SYNOPSIS, assert_unit_rows, lite_module

# -- shapes, normalisation, the model's own pooling ----------------------------------------------


def test_text_vectors_are_unit_float32_rows(embedding_module):
    assert embedding_module.text_dim == 384
    assert_unit_rows(embedding_module.embed_documents([SYNOPSIS, "Mecha pilots."]), 2, 384)
    assert_unit_rows(embedding_module.embed_queries(["alchemy brothers"]), 1, 384)
    assert embedding_module.embed_documents([]).shape == (0, 384)


def test_short_text_matches_the_models_own_pooling(embedding_module, text_model_path):
    import contextlib

    import torch
    from sentence_transformers import SentenceTransformer

    same_precision = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if embedding_module.describe()["text_precision"] == "bfloat16"
        else contextlib.nullcontext()
    )
    with same_precision:
        reference = SentenceTransformer(str(text_model_path), device="cpu").encode(
            [SYNOPSIS], normalize_embeddings=True
        )
    np.testing.assert_allclose(embedding_module.embed_documents([SYNOPSIS]), reference, atol=1e-5)


def test_empty_text_is_refused_with_its_position(embedding_module):
    with pytest.raises(ValueError, match="document 1 is empty"):
        embedding_module.embed_documents(["fine", "   "])
    with pytest.raises(TypeError, match="list"):
        embedding_module.embed_queries("one string")


# -- long texts are chunked, not cut --------------------------------------------------------------


def test_long_text_is_chunked_not_cut(embedding_module, text_model_path):
    from sentence_transformers import SentenceTransformer

    long_text = COOKING * 12 + SPACE * 120  # ~8x the 256-token window; the start is about cooking
    assert embedding_module._text.token_count(long_text) > 6 * embedding_module._text.window
    chunked = embedding_module.embed_documents([long_text])[0]
    first_window_only = SentenceTransformer(str(text_model_path), device="cpu").encode(
        long_text, normalize_embeddings=True
    )  # what a silent cut would give
    space = embedding_module.embed_documents([SPACE])[0]
    assert float(chunked @ first_window_only) < 0.95
    assert float(chunked @ space) > float(first_window_only @ space) + 0.1
    np.testing.assert_allclose(np.linalg.norm(chunked), 1.0, atol=1e-5)


def test_chunks_cover_every_token_within_budget_with_overlap(embedding_module):
    encoder = embedding_module._text
    text = " ".join(f"word{i}" for i in range(300))
    chunks = encoder._split([text], budget=40)
    assert len(chunks.texts) > 5 and set(chunks.owners) == {0}
    tokens = [encoder.token_count(t) for t in chunks.texts]
    assert max(tokens) <= 40
    seen = set(" ".join(chunks.texts).split())
    assert {f"word{i}" for i in range(300)} <= seen
    for left, right in zip(chunks.texts, chunks.texts[1:], strict=False):
        assert left.split()[-1] in right  # consecutive chunks overlap


# -- queries and documents ------------------------------------------------------------------------


def test_query_prompt_of_the_model_is_used(tmp_path, text_model_path):
    model_dir = tmp_path / "minilm-with-prompt"
    shutil.copytree(text_model_path, model_dir)
    config_file = model_dir / "config_sentence_transformers.json"
    config = json.loads(config_file.read_text())
    config["prompts"] = {"query": "query: ", "document": ""}
    config_file.write_text(json.dumps(config))
    module = lite_module(model_dir, image_enabled=False)
    query = module.embed_queries([SYNOPSIS])
    assert float(query[0] @ module.embed_documents([SYNOPSIS])[0]) < 0.999
    np.testing.assert_allclose(query, module.embed_documents(["query: " + SYNOPSIS]), atol=1e-5)


def test_model_without_prompts_embeds_queries_like_documents(embedding_module):
    np.testing.assert_allclose(
        embedding_module.embed_queries([SYNOPSIS]), embedding_module.embed_documents([SYNOPSIS]), atol=1e-5
    )


def test_bf16_text_vectors_match_float32_and_rank_the_same(text_model_path):
    """bf16 (the default on CPUs with native bf16) must not move vectors: the index may have been
    built at the other precision."""
    from index.embedding.text_encoder import TextEncoder

    queries = ["alchemy brothers", "ramen shop by the sea", "space fleets at war", "求道者 アニメ"]
    docs = [SYNOPSIS, COOKING, SPACE, COOKING * 40]  # the last one is chunked and pooled
    encoders = {
        p: TextEncoder(str(text_model_path), device="cpu", batch_size=32, precision=p) for p in ("float32", "bfloat16")
    }
    assert encoders["bfloat16"].precision == "bfloat16"
    q = {p: e.embed_queries(queries) for p, e in encoders.items()}
    d = {p: e.embed_documents(docs) for p, e in encoders.items()}
    for p in encoders:
        assert_unit_rows(q[p], 4, 384)
        assert_unit_rows(d[p], 4, 384)
    assert np.min(np.sum(q["float32"] * q["bfloat16"], axis=1)) > 0.999
    assert np.min(np.sum(d["float32"] * d["bfloat16"], axis=1)) > 0.999
    ranks = {p: np.argsort(-(q[p][:3] @ d[p][:3].T), axis=1) for p in encoders}
    np.testing.assert_array_equal(ranks["float32"], ranks["bfloat16"])
    np.testing.assert_array_equal(ranks["float32"][:, 0], [0, 1, 2])
