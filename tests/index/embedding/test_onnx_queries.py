"""Queries through ONNX Runtime: the same vectors as torch, chunked the same way, served without torch,
and an export made once per model (in the background after the first query) and only used when present."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading

import anyio
import numpy as np
import pytest

from tests.paths import DATA, ROOT


@pytest.fixture(scope="session")
def onnx_cache(text_model_path, tmp_path_factory):
    """A cache folder holding the offline MiniLM's export, made here (the suite never relies on one)."""
    from index.embedding.onnx_export import export_query_model

    cache = tmp_path_factory.mktemp("onnx-cache")
    folder = export_query_model(str(text_model_path), cache)
    assert folder is not None and (folder / "model.onnx").is_file()
    return cache


@pytest.fixture(scope="session")
def onnx_encoder(onnx_cache, text_model_path):
    from index.embedding.onnx_cache import export_folder
    from index.embedding.onnx_encoder import OnnxQueryEncoder

    folder = export_folder(onnx_cache, str(text_model_path), None)
    assert folder is not None
    return OnnxQueryEncoder(folder, str(text_model_path), threads=1, batch_size=32)


@pytest.fixture(scope="session")
def torch_float32(text_model_path):
    from index.embedding.text_encoder import TextEncoder

    return TextEncoder(str(text_model_path), device="cpu", batch_size=32, precision="float32")


def real_texts(n: int) -> list[str]:
    """n titles and n synopses of real entries (many synopses are longer than the token window)."""
    entries = json.loads((DATA / "anime_mal_1822.json").read_text(encoding="utf-8"))["data"][: n * 2]
    titles = [e["title"] for e in entries if e.get("title")][:n]
    synopses = [e["synopsis"] for e in entries if (e.get("synopsis") or "").strip()][:n]
    assert len(titles) == n and len(synopses) == n
    return titles + synopses


def test_onnx_query_vectors_equal_the_torch_ones(onnx_encoder, torch_float32, embedding_module):
    """Search results must not change: cosine >= 0.9999 to torch float32 and to the torch path the server
    used before (bf16 where the CPU has it), on 300 real titles and synopses, long ones chunked."""
    from index.embedding.onnx_export import EQUAL_COSINE

    texts = real_texts(150)
    assert sum(torch_float32.token_count(t) > torch_float32.window for t in texts) >= 3  # chunking is covered
    onnx = onnx_encoder.embed_queries(texts)
    assert onnx.shape == (300, 384) and np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    for reference in (torch_float32.embed_queries(texts), embedding_module._text.embed_queries(texts)):
        cosines = np.sum(onnx * reference, axis=1)
        assert cosines.min() >= EQUAL_COSINE, f"{int(np.argmin(cosines))}: {cosines.min():.6f}"
    one_by_one = np.stack([onnx_encoder.embed_queries([t])[0] for t in texts[:20]])
    np.testing.assert_allclose(one_by_one, onnx[:20], atol=1e-5)  # padding in a batch changes nothing


def test_long_queries_are_cut_where_torch_cuts_them(onnx_encoder, torch_float32):
    text = " ".join(real_texts(40)[40:])
    assert onnx_encoder.token_count(text) == torch_float32.token_count(text) > 4 * torch_float32.window
    assert onnx_encoder._split([text], 60) == torch_float32._split([text], 60)
    assert (onnx_encoder.dim, onnx_encoder.window) == (torch_float32.dim, torch_float32.window)


def test_a_search_query_is_embedded_without_importing_torch(onnx_cache, text_model_path):
    """In a fresh interpreter, as a server starts: the module and a query load no torch, sentence-transformers
    or transformers; documents still can be embedded (torch loads then)."""
    code = f"""
import asyncio, sys
from index.embedding import EmbeddingModule
from index.settings import EmbeddingSettings
module = EmbeddingModule(EmbeddingSettings(_env_file=None, device="cpu", text_model={str(text_model_path)!r},
    onnx_cache_dir={str(onnx_cache)!r}, query_runtime="auto", image_enabled=False))
module.warmup()
vector = asyncio.run(module.aembed_query("a quiet story about a lighthouse keeper"))
assert vector.shape == (384,) and module.query_runtime == "onnx" and module.text_dim == 384
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
assert not heavy, heavy
assert module.embed_documents(["a lighthouse keeper"]).shape == (1, 384) and "torch" in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.anyio
async def test_a_missing_export_is_made_after_the_first_query_and_used_at_the_next_start(
    monkeypatch, tmp_path, text_model_path
):
    from index.embedding import EmbeddingModule, onnx_export
    from index.embedding.onnx_cache import export_folder, is_complete
    from index.settings import EmbeddingSettings

    settings = EmbeddingSettings(
        _env_file=None,
        device="cpu",
        text_model=str(text_model_path),
        onnx_cache_dir=tmp_path,
        query_runtime="auto",
        image_enabled=False,
    )
    asked, real_export = threading.Event(), onnx_export.export_query_model
    monkeypatch.setattr(onnx_export, "export_query_model", lambda *a: (asked.set(), real_export(*a))[1])
    module = EmbeddingModule(settings)
    try:
        assert module.query_runtime == "torch"  # nothing exported yet: torch, as before
        await anyio.sleep(0.2)
        assert not asked.is_set()  # not on the cold start's path
        await module.aembed_query("giant robots")
        assert await anyio.to_thread.run_sync(asked.wait, 30)
        folder = export_folder(tmp_path, str(text_model_path), None)
        assert folder is not None
        with anyio.fail_after(300):
            while not is_complete(folder):  # renamed into place whole (a staging folder has meta.json first)
                await anyio.sleep(0.2)
    finally:
        module._go.set()
        module.close()
    again = EmbeddingModule(settings)
    assert again.query_runtime == "onnx"
    assert float(again.embed_queries(["giant robots"])[0] @ module.embed_queries(["giant robots"])[0]) > 0.9999
    again.close()


def test_the_export_follows_the_model_files(tmp_path, text_model_path):
    """A changed file (weights, tokenizer, pooling) means another export; hashes are remembered, not redone."""
    from index.embedding.onnx_cache import export_folder, model_identity

    model = tmp_path / "model"
    shutil.copytree(text_model_path, model)
    cache = tmp_path / "cache"
    first = export_folder(cache, str(model), None)
    assert first is not None and first == export_folder(cache, str(model), None)
    assert export_folder(cache, str(model), 128) != first  # another token window
    pooling = model / "1_Pooling" / "config.json"
    pooling.write_text(pooling.read_text().replace('"pooling_mode_cls_token": false', '"pooling_mode_cls_token": true'))
    assert export_folder(cache, str(model), None) != first
    _, hashes = model_identity(model, cache, None)
    assert {"model.safetensors", "tokenizer.json", "1_Pooling/config.json"} <= set(hashes)
    assert export_folder(cache, "no/such-model-anywhere", None) is None  # not on disk: nothing to export


def test_a_model_that_cannot_be_exported_keeps_torch_without_retrying(monkeypatch, tmp_path, text_model_path):
    from index.embedding import onnx_export
    from index.embedding.onnx_encoder import open_onnx_queries
    from index.embedding.profiles import resolve_models
    from index.settings import EmbeddingSettings

    calls = []

    def refuse(*args):
        calls.append(args)
        raise onnx_export.ExportRefused("its pooling leaves the query prompt out")

    monkeypatch.setattr(onnx_export, "_export", refuse)
    assert onnx_export.export_query_model(str(text_model_path), tmp_path) is None
    settings = EmbeddingSettings(
        _env_file=None, device="cpu", text_model=str(text_model_path), onnx_cache_dir=tmp_path, query_runtime="onnx"
    )
    assert open_onnx_queries(settings, resolve_models(settings)) == (None, False)  # torch, no second try
    assert len(calls) == 1
    assert open_onnx_queries(settings.model_copy(update={"query_runtime": "torch"}), resolve_models(settings)) == (
        None,
        False,
    )
