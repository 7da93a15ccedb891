"""Inputs and checks shared by the embedding tests: sample texts, drawn pictures, unit-row assertion."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

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
