"""recommend_anime with from_list through MCP: a public AniList or Kitsu list (documented shapes) becomes likes
and dislikes by score, resolved to our entries; a private or missing list is one clear line."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio
site_name = {"anilist": "AniList", "kitsu": "Kitsu"}


async def test_anilist_list_scores_become_likes_and_dislikes(live_client):
    result = await live_client.call_tool("recommend_anime", {"from_list": {"site": "anilist", "user": "alice"}})
    assert not result.is_error, result.content[0].text
    text = result.content[0].text
    # Bebop 9.5, Evangelion 8.5, GitS completed unscored: liked; Dragon Ball 4 and dropped Naruto: disliked
    assert "From alice's AniList list (6 entries, 5 in the index): 3 liked, 2 disliked or dropped" in text
    ids = [hit["id"] for hit in result.structured_content["results"]]
    assert ids and not {"mal-1", "mal-30", "mal-43", "mal-223", "mal-20"} & set(ids)  # the listed ones left out
    assert len(ids) == 10


async def test_kitsu_list_and_named_likes_together(live_client):
    result = await live_client.call_tool(
        "recommend_anime", {"liked": ["Trigun"], "from_list": {"site": "kitsu", "user": "bob"}, "limit": 5}
    )
    assert not result.is_error, result.content[0].text
    assert "From bob's Kitsu list (3 entries, 3 in the index): 2 liked, 1 disliked" in result.content[0].text
    assert len(result.structured_content["results"]) == 5


@pytest.mark.parametrize(("site", "user"), [("anilist", "private"), ("anilist", "nobody"), ("kitsu", "nobody")])
async def test_private_or_missing_list_is_one_clear_line(live_client, site, user):
    result = await live_client.call_tool("recommend_anime", {"from_list": {"site": site, "user": user}})
    assert result.is_error
    text = result.content[0].text
    assert f"No public {site_name[site]} anime list for user {user!r}" in text and "\n" not in text


async def test_without_likes_or_a_list(client):
    result = await client.call_tool("recommend_anime", {})
    assert result.is_error and "Name at least one liked anime, or give from_list" in result.content[0].text


async def test_offline_list_says_why(client):
    result = await client.call_tool("recommend_anime", {"from_list": {"site": "anilist", "user": "alice"}})
    assert result.is_error and "ANIME_MCP_LIVE_APIS_ENABLED" in result.content[0].text
