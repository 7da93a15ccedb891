"""watch_order through MCP: a franchise of the shared data in release order, each entry marked."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


async def order(client, anime: str) -> dict:
    result = await client.call_tool("watch_order", {"anime": anime})
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def test_ghost_in_the_shell_films_tv_seasons_and_specials_in_release_order(client):
    got = await order(client, "Ghost in the Shell")
    ids = [e["id"] for e in got["entries"]]
    # the 1995 film, the two TV seasons, the 2004 film, the shorts and the 2006 special, by first air date
    assert ids == ["mal-43", "mal-467", "mal-1335", "mal-801", "mal-468", "mal-1566"]
    roles = {e["id"]: e["role"] for e in got["entries"]}
    assert roles["mal-43"] == roles["mal-468"] == "film"
    assert roles["mal-467"] == roles["mal-801"] == "main story"
    assert roles["mal-1566"] == "special"
    released = [e["released"] for e in got["entries"]]
    assert released == sorted(released) and released[0] == "1995-11-18"


async def test_marks_recaps_films_and_side_stories(client):
    fma = {e["id"]: e["role"] for e in (await order(client, "Fullmetal Alchemist"))["entries"]}
    assert fma == {"mal-121": "main story", "mal-664": "recap", "mal-430": "film", "mal-908": "side story"}
    eva = await order(client, "Neon Genesis Evangelion: The End of Evangelion")
    assert [e["id"] for e in eva["entries"]] == ["mal-30", "mal-31", "mal-32"]
    assert eva["title"] == "Neon Genesis Evangelion: The End of Evangelion"


async def test_long_franchise_keeps_seasons_and_films_in_order(client):
    got = await order(client, "Initial D First Stage")
    titles = [e["title"] for e in got["entries"]]
    assert titles[:3] == ["Initial D First Stage", "Initial D Second Stage", "Initial D Third Stage"]
    assert {"Initial D Extra Stage", "Initial D Battle Stage", "Initial D Fourth Stage"} <= set(titles)
    lupin = await order(client, "Lupin III")
    assert lupin["entries"][0]["id"] == "mal-1412" and len(lupin["entries"]) >= 25
    assert {e["role"] for e in lupin["entries"]} >= {"main story", "film", "special"}


async def test_relations_give_the_relation_type(client):
    """The enriched sample links its Bungaku Shoujo entries by relations (with types)."""
    got = await order(client, '"Bungaku Shoujo" Memoire')
    assert got["basis"] in ("relations", "both")
    rel = {e["title"]: e["relation"] for e in got["entries"]}
    assert len(rel) == 3
    assert any(r and "SIDE STORY" in r for r in rel.values())


async def test_text_lists_each_entry_with_role_and_id(client):
    result = await client.call_tool("watch_order", {"anime": "Cowboy Bebop"})
    text = result.content[0].text
    assert "1. Cowboy Bebop (TV, 26 ep, 1998-04-03) - main story [id mal-1]" in text
    assert "2. Cowboy Bebop: The Movie (MOVIE, 1 ep, 2001-09-01) - film [id mal-5]" in text


async def test_unknown_anime_is_one_clear_line(client):
    result = await client.call_tool("watch_order", {"anime": "zzqx no such show"})
    assert result.is_error
    text = result.content[0].text
    assert "No anime matches" in text and "\n" not in text and "Traceback" not in text
