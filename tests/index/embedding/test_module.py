"""Embedding module as a whole: a text model failure is fatal, a slow image model holds up nothing else,
concurrent async calls share encoder calls without blocking the event loop, one instance per process."""

from __future__ import annotations

import threading
import time

import anyio
import numpy as np
import pytest

from index.embedding import EmbeddingModule, TextModelUnavailable, get_embedding_module
from index.settings import EmbeddingSettings
from tests.index.embedding.helpers import COOKING, assert_unit_rows, draw, lite_module


def test_text_model_failure_is_fatal_and_names_the_setting(tmp_path):
    with pytest.raises(TextModelUnavailable, match="ANIME_MCP_TEXT_MODEL"):
        EmbeddingModule(
            EmbeddingSettings(_env_file=None, device="cpu", text_model=str(tmp_path / "no-model"), image_enabled=False)
        )


@pytest.mark.anyio
async def test_slow_image_model_holds_up_neither_text_nor_the_index(monkeypatch, text_model_path, tiny_clip, tmp_path):
    """A first start downloads the image weights (minutes, or ~50 s of retries offline): text search,
    warm-up and opening the collection must not wait for it; image calls wait, then work."""
    import index.embedding.module as module_mod
    from index.runtime import collection_spec

    release, loaded = threading.Event(), threading.Event()
    real_encoder = module_mod.ImageEncoder

    def slow_encoder(*args, **kwargs):
        release.wait(30)
        encoder = real_encoder(*args, **kwargs)
        loaded.set()
        return encoder

    monkeypatch.setattr(module_mod, "ImageEncoder", slow_encoder)
    config_path, checkpoint_path = tiny_clip
    module = lite_module(text_model_path, image_model=str(config_path), image_pretrained=str(checkpoint_path))
    try:
        with anyio.fail_after(20):
            await anyio.to_thread.run_sync(module.warmup)
            assert module.image_status == "loading"
            assert collection_spec(module).image_dim == 32  # from the architecture, before the weights
            assert_unit_rows((await module.aembed_query("a quiet story about a lighthouse"))[None, :], 1, 384)
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(module.aembed_clip_text, "a red circle")  # waits for the model, off the loop
                await anyio.sleep(0.2)
                assert not loaded.is_set()
                release.set()
            assert module.image_status == "ready" and module.image_available
            assert_unit_rows((await module.aembed_clip_text("a red circle"))[None, :], 1, 32)
    finally:
        release.set()


# -- async: concurrent calls share encoder calls, the event loop stays free --------------------------


@pytest.mark.anyio
async def test_concurrent_queries_share_encoder_calls(embedding_module):
    queries = [f"anime about topic number {i}" for i in range(24)]
    results: dict[int, np.ndarray] = {}
    calls_before = embedding_module.query_encoder_calls

    async def ask(i: int) -> None:
        results[i] = await embedding_module.aembed_query(queries[i])

    async with anyio.create_task_group() as tg:
        for i in range(len(queries)):
            tg.start_soon(ask, i)
    calls = embedding_module.query_encoder_calls - calls_before
    assert 1 <= calls < len(queries) // 2
    singles = embedding_module.embed_queries(queries)
    for i in range(len(queries)):
        assert results[i].shape == (384,)
        np.testing.assert_allclose(results[i], singles[i], atol=1e-5)


@pytest.mark.anyio
async def test_concurrent_clip_texts_match_single_calls(embedding_module):
    texts = ["a red circle", "green lines", "a blue box"]
    out = {}

    async def ask(t: str) -> None:
        out[t] = await embedding_module.aembed_clip_text(t)

    async with anyio.create_task_group() as tg:
        for t in texts:
            tg.start_soon(ask, t)
    np.testing.assert_allclose(np.stack([out[t] for t in texts]), embedding_module.embed_clip_texts(texts), atol=1e-5)


@pytest.mark.anyio
async def test_async_embedding_does_not_block_the_event_loop(embedding_module):
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.005)
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        started = time.perf_counter()
        vectors = await embedding_module.aembed_documents([COOKING * 60] * 4)
        images = await embedding_module.aembed_images([draw(0), draw(1)])
        elapsed = time.perf_counter() - started
        tg.cancel_scope.cancel()
    assert vectors.shape == (4, 384) and images.shape == (2, 32)
    assert elapsed > 0.05 and ticks >= int(elapsed / 0.005 * 0.3)  # the loop kept running meanwhile


@pytest.mark.anyio
async def test_bad_query_fails_alone(embedding_module):
    with pytest.raises(ValueError, match="empty"):
        await embedding_module.aembed_query("  ")
    assert (await embedding_module.aembed_query("still works")).shape == (384,)


# -- one instance per process -------------------------------------------------------------------


def test_one_module_per_settings_even_from_many_threads(embedding_settings, embedding_module):
    found = []
    threads = [
        threading.Thread(target=lambda: found.append(get_embedding_module(embedding_settings))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(m is embedding_module for m in found)


def test_describe_reports_models_dims_device_batches(embedding_module):
    info = embedding_module.describe()
    assert info["device"] == "cpu" and info["profile"] == "lite"
    assert info["text_dim"] == 384 and info["image_dim"] == 32
    assert info["text_window_tokens"] == 256
    assert info["text_batch_size"] == 32 and info["image_batch_size"] == 16
    from index.embedding.profiles import resolve_query_threads, resolve_text_precision

    assert info["text_precision"] == resolve_text_precision("cpu", "auto")
    assert info["query_threads"] == resolve_query_threads("cpu", 0)
    assert info["image_model"] == "tiny-clip-test"
