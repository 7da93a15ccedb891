"""identify_scene through MCP: the picture is read with image search's checks, sent to trace.moe (documented
request and answer), and each match joined to our entry with its episode, moment and similarity."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

pytestmark = pytest.mark.anyio


def screenshot(size: tuple[int, int] = (1920, 1080)) -> str:
    image = Image.new("RGB", size, (30, 60, 90))
    image.paste((200, 180, 40), (400, 300, 900, 700))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


async def test_screenshot_gives_anime_episode_moment_and_similarity(live_client, live_fake):
    result = await live_client.call_tool("identify_scene", {"image": screenshot()})
    assert not result.is_error, result.content[0].text
    best, second = result.structured_content["matches"]
    assert best == {"similarity": 0.971, "title": "Cowboy Bebop", "episode": "5", "at": "12:34", "anime_id": "mal-1"}
    assert second["anime_id"] == "mal-5" and second["episode"] is None
    assert "1. Cowboy Bebop - episode 5 at 12:34 - similarity 97%" in result.content[0].text
    content_type, size = live_fake.uploads[-1]
    assert content_type == "image/jpeg" and 0 < size < 300_000  # re-encoded and made smaller before upload


async def test_not_a_picture_is_refused_before_any_upload(live_client, live_fake):
    live_fake.uploads.clear()
    not_a_picture = "data:image/png;base64," + base64.b64encode(b"not an image at all").decode()
    result = await live_client.call_tool("identify_scene", {"image": not_a_picture})
    assert result.is_error and "not a readable image" in result.content[0].text
    assert live_fake.uploads == []


async def test_trace_moe_refusing_is_one_line(live_client, live_fake):
    live_fake.fail("tracemoe", "500")
    result = await live_client.call_tool("identify_scene", {"image": screenshot((64, 64))})
    assert result.is_error
    text = result.content[0].text
    assert "trace.moe could not answer" in text and "\n" not in text


async def test_offline_says_why_in_one_line(client):
    result = await client.call_tool("identify_scene", {"image": screenshot((64, 64))})
    assert result.is_error and "ANIME_MCP_LIVE_APIS_ENABLED" in result.content[0].text
