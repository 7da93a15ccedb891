"""Pictures whose preprocessing would cost far more than their file: the work is bounded by what the
model's preprocessing allocates (the short side scaled to the model's size), not by the pixel count."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from index.embedding.errors import ImageInputError
from index.embedding.image_fetch import MAX_ASPECT, decode_image

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 40_000_000}


def png(size: tuple[int, int], color="red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("size", [(65000, 1), (1, 65000), (16000, 1), (6000, 1000)])
def test_extreme_proportions_are_cropped_to_the_centre(size):
    image = decode_image(png(size), "test", **LIMITS)  # 65000x1 is 142 bytes and far under the pixel cap
    short, long = sorted(image.size)
    assert long <= MAX_ASPECT * short
    assert short == min(size)  # the centre is kept at full resolution: what the model's centre crop sees


def test_the_centre_is_what_is_kept():
    wide = Image.new("RGB", (1000, 100), "blue")
    wide.paste(Image.new("RGB", (100, 100), "red"), (450, 0))
    buf = io.BytesIO()
    wide.save(buf, format="PNG")
    image = decode_image(buf.getvalue(), "test", **LIMITS)
    assert image.size == (400, 100) and image.getpixel((200, 50)) == (255, 0, 0)


def test_ordinary_pictures_are_untouched():
    for size in ((40, 30), (1920, 480), (480, 1920)):
        assert decode_image(png(size), "test", **LIMITS).size == size


def test_unreadable_data_shows_no_heap_address():
    with pytest.raises(ImageInputError) as caught:
        decode_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image bytes", **LIMITS)
    assert " at 0x" not in str(caught.value) and "not a readable image" in str(caught.value)
