"""search_anime takes a request as the user said it, through the MCP protocol (real 1,822 + 28 entries).

An assistant passes its user's words on verbatim: the wrapper ("what's the movie where", "I remember a show
about", "can you find ...", "something like X but Y") is read, reported in interpreted_as and the text line,
and does not sink the entry the description names. Titles that contain such words still find their entry.
"""

from __future__ import annotations

import pytest

from tests.tools.test_query_understanding import search

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "query, wrapper, expected",
    [
        ("anime about a guy who finds a notebook that kills people", ["anime about"], "mal-1535"),
        (
            "I remember a show about a neurosurgeon chasing a serial killer he once saved as a boy",
            ["I remember a show about"],
            "mal-19",
        ),
        (
            "can you find the anime where a schoolgirl falls down the well at her family's shrine into feudal Japan",
            ["can you find the anime where"],
            "mal-249",
        ),
        (
            "is there an anime where a young witch moves to a town by the sea and starts a delivery service",
            ["is there an anime where"],
            "mal-512",
        ),
    ],
)
async def test_a_request_finds_what_it_describes_and_says_how_it_was_read(client, query, wrapper, expected):
    data = await search(client, query, limit=5)
    read = data["interpreted_as"]
    assert read["request"] == wrapper
    assert read["text"] == query[len(wrapper[0]) :].strip()
    assert data["results"][0]["id"] == expected, [h["title"] for h in data["results"]]
    assert "request wrapper" in data["text"] and "searched text" in data["text"]


async def test_the_movie_where_prefers_films(client):
    query = "what's the movie where a little girl works in a bathhouse for spirits after her parents turn into pigs"
    data = await search(client, query, limit=5)
    assert data["results"][0]["id"] == "mal-199"  # Sen to Chihiro no Kamikakushi (Spirited Away)
    assert data["interpreted_as"]["boosts"] == ["type MOVIE"] and data["interpreted_as"]["filters"] == {}


async def test_like_x_but_y_searches_y_and_names_x_as_a_reference(client):
    data = await search(client, "looking for something like Cowboy Bebop but with samurai in old Japan and hip hop")
    read = data["interpreted_as"]
    assert read["like"] == "Cowboy Bebop" and "samurai" in read["text"] and "bebop" not in read["text"].lower()
    ids = [h["id"] for h in data["results"]]
    assert "mal-205" in ids[:3] and "mal-1" not in ids[:3]  # Samurai Champloo, not Cowboy Bebop itself


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Macross: Do You Remember Love?", "mal-1089"),
        ("do you remember love", "mal-1089"),
        ("Those Who Hunt Elves", "mal-1045"),
        ("The Boy Who Saw the Wind", "mal-757"),
        ("Like the Clouds, Like the Wind", "mal-1032"),
        ("Naruto: Find the Crimson Four-leaf Clover!", "mal-761"),
    ],
)
async def test_titles_with_request_words_still_resolve(client, title, expected):
    data = await search(client, title, limit=5)
    assert data["results"][0]["id"] == expected, [h["title"] for h in data["results"]]
    assert data["interpreted_as"]["request"] == []
