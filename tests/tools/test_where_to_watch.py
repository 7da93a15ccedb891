"""where_to_watch through MCP: links from AniList (recorded) and Kitsu (documented shape) when live calls are
allowed; offline, the index's streaming_info, or one line saying why there is nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


async def test_links_from_anilist_and_kitsu_with_subs_and_dubs(live_client, live_fake):
    result = await live_client.call_tool("where_to_watch", {"anime": "Cowboy Bebop"})
    assert not result.is_error, result.content[0].text
    got = result.structured_content
    assert got["anime_id"] == "mal-1"
    sites = {(link["site"], link["source"]) for link in got["links"]}
    assert {("Hulu", "anilist"), ("Crunchyroll", "anilist"), ("Funimation", "kitsu")} <= sites
    funimation = next(link for link in got["links"] if link["site"] == "Funimation")
    assert funimation["subtitles"] == ["en"] and funimation["dubs"] == ["en"]
    assert "- Crunchyroll: http://www.crunchyroll.com/cowboy-bebop" in result.content[0].text


async def test_answers_are_cached(live_client, live_fake):
    await live_client.call_tool("where_to_watch", {"anime": "Cowboy Bebop"})
    sent = len(live_fake.requests("anilist"))
    again = await live_client.call_tool("where_to_watch", {"anime": "Cowboy Bebop"})
    assert not again.is_error
    assert len(live_fake.requests("anilist")) == sent  # the AniList answer came from the cache


async def test_region_keeps_links_for_it_and_says_when_a_source_does_not_say(live_client):
    result = await live_client.call_tool("where_to_watch", {"anime": "Cowboy Bebop", "region": "US"})
    got = result.structured_content
    assert got["links"]  # AniList and Kitsu do not name a region for these links: kept, and said
    assert "do not say their region" in got["note"]


async def test_a_failing_site_is_one_line(live_client, live_fake):
    live_fake.fail("anilist", "500")
    result = await live_client.call_tool("where_to_watch", {"anime": "Cowboy Bebop"})
    assert result.is_error
    text = result.content[0].text
    assert "AniList could not answer: it is not answering" in text and "\n" not in text and "127.0.0.1" not in text


async def test_offline_says_why_in_one_line(client):
    result = await client.call_tool("where_to_watch", {"anime": "Cowboy Bebop"})
    assert result.is_error
    text = result.content[0].text
    assert "ANIME_MCP_LIVE_APIS_ENABLED" in text and "\n" not in text


async def test_offline_answers_from_the_index(client):
    """The enriched sample's streaming_info is answered without any network call."""
    result = await client.call_tool("where_to_watch", {"anime": '"Bungaku Shoujo" Movie'})
    assert not result.is_error, result.content[0].text
    got = result.structured_content
    assert got["links"] and all(link["source"] == "index" for link in got["links"])
    assert "live lookups are off" in got["note"]
