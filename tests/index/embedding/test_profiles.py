"""Profiles: which models, batch sizes, precision and query threads a machine gets from the settings."""

from __future__ import annotations

import pytest

from index.embedding import resolve_models
from index.settings import EmbeddingSettings


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
