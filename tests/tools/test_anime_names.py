"""Through the MCP protocol: every tool, prompt and resource that takes an anime reads a name the way a user says
it (short, partial, English, Japanese, misspelt, a franchise's bare name), says which entry it chose and the close
ones it did not, and only fails when nothing is titled so, listing search_anime's best matches with their ids."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.anyio


def text_of(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


# (kind, name, the entry meant)
NAMES = [
    ("short", "Totoro", "mal-523"),
    ("partial", "Lelouch of the Rebellion", "mal-1575"),
    ("English", "Spirited Away", "mal-199"),
    ("Japanese", "涼宮ハルヒの憂鬱", "mal-849"),
    ("misspelt", "Cowboy Bebob", "mal-1"),
    ("ambiguous franchise", "Kenshin", "mal-45"),
]


@pytest.mark.parametrize(("kind", "name", "meant"), NAMES, ids=[n[0] for n in NAMES])
async def test_get_anime_reads_the_name_as_the_user_means_it(client, kind, name, meant):
    result = await client.call_tool("get_anime", {"anime": name})
    assert not result.is_error, text_of(result)
    assert result.structured_content["id"] == meant
    assert text_of(result).startswith(f"{name!r} read as ")


async def test_get_anime_names_the_alternatives_it_did_not_choose(client):
    result = await client.call_tool("get_anime", {"anime": "Evangelion"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["id"] == "mal-30"
    first = text_of(result).splitlines()[0]
    assert first.startswith("'Evangelion' read as Neon Genesis Evangelion [mal-30]; also: ") and "[mal-32]" in first


@pytest.mark.parametrize(("kind", "name", "meant"), NAMES, ids=[n[0] for n in NAMES])
async def test_find_similar_anime_reads_the_name_the_same_way(client, kind, name, meant):
    result = await client.call_tool("find_similar_anime", {"anime": name, "limit": 3})
    assert not result.is_error, text_of(result)
    resolved = result.structured_content["resolved"]
    assert [r["id"] for r in resolved] == [meant] and resolved[0]["query"] == name
    assert meant not in {r["id"] for r in result.structured_content["results"]}
    assert text_of(result).startswith(f"{name!r} read as ")


async def test_recommend_anime_reads_liked_and_disliked_names(client):
    names = {"liked": ["Haruhi", "トトロ", "Lelouch of the Rebellion"], "disliked": ["Evangelon", "Spirited Away"]}
    result = await client.call_tool("recommend_anime", {**names, "limit": 5})
    assert not result.is_error, text_of(result)
    read = {r["query"]: r["id"] for r in result.structured_content["resolved"]}
    assert read == {
        "Haruhi": "mal-849",
        "トトロ": "mal-523",
        "Lelouch of the Rebellion": "mal-1575",
        "Evangelon": "mal-30",
        "Spirited Away": "mal-199",
    }
    assert not set(read.values()) & {r["id"] for r in result.structured_content["results"]}
    assert "'Evangelon' read as Neon Genesis Evangelion [mal-30]" in text_of(result)


async def test_a_prompt_argument_is_read_the_same_way(client):
    prompt = await client.get_prompt("like_x_but_y", {"anime": "Totoro", "difference": "more action"})
    text = prompt.messages[0].content.text
    assert "'Totoro' read as Tonari no Totoro [mal-523]" in text
    assert "Call get_anime with 'mal-523'" in text


async def test_a_prompt_argument_nothing_is_titled_asks_the_user(client):
    prompt = await client.get_prompt("like_x_but_y", {"anime": "zzzz qqqq xxxx", "difference": "shorter"})
    text = prompt.messages[0].content.text
    assert "search_anime's best matches" in text and "Ask the user" in text


async def test_the_anime_resource_reads_a_name_like_an_id(client):
    by_name = await client.read_resource("anime://Totoro")
    assert json.loads(by_name.contents[0].text)["id"] == "mal-523"
    by_id = await client.read_resource("anime://mal-523")
    assert json.loads(by_id.contents[0].text)["id"] == "mal-523"


async def test_nothing_titled_so_is_an_error_listing_search_anime_best_matches(client):
    result = await client.call_tool("get_anime", {"anime": "zzzz qqqq xxxx"})
    assert result.is_error
    text = text_of(result)
    assert "search_anime's best matches" in text and "[mal-" in text and "Traceback" not in text
    similar = await client.call_tool("find_similar_anime", {"anime": "zzzz qqqq xxxx"})
    assert similar.is_error and "search_anime's best matches" in text_of(similar)
