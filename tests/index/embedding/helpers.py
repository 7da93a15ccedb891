"""Shared by the embedding tests: sample texts, drawn pictures, unit-row assertion, a module built on the spot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from index.embedding import EmbeddingModule
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


def lite_module(text_model: Path | str, **settings: Any) -> EmbeddingModule:
    """A module of its own (not the shared fixture): lite profile, CPU, this text model, no .env; ``settings``
    set the rest (image model and weights, image_enabled)."""
    return EmbeddingModule(
        EmbeddingSettings(_env_file=None, profile="lite", device="cpu", text_model=str(text_model), **settings)
    )
