"""What the cold start leaves out or defers: the image model waits for the first text query,
sentence-transformers comes without scikit-learn, the image vector size needs no open_clip import."""

from __future__ import annotations

import subprocess
import sys
import threading

import anyio
import pytest

from tests.paths import ROOT


@pytest.mark.anyio
async def test_the_image_model_loads_after_the_first_text_query(monkeypatch, text_model_path, tiny_clip):
    import index.embedding.module as module_mod
    from index.embedding import EmbeddingModule
    from index.settings import EmbeddingSettings

    started = threading.Event()
    real_encoder = module_mod.ImageEncoder

    def recording_encoder(*args, **kwargs):
        started.set()
        return real_encoder(*args, **kwargs)

    monkeypatch.setattr(module_mod, "ImageEncoder", recording_encoder)
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
        await anyio.to_thread.run_sync(module.warmup)
        await anyio.sleep(0.3)
        assert not started.is_set() and module.image_status == "loading"  # warm-up and start-up run alone
        await module.aembed_query("a lighthouse keeper and a ghost")
        assert await anyio.to_thread.run_sync(started.wait, 30)
        assert await module.await_image()  # and it does load
    finally:
        module._go.set()
        module.close()


def test_sentence_transformers_is_imported_without_scikit_learn():
    """In a fresh interpreter: the stand-in keeps scikit-learn out, and the one function it lends works."""
    code = (
        "import sys, torch\n"
        "from index.embedding.text_encoder import without_sklearn\n"
        "with without_sklearn():\n"
        "    import sentence_transformers\n"
        "assert 'sklearn' not in sys.modules and 'sklearn.metrics' not in sys.modules, 'sklearn imported'\n"
        "from sentence_transformers.util.similarity import pairwise_distances\n"
        "assert float(pairwise_distances([[0.0, 0.0]], [[3.0, 4.0]])[0][0]) == 5.0\n"
        "assert 'sklearn.metrics' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_image_vector_size_is_read_without_importing_open_clip():
    from index.embedding.image_loader import open_clip_embed_dim

    assert open_clip_embed_dim("ViT-B-32") == 512
    assert open_clip_embed_dim("ViT-H-14") == 1024
    assert open_clip_embed_dim("no-such-architecture") is None
