"""Local picture paths with allowed folders set: a refusal must not tell a caller what exists outside them,
and a NUL in a path is a clear error (it was a ValueError from the file system call: "failed unexpectedly")."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from index.embedding.errors import ImageInputError
from index.embedding.image_fetch import ImageFetcher
from index.settings import ImageFetchSettings

pytestmark = pytest.mark.anyio


@pytest.fixture
def fetcher(tmp_path) -> ImageFetcher:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buf, format="PNG")
    (allowed / "poster.png").write_bytes(buf.getvalue())
    (tmp_path / "secret.png").write_bytes(buf.getvalue())
    settings = ImageFetchSettings(_env_file=None, image_cache_dir=tmp_path / "cache", image_allowed_dirs=[allowed])
    return ImageFetcher(settings)


async def refusal(fetcher: ImageFetcher, path: str) -> str:
    with pytest.raises(ImageInputError) as caught:
        await fetcher.fetch(path)
    return str(caught.value).replace(path, "<the path>")


async def test_outside_the_allowed_folders_existing_or_not_reads_the_same(fetcher, tmp_path):
    existing = await refusal(fetcher, str(tmp_path / "secret.png"))
    missing = await refusal(fetcher, str(tmp_path / "no-such.png"))
    assert existing == missing and "outside ANIME_MCP_IMAGE_ALLOWED_DIRS" in existing
    assert str(tmp_path / "allowed") not in existing  # the allowed folders are not listed either


async def test_inside_the_allowed_folders_a_missing_file_is_not_found(fetcher, tmp_path):
    assert (await fetcher.fetch(str(tmp_path / "allowed" / "poster.png"))).size == (40, 30)
    assert "not found" in await refusal(fetcher, str(tmp_path / "allowed" / "gone.png"))


async def test_a_nul_in_a_path_is_a_clear_error(fetcher, tmp_path):
    assert "NUL" in await refusal(fetcher, str(tmp_path / "allowed" / "poster\x00.png"))
