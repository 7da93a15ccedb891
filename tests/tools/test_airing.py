"""airing_schedule through MCP: a show's next episodes and a day's episodes from AniList's airing schedule
(documented shape), in the user's time zone; a season's shows from the index, offline too."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

pytestmark = pytest.mark.anyio


async def test_next_episodes_of_a_show_in_the_users_time_zone(live_client):
    result = await live_client.call_tool("airing_schedule", {"anime": "mal-30", "timezone": "Asia/Tokyo"})
    assert not result.is_error, result.content[0].text
    got = result.structured_content
    assert got["timezone"] == "Asia/Tokyo"
    assert [e["episode"] for e in got["episodes"]] == [7, 8]
    first = datetime.fromisoformat(got["episodes"][0]["airs_at"])
    assert first.utcoffset() == timedelta(hours=9)
    assert got["episodes"][0]["anime_id"] == "mal-30"


async def test_a_finished_show_says_so(live_client):
    result = await live_client.call_tool("airing_schedule", {"anime": "Cowboy Bebop"})
    got = result.structured_content
    assert got["episodes"] == [] and "no episode scheduled (status: finished)" in got["note"]


async def test_a_day_lists_its_episodes_joined_to_our_entries_without_adult_shows(live_client):
    result = await live_client.call_tool("airing_schedule", {"day": "tomorrow", "timezone": "Europe/Paris"})
    got = result.structured_content
    assert [(e["title"], e["episode"], e["anime_id"]) for e in got["episodes"]] == [
        ("Cowboy Bebop", 5, "mal-1"),
        ("Shin Sakuhin", 3, None),
    ]
    tomorrow = (datetime.now(datetime.fromisoformat(got["episodes"][0]["airs_at"]).tzinfo) + timedelta(days=1)).date()
    assert datetime.fromisoformat(got["episodes"][0]["airs_at"]).date() == tomorrow


async def test_a_season_comes_from_the_index_offline(client):
    result = await client.call_tool("airing_schedule", {"season": "fall 1998"})
    assert not result.is_error, result.content[0].text
    got = result.structured_content
    assert got["season"] == "fall 1998" and got["entries"]
    assert all(set(e) == {"id", "title", "type", "episodes"} for e in got["entries"])


async def test_offline_episode_times_say_why_and_the_season_part_still_answers(client):
    alone = await client.call_tool("airing_schedule", {"day": "today"})
    assert alone.is_error and "ANIME_MCP_LIVE_APIS_ENABLED" in alone.content[0].text
    both = await client.call_tool("airing_schedule", {"day": "today", "season": "spring 1998"})
    assert not both.is_error and both.structured_content["entries"]
    assert "ANIME_MCP_LIVE_APIS_ENABLED" in both.structured_content["note"]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({}, "Name an anime, a day or a season"),
        ({"day": "someday", "timezone": "UTC"}, "Unknown day"),
        ({"season": "monsoon 2020"}, "Unknown season"),
        ({"season": "current", "timezone": "Mars/Olympus"}, "Unknown time zone"),
    ],
)
async def test_bad_arguments_are_one_line(client, arguments, says):
    result = await client.call_tool("airing_schedule", arguments)
    assert result.is_error and says in result.content[0].text and "\n" not in result.content[0].text
