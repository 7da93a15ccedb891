"""The query grammar alone (index/search/intent.py): which words become filters, boosts or an order.

The end-to-end behaviour is in test_query_understanding.py; these cases pin the wording rules that
keep a description's words from being misread as catalogue facts.
"""

from __future__ import annotations

import pytest

from index.search.intent import Vocabulary, merge_filters, read_query

VOCAB = Vocabulary(
    genres={"comedy", "romance", "sports", "sci-fi", "drama", "action", "slice of life", "horror"},
    tags={"isekai"},
    studios={"studio ghibli", "madhouse", "kyoto animation", "bones", "sunrise", "j.c.staff"},
    max_year=2023,
)


@pytest.mark.parametrize(
    "query, filters",
    [
        ("mecha anime from the 90s", {"year_min": 1990, "year_max": 1999}),
        ("80's horror", {"year_min": 1980, "year_max": 1989, "genres": ["horror"], "genres_mode": "all"}),
        ("comedy anime from 2005", {"year_min": 2005, "year_max": 2005, "genres": ["comedy"], "genres_mode": "all"}),
        ("winter 2020 anime", {"seasons": ["WINTER"], "year_min": 2020, "year_max": 2020}),
        ("anime from 2010 to 2015", {"year_min": 2010, "year_max": 2015}),
        ("Ghibli films", {"studios": ["studio ghibli"], "types": ["MOVIE"]}),
        ("anime by KyoAni", {"studios": ["kyoto animation"]}),
        ("romcom", {"genres": ["romance", "comedy"], "genres_mode": "all"}),
        ("isekai based on a light novel", {"source_materials": ["LIGHT NOVEL"]}),  # a tag is only a boost
        ("OVAs by Sunrise", {"types": ["OVA"], "studios": ["sunrise"]}),
    ],
)
def test_wish_lists_become_filters(query, filters):
    assert read_query(query, VOCAB).filters == filters


@pytest.mark.parametrize(
    "query, sort",
    [
        ("top rated movies", "score"),
        ("best sports anime", "score"),
        ("most popular romance", "popularity"),
        ("hidden gems", "hidden_gems"),
        ("underrated sci-fi", "hidden_gems"),
        ("space pirates", None),
    ],
)
def test_quality_and_popularity_wishes_set_the_order(query, sort):
    assert read_query(query, VOCAB).sort == sort


def test_a_wish_list_searches_what_is_left():
    reading = read_query("best 90s mecha", VOCAB)
    assert reading.text.startswith("mecha") and "giant robots" in reading.text  # a user word the data lacks
    assert read_query("top rated movies", VOCAB).text == ""


def test_a_description_keeps_its_words_and_only_boosts():
    query = "a drama club where a shy girl discovers she has a special power and fights in a series of duels"
    reading = read_query(query, VOCAB)
    assert reading.filters == {} and reading.text == query
    assert [b.label for b in reading.boosts] == ["genre drama"]  # "special" and "series" describe the story


@pytest.mark.parametrize(
    "query, filters",
    [
        ("a girl survives the bombing of her city in 1945 and grows up with her little brother", {}),
        ("a detective story set in the 80s about a serial killer who leaves origami at every scene", {}),
        (
            "giant robots defend earth from aliens, an anime from the 90s with a tragic ending",
            {"year_min": 1990, "year_max": 1999},
        ),
        (
            "a boxing story about a shy boy who finds his strength, aired in 2000 and very popular",
            {"year_min": 2000, "year_max": 2000},
        ),
    ],
)
def test_a_description_reads_only_the_times_it_says_it_aired(query, filters):
    assert read_query(query, VOCAB).filters == filters


@pytest.mark.parametrize(
    "query",
    [
        "a sorceress who barely ages keeps wandering after her old friends grow old and pass away",
        "a shy boy and his best friend start a band at their new school to impress a popular girl",
    ],
)
def test_a_description_keeps_its_story_words_out_of_the_wishes(query):
    reading = read_query(query, VOCAB)
    assert reading.sort is None and reading.recency is None and reading.text == query


@pytest.mark.parametrize(
    "query, sort, recency",
    [
        ("i want the best mecha anime with a war story and pilots who question why they fight", "score", None),
        ("any old school shows about a wandering swordsman who refuses to kill anymore", None, "old"),
        ("a hidden gem about a lighthouse keeper who talks to the ghosts of sailors at night", "hidden_gems", None),
    ],
)
def test_a_description_reads_wishes_about_the_anime(query, sort, recency):
    reading = read_query(query, VOCAB)
    assert (reading.sort, reading.recency) == (sort, recency)


def test_plot_years_beyond_the_data_are_not_filters():
    reading = read_query("bounty hunters travelling on a spaceship in 2071", VOCAB)
    assert reading.filters == {} and not reading.read_anything


def test_a_studio_short_name_needs_context_in_a_description():
    skeleton = read_query("a skeleton made of old bones wanders a desert looking for its lost friend", VOCAB)
    assert "studios" not in skeleton.filters
    assert read_query("action shows by bones", VOCAB).filters["studios"] == ["bones"]


def test_explicit_filters_win_field_by_field():
    read = read_query("movies from the 90s", VOCAB).filters
    merged = merge_filters(read, {"types": ["TV"], "year_min": 1995})
    assert merged == {"types": ["TV"], "year_min": 1995}


def test_unknown_vocabulary_is_not_read():
    reading = read_query("mecha from 1995", Vocabulary(genres={"comedy"}, max_year=2023))
    assert "genres" not in reading.filters and reading.filters["year_min"] == 1995
