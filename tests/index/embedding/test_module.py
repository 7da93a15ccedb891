"""Embedding module: what indexing and search rely on (shapes, unit length, long texts not cut,
query prompts, picture vectors, duplicate merging, clear errors without image weights,
micro-batching of concurrent queries, one instance per process)."""

from __future__ import annotations

import json
import shutil
import threading
import time

import anyio
import numpy as np
import pytest
from PIL import Image, ImageDraw

from index.embedding import (
    EmbeddingModule,
    ImageModelUnavailable,
    TextModelUnavailable,
    get_embedding_module,
    resolve_models,
)
from index.embedding.image_encoder import merge_near_duplicates
from index.settings import EmbeddingSettings

SYNOPSIS = (
    "A young alchemist loses his body in a failed ritual to bring back his mother, and sets out with "
    "his brother to find the philosopher's stone."
)
COOKING = "A shy cook opens a small ramen shop in a quiet seaside town and slowly wins over the locals. "
SPACE = "Huge fleets of starships clash in a galactic war between an empire and a free planets alliance. "


def draw(kind: int, size: int = 224) -> Image.Image:
    image = Image.new("RGB", (size, size), "white")
    pen = ImageDraw.Draw(image)
    if kind == 0:
        pen.ellipse((20, 20, 200, 200), fill="red")
    elif kind == 1:
        for i in range(0, size, 16):
            pen.line((i, 0, size - i, size), fill="green", width=3)
    else:
        pen.rectangle((30, 60, 190, 160), fill="blue")
    return image


def assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


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
    module = EmbeddingModule(
        EmbeddingSettings(_env_file=None, profile="lite", device="cpu", text_model=str(model_dir), image_enabled=False)
    )
    query = module.embed_queries([SYNOPSIS])
    assert float(query[0] @ module.embed_documents([SYNOPSIS])[0]) < 0.999
    np.testing.assert_allclose(query, module.embed_documents(["query: " + SYNOPSIS]), atol=1e-5)


def test_model_without_prompts_embeds_queries_like_documents(embedding_module):
    np.testing.assert_allclose(
        embedding_module.embed_queries([SYNOPSIS]), embedding_module.embed_documents([SYNOPSIS]), atol=1e-5
    )


# -- pictures -------------------------------------------------------------------------------------


def test_drawn_pictures_and_clip_texts_embed(embedding_module):
    assert embedding_module.image_available and embedding_module.image_error is None
    assert embedding_module.image_dim == 32
    images = [draw(0), draw(1), draw(0), Image.new("RGBA", (50, 90), (0, 0, 0, 0)), Image.new("L", (30, 30))]
    vectors = embedding_module.embed_images(images)
    assert_unit_rows(vectors, 5, 32)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    assert float(vectors[0] @ vectors[1]) < 0.999
    texts = embedding_module.embed_clip_texts(["a red circle", "blue " * 200])  # 2nd is > 77 tokens
    assert_unit_rows(texts, 2, 32)


def test_merge_near_duplicates_counts_each_picture_once():
    a, b = np.eye(4, dtype=np.float32)[:2]
    a_like = a + 0.05 * np.eye(4, dtype=np.float32)[2]  # cosine ~0.999 to a
    merged = merge_near_duplicates(np.stack([a, a_like, b, a]))
    assert merged.shape == (2, 4)
    assert float(merged[0] @ a) > 0.99 and float(merged[1] @ b) > 0.999


def test_entry_image_vector_merges_duplicates_then_averages(embedding_module):
    circle, lines = draw(0), draw(1)
    circle_vec, lines_vec = embedding_module.embed_images([circle, lines])
    assert float(circle_vec @ lines_vec) < 0.95  # precondition: two distinct pictures
    many_posters = embedding_module.entry_image_vector([circle, circle.resize((200, 200)), circle, lines])
    one_each = embedding_module.entry_image_vector([circle, lines])
    np.testing.assert_allclose(many_posters, one_each, atol=1e-3)
    assert many_posters.shape == (32,) and abs(np.linalg.norm(many_posters) - 1) < 1e-5
    assert embedding_module.entry_image_vector([]) is None


# -- without image weights: text works, images fail clearly ---------------------------------------


@pytest.fixture(scope="module")
def module_without_image_weights(tmp_path_factory, text_model_path, tiny_clip):
    config_path, _ = tiny_clip
    missing = tmp_path_factory.mktemp("nowhere") / "no-such-checkpoint.pt"
    settings = EmbeddingSettings(
        _env_file=None,
        profile="lite",
        device="cpu",
        text_model=str(text_model_path),
        image_model=str(config_path),
        image_pretrained=str(missing),
    )
    return EmbeddingModule(settings)


def test_missing_image_weights_keep_text_working(module_without_image_weights):
    module = module_without_image_weights
    assert_unit_rows(module.embed_documents([SYNOPSIS]), 1, 384)
    assert module.image_available is False and module.image_dim is None
    assert "ANIME_MCP_IMAGE_PRETRAINED" in module.image_error
    for call in (
        lambda: module.embed_images([draw(0)]),
        lambda: module.embed_clip_texts(["a cat"]),
        lambda: module.entry_image_vector([draw(0)]),
    ):
        with pytest.raises(ImageModelUnavailable, match="ANIME_MCP_IMAGE_PRETRAINED"):
            call()
    assert module.describe()["image_available"] is False


@pytest.mark.anyio
async def test_missing_image_weights_async_calls_raise(module_without_image_weights):
    with pytest.raises(ImageModelUnavailable, match="ANIME_MCP_IMAGE_ENABLED"):
        await module_without_image_weights.aembed_clip_text("a red circle")
    with pytest.raises(ImageModelUnavailable):
        await module_without_image_weights.aembed_images([draw(0)])


def test_image_switched_off_names_the_setting(text_model_path):
    module = EmbeddingModule(
        EmbeddingSettings(
            _env_file=None, profile="lite", device="cpu", text_model=str(text_model_path), image_enabled=False
        )
    )
    assert module.image_model_name is None
    with pytest.raises(ImageModelUnavailable, match="ANIME_MCP_IMAGE_ENABLED"):
        module.embed_images([draw(0)])


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
    module = EmbeddingModule(
        EmbeddingSettings(
            _env_file=None,
            profile="lite",
            device="cpu",
            text_model=str(text_model_path),
            image_model=str(config_path),
            image_pretrained=str(checkpoint_path),
        )
    )
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


# -- profiles ------------------------------------------------------------------------------------


def test_profiles_resolve_models_and_overrides(text_model_path):
    lite = resolve_models(EmbeddingSettings(_env_file=None, profile="auto", device="cpu"))
    assert (lite.profile, lite.text_model) == ("lite", str(text_model_path))
    assert (lite.image_model, lite.image_pretrained) == ("ViT-B-32", "laion2b_s34b_b79k")
    assert (lite.text_batch_size, lite.image_batch_size) == (32, 16)
    full = resolve_models(EmbeddingSettings(_env_file=None, profile="full", device="cpu", text_batch_size=8))
    assert (full.text_model, full.image_model, full.image_pretrained) == (
        "BAAI/bge-m3",
        "ViT-H-14",
        "laion2b_s32b_b79k",
    )
    assert full.text_batch_size == 8
    other = resolve_models(EmbeddingSettings(_env_file=None, profile="lite", device="cpu", image_model="ViT-L-14"))
    assert other.image_pretrained is None  # the profile's tag belongs to ViT-B-32, never reused
    with pytest.raises(ValueError, match="ANIME_MCP_DEVICE"):
        resolve_models(EmbeddingSettings(_env_file=None, device="tpu"))


def test_cpu_precision_bf16_only_where_the_cpu_has_it(monkeypatch):
    from pydantic import ValidationError

    from index.embedding import profiles

    assert profiles.resolve_text_precision("cuda:0", "float32") == "float16"  # GPUs always fp16
    assert profiles.resolve_text_precision("mps", "bfloat16") == "float32"
    assert profiles.resolve_text_precision("cpu", "float32") == "float32"
    assert profiles.resolve_text_precision("cpu", "bfloat16") == "bfloat16"  # asked for: honoured
    monkeypatch.setattr(profiles, "cpu_has_native_bf16", lambda: True)
    assert profiles.resolve_text_precision("cpu", "auto") == "bfloat16"
    monkeypatch.setattr(profiles, "cpu_has_native_bf16", lambda: False)  # emulated bf16 is slower: keep fp32
    assert profiles.resolve_text_precision("cpu", "auto") == "float32"
    with pytest.raises(ValidationError, match="cpu_precision"):
        EmbeddingSettings(_env_file=None, cpu_precision="int8")


def test_query_encoding_leaves_a_core_to_the_server(monkeypatch):
    from index.embedding import profiles

    assert profiles.resolve_query_threads("cuda", 0) == 0  # not ours to set on a GPU
    for cores, threads in ((1, 1), (2, 1), (16, 15)):
        monkeypatch.setattr(profiles, "usable_cores", lambda c=cores: c)
        assert profiles.resolve_query_threads("cpu", 0) == threads
    assert profiles.resolve_query_threads("cpu", 3) == 3  # a setting wins


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


def test_other_architecture_without_weights_is_unavailable_not_random(text_model_path):
    module = EmbeddingModule(
        EmbeddingSettings(
            _env_file=None, profile="lite", device="cpu", text_model=str(text_model_path), image_model="ViT-L-14"
        )
    )
    assert module.image_available is False
    assert "ANIME_MCP_IMAGE_PRETRAINED" in module.image_error


# -- async: micro-batching, event loop stays free --------------------------------------------------


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


def _recording_batcher(window_s: float, gate: threading.Event | None = None):
    from index.embedding.batching import MicroBatcher

    batches: list[list[int]] = []

    def encode(items: list[int]) -> np.ndarray:
        if gate is not None:
            gate.wait(10)
        batches.append(list(items))
        return np.asarray(items, dtype=np.float32)[:, None]

    return MicroBatcher(encode, window_s=window_s, max_batch=32, name="test"), batches


def test_a_lone_query_is_encoded_at_once_not_after_the_window():
    batcher, batches = _recording_batcher(window_s=30.0)
    try:
        for i in range(3):  # one caller at a time, as one assistant over stdio: 30 s each if it waited
            assert batcher.submit(i).result(timeout=5)[0] == i
        assert batches == [[0], [1], [2]]
    finally:
        batcher.close()


def test_overlapping_queries_wait_the_window_and_share_a_call():
    gate = threading.Event()
    batcher, batches = _recording_batcher(window_s=0.5, gate=gate)
    try:
        first = batcher.submit(0)  # encoded at once; the encoder is held until the gate opens
        while not batches and batcher.calls == 0:
            time.sleep(0.01)
        queued = [batcher.submit(i) for i in (1, 2, 3)]  # arrive while the encoder is busy
        gate.set()
        assert [f.result(timeout=5)[0] for f in [first, *queued]] == [0, 1, 2, 3]
        assert batches == [[0], [1, 2, 3]]
        # requests overlap now: the next one waits the window, and one arriving within it joins it
        late = [batcher.submit(4)]
        time.sleep(0.05)
        late.append(batcher.submit(5))
        assert [f.result(timeout=5)[0] for f in late] == [4, 5]
        assert batches[-1] == [4, 5]
    finally:
        batcher.close()


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
