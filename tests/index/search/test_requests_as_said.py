"""Requests as people say them (index/search/intent_requests.py): the wrapper around a description is read,
reported and left out of the searched text; a title that contains such words is left alone.

End to end through MCP: tests/tools/test_requests_as_said.py.
"""

from __future__ import annotations

import pytest

from index.search.intent import Vocabulary, read_query
from index.search.intent_requests import read_request

VOCAB = Vocabulary(genres={"comedy", "romance", "sports", "gourmet", "drama"}, studios={"studio ghibli"}, max_year=2023)


@pytest.mark.parametrize(
    "query, core, wrapper",
    [
        # a noun phrase and a linker
        (
            "anime about a guy who finds a notebook that kills people",
            "a guy who finds a notebook that kills people",
            ["anime about"],
        ),
        ("the one where a spy builds a fake family", "a spy builds a fake family", ["the one where"]),
        (
            "that movie with the three homeless people and a baby",
            "the three homeless people and a baby",
            ["that movie with"],
        ),
        # a question that names the noun
        (
            "what's the movie where a girl works in a bathhouse for spirits",
            "a girl works in a bathhouse for spirits",
            ["what's the movie where"],
        ),
        (
            "which anime has a traveller and a talking motorcycle",
            "a traveller and a talking motorcycle",
            ["which anime has"],
        ),
        (
            "is there an anime where a young witch runs a delivery service",
            "a young witch runs a delivery service",
            ["is there an anime where"],
        ),
        (
            "there's this show where a girl starts a club to find aliens",
            "a girl starts a club to find aliens",
            ["there's this show where"],
        ),
        # an opener, with or without a noun phrase
        (
            "can you find the anime where a kid learns go from a ghost",
            "a kid learns go from a ghost",
            ["can you find the anime where"],
        ),
        (
            "I remember a show about a surgeon chasing a killer",
            "a surgeon chasing a killer",
            ["I remember a show about"],
        ),
        (
            "I'm trying to remember a movie about siblings after the war",
            "siblings after the war",
            ["I'm trying to remember a movie about"],
        ),
        (
            "recommend me that show where a biker becomes a teacher",
            "a biker becomes a teacher",
            ["recommend me that show where"],
        ),
        (
            "do you know the anime where a family turns into zodiac animals",
            "a family turns into zodiac animals",
            ["do you know the anime where"],
        ),
        # greetings, words that describe the anime kept, tails and hedges dropped
        (
            "hey, can you help me find that show where a ghost girl visits her old friends i think?",
            "a ghost girl visits her old friends",
            ["hey, can you help me find that show where", "i think"],
        ),
        (
            "the school mystery anime where a lazy boy joins a club",
            "school mystery anime a lazy boy joins a club",
            ["the … where"],
        ),
        (
            "find the one with the giant robots, what's it called?",
            "the giant robots",
            ["find the one with", "what's it called"],
        ),
    ],
)
def test_wrappers_are_read_as_families_of_phrasing(query, core, wrapper):
    read = read_request(query)
    assert (read.core, read.wrapper) == (core, wrapper)


@pytest.mark.parametrize(
    "query, like, core",
    [
        (
            "looking for something like Cowboy Bebop but with samurai in old Japan",
            "Cowboy Bebop",
            "samurai in old Japan",
        ),
        ("recommend me something like Haikyuu but about basketball", "Haikyuu", "basketball"),
        ("similar to Death Note, but where the hero leads a rebellion", "Death Note", "the hero leads a rebellion"),
        ("is there anything like Haikyuu but about basketball", "Haikyuu", "basketball"),
    ],
)
def test_like_x_but_y_takes_x_as_a_reference(query, like, core):
    read = read_request(query)
    assert (read.like, read.core) == (like, core)


@pytest.mark.parametrize(
    "title",
    [
        "Macross: Do You Remember Love?",
        "Is It Wrong to Try to Pick Up Girls in a Dungeon?",
        "What's wrong with Kaguya",
        "The Girl Who Leapt Through Time",
        "The Boy Who Saw the Wind",
        "Those Who Hunt Elves",
        "Like the Clouds, Like the Wind",
        "Anohana: The Flower We Saw That Day",
        "what is love",
    ],
)
def test_titles_with_request_words_are_not_wrappers(title):
    read = read_request(title)
    assert read.wrapper == [] and read.core == title


def test_the_wrapper_leaves_the_searched_text_and_is_reported():
    read = read_query("what's the movie where a little girl works in a bathhouse for spirits", VOCAB)
    assert read.text == read.core == "a little girl works in a bathhouse for spirits"
    assert read.request == ["what's the movie where"]
    # "the movie where" prefers films without hiding a series the user misremembers as one
    assert read.filters == {} and read.boost_labels() == ["type MOVIE"]


def test_a_short_request_reads_its_facts_like_the_bare_words():
    read = read_query("what are some movies about cooking", VOCAB)
    assert read.filters == {"types": ["MOVIE"], "genres": ["gourmet"], "genres_mode": "all"}
    assert read.request == ["what are some movies about"]
    assert read_query("cooking movies", VOCAB).filters == read.filters


def test_requests_off_reads_the_words_as_they_are():
    read = read_query("do you remember love", VOCAB, requests=False)
    assert read.request == [] and read.text == "do you remember love"
