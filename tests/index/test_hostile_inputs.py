"""Arguments a caller can send that once ended in "failed unexpectedly" or told too much, through MCP:
a lone surrogate in filters.tags or in recommend's liked, a NUL in an image path, a picture error that
showed a heap address, and statistics that showed the data folder and the model's file path."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.index.small_index import build_small_index, client_over

pytestmark = pytest.mark.anyio


def text_of(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


@pytest.fixture(scope="module")
async def small_index(tmp_path_factory, remembering_embedder, index_entries):
    data_dir = tmp_path_factory.mktemp("hostile-index")
    await build_small_index(data_dir, remembering_embedder, index_entries)
    return data_dir


@pytest.fixture
async def client(small_index, remembering_embedder):
    async with client_over(small_index, remembering_embedder) as c:
        yield c


def assert_clear_error(result, *words: str) -> None:
    text = text_of(result)
    assert result.is_error, text
    assert "unexpectedly" not in text and "Traceback" not in text and " at 0x" not in text, text
    for word in words:
        assert word in text, text


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("search_anime", {"query": "space pirates", "filters": {"tags": ["mecha\ud800"]}}),
        ("search_anime", {"query": "space\ud800 pirates"}),
        ("browse_anime", {"filters": {"studios": ["sun\udfffrise"]}}),
        ("recommend_anime", {"liked": ["Cowboy\ud800 Bebop"]}),
        ("get_anime", {"anime": "Cowboy\udc00"}),
        ("search_anime", {"query": "space\x00pirates"}),
        ("search_anime", {"query": "space pirates", "filters": {"tags": ["mecha\x00"]}}),
    ],
)
async def test_lone_surrogates_and_nul_are_clear_errors(client, tool, args):
    result = await client.call_tool(tool, args)
    assert_clear_error(result)


async def test_nul_in_an_image_path_is_a_clear_error(client):
    assert_clear_error(await client.call_tool("search_anime_by_image", {"image": "/tmp/poster\x00.png"}), "NUL")


async def test_unreadable_picture_error_has_no_heap_address(client):
    junk = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 80).decode()
    assert_clear_error(await client.call_tool("search_anime_by_image", {"image": junk}), "not a readable image")


async def test_a_very_thin_picture_is_searched_within_bounds(client, monkeypatch):
    """A 16000x1 PNG: preprocessing once scaled its short side to 224 (a 3,584,000x224 image, gigabytes).
    The encoder must now receive a picture of at most 4:1, whatever the file's proportions."""
    from index.embedding.image_encoder import ImageEncoder

    seen: list[tuple[int, int]] = []
    embed = ImageEncoder.embed_images

    def bounded(self, images):
        seen.extend(im.size for im in images)
        assert all(max(im.size) <= 4 * min(im.size) for im in images), seen  # before the real (huge) work
        return embed(self, images)

    monkeypatch.setattr(ImageEncoder, "embed_images", bounded)
    buf = io.BytesIO()
    Image.new("RGB", (16000, 1), "red").save(buf, format="PNG")
    result = await client.call_tool("search_anime_by_image", {"image": base64.b64encode(buf.getvalue()).decode()})
    assert not result.is_error, text_of(result)
    assert seen == [(4, 1)]


async def test_stats_show_no_server_path(client, small_index, text_model_path):
    result = await client.call_tool("anime_database_stats", {})
    assert not result.is_error, text_of(result)
    shown = text_of(result) + str(result.structured_content)
    assert str(small_index) not in shown and str(text_model_path) not in shown and "/tmp" not in shown, shown
    assert result.structured_content["text_model"] == "all-MiniLM-L6-v2"  # its model card's title, not "model"
    assert result.structured_content["image_model"] == "tiny-clip-test"
    schema = await client.read_resource("anime://schema")
    body = schema.contents[0].text
    assert str(small_index) not in body and str(text_model_path) not in body
