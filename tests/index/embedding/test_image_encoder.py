"""Picture vectors: drawn pictures and CLIP texts, duplicate pictures counted once, and clear errors
naming the setting when image weights are missing or switched off (text keeps working)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from index.embedding import ImageModelUnavailable
from index.embedding.image_encoder import merge_near_duplicates
from tests.index.embedding.helpers import SYNOPSIS, assert_unit_rows, draw, lite_module

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
    return lite_module(text_model_path, image_model=str(config_path), image_pretrained=str(missing))


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
    module = lite_module(text_model_path, image_enabled=False)
    assert module.image_model_name is None
    with pytest.raises(ImageModelUnavailable, match="ANIME_MCP_IMAGE_ENABLED"):
        module.embed_images([draw(0)])


def test_other_architecture_without_weights_is_unavailable_not_random(text_model_path):
    module = lite_module(text_model_path, image_model="ViT-L-14")
    assert module.image_available is False
    assert "ANIME_MCP_IMAGE_PRETRAINED" in module.image_error
