"""`completion/complete` through the protocol: titles (prefix, typos, English, Japanese), ids, facet
values, capped answers, and an empty answer (never an error) for free text or unknown prompts."""

from __future__ import annotations

import pytest
from mcp_types import PromptReference, ResourceTemplateReference

from index.search.suggest import COMPLETION_LIMIT

pytestmark = pytest.mark.anyio

LIKE = PromptReference(name="like_x_but_y")
SEASON = PromptReference(name="season_picks")
STUDIO = PromptReference(name="studio_spotlight")
ENTRY = ResourceTemplateReference(uri="anime://{anime_id}")


async def values(client, ref, name: str, value: str) -> list[str]:
    completion = (await client.complete(ref, {"name": name, "value": value})).completion
    assert len(completion.values) <= COMPLETION_LIMIT
    assert completion.total is None or completion.total >= len(completion.values)
    return completion.values


async def test_capability_is_advertised(client):
    assert client.server_capabilities.completions is not None


@pytest.mark.parametrize(
    "typed,expected",
    [
        ("cowboy b", "Cowboy Bebop"),  # prefix: the best-known entry first
        ("cowboy bebob", "Cowboy Bebop"),  # a typo
        ("fullmetal alchemst", "Fullmetal Alchemist"),
        ("hunter x", "Hunter x Hunter"),
        ("bebop cowb", "Cowboy Bebop"),  # every typed word starts a word of the title
        ("鋼の", "鋼の錬金術師"),  # Japanese title, in Japanese
        ("the movie - conq", "Fullmetal Alchemist: The Movie - Conqueror of Shamballa"),  # English title
    ],
)
async def test_anime_titles_complete(client, typed, expected):
    got = await values(client, LIKE, "anime", typed)
    assert got, typed
    assert expected in got[:3], got


async def test_prefix_matches_are_ordered_by_popularity(client):
    got = await values(client, LIKE, "anime", "cowboy bebop")
    assert got[:2] == ["Cowboy Bebop", "Cowboy Bebop: Tengoku no Tobira"]


async def test_nothing_typed_offers_popular_titles_capped(client):
    completion = (await client.complete(LIKE, {"name": "anime", "value": ""})).completion
    assert len(completion.values) == COMPLETION_LIMIT
    assert completion.has_more and completion.total > 1800


async def test_resource_template_ids_complete_from_ids_and_titles(client):
    by_id = await values(client, ENTRY, "anime_id", "mal-12")
    assert by_id and all(v.startswith("mal-12") for v in by_id)
    by_title = await values(client, ENTRY, "anime_id", "cowboy beb")
    assert by_title[:2] == ["mal-1", "mal-5"]
    resource = await client.read_resource(f"anime://{by_title[0]}")
    assert '"Cowboy Bebop"' in resource.contents[0].text


@pytest.mark.parametrize(
    "ref,name,typed,expected",
    [
        (SEASON, "genre", "sci", "sci-fi"),
        (SEASON, "genre", "comdy", "comedy"),  # a typo
        (SEASON, "season", "fa", "FALL"),
        (SEASON, "type", "mov", "MOVIE"),
        (SEASON, "year", "199", "1998"),
        (STUDIO, "studio", "sunr", "sunrise"),
    ],
)
async def test_facet_values_complete(client, ref, name, typed, expected):
    got = await values(client, ref, name, typed)
    assert expected in got, got


async def test_tags_complete_from_the_index(client):
    every = await values(client, STUDIO, "tag", "")
    assert every, "the enriched entries carry tags"
    first = every[0]
    assert first in await values(client, STUDIO, "tag", first[:3])


@pytest.mark.parametrize(
    "ref,name",
    [
        (LIKE, "difference"),  # free text: nothing to pick from
        (PromptReference(name="identify_anime"), "memory"),
        (PromptReference(name="test_prompt_with_arguments"), "arg1"),  # what the conformance suite asks
    ],
)
async def test_free_text_and_unknown_arguments_answer_empty(client, ref, name):
    completion = (await client.complete(ref, {"name": name, "value": "test"})).completion
    assert completion.values == []


async def test_completed_values_work_in_the_prompt(client):
    genre = (await values(client, SEASON, "genre", "sci"))[0]
    prompt = await client.get_prompt("season_picks", {"season": "SPRING", "year": "1998", "genre": genre})
    text = prompt.messages[0].content.text
    assert '"year_min": 1998' in text and genre in text and "browse_anime" in text


async def test_suggestions_are_the_same_on_both_backends(search_runtime):
    """Titles, ids and facet values read only payload; both storage backends give the same answers."""
    from index.search.suggest import Suggester

    suggester = Suggester(search_runtime.engine)
    assert (await suggester.titles("cowboy beb")).values[:2] == ["Cowboy Bebop", "Cowboy Bebop: Tengoku no Tobira"]
    assert (await suggester.ids("cowboy beb")).values[:2] == ["mal-1", "mal-5"]
    ids = (await suggester.ids("mal-1")).values
    assert ids[0] == "mal-1" and all(i.startswith("mal-1") for i in ids)
    assert "sci-fi" in (await suggester.facet("genres", "sci")).values


async def test_picked_arguments_narrow_the_next_one(client):
    """Genres offered for FALL 1998 are the genres of FALL 1998 entries, most frequent first."""
    every = (await client.complete(SEASON, {"name": "genre", "value": ""})).completion
    fall = (
        await client.complete(
            SEASON, {"name": "genre", "value": ""}, context_arguments={"season": "fall", "year": "1998"}
        )
    ).completion
    browse = await client.call_tool(
        "browse_anime",
        {"filters": {"seasons": ["FALL"], "year_min": 1998, "year_max": 1998}, "facets": ["genres"], "limit": 1},
    )
    counted = [f["value"] for f in browse.structured_content["facets"]["genres"]]
    assert fall.values and fall.values == counted[: len(fall.values)]
    assert fall.total < every.total
    # a pick that matches nothing (half typed) does not empty the list
    typo = (
        await client.complete(
            SEASON, {"name": "genre", "value": ""}, context_arguments={"season": "fal", "year": "1998"}
        )
    ).completion
    assert typo.values == every.values
