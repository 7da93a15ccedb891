"""search_anime reads what people type, through the MCP protocol (in-process client, real 1,822 + 28 entries).

Each recognised kind of fact (decade, year, type, genre word, studio, source, quality and popularity wishes)
is checked end to end: the filter or order it implies holds for every result, and interpreted_as says how
the words were read. Titles typed bare rank their main entry first; an explicit filter beats the words;
similar/recommend leave the source's own franchise out unless asked.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


def text_of(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def search(client, query: str, **args) -> dict:
    result = await client.call_tool("search_anime", {"query": query, **args})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    data["text"] = text_of(result)
    return data


async def full_entries(client, hits: list[dict]) -> list[dict]:
    out = []
    for hit in hits:
        result = await client.call_tool("get_anime", {"anime": hit["id"]})
        assert not result.is_error, text_of(result)
        out.append(result.structured_content)
    return out


async def test_decade_becomes_a_year_range(client):
    data = await search(client, "mecha anime from the 90s", limit=10)
    assert data["results"], data["text"]
    assert all(1990 <= hit["year"] <= 1999 for hit in data["results"])
    assert data["interpreted_as"]["filters"] == {"year_min": 1990, "year_max": 1999}
    assert "90s" in data["interpreted_as"]["phrases"]
    assert "Read as:" in data["text"] and "year_min=1990" in data["text"]


async def test_genre_word_and_year_filter_and_rank_by_popularity(client, index_entries):
    data = await search(client, "comedy anime from 2005", limit=5)
    assert len(data["results"]) == 5
    for hit in data["results"]:
        assert hit["year"] == 2005 and "Comedy" in hit["genres"], hit
    read = data["interpreted_as"]
    assert read["filters"]["genres"] == ["comedy"] and read["text"] == ""
    # With no words left to match, the priors rank them: a comedy of 2005 that many people watched comes first.
    members = {e.id: (e.statistics["mal"].members or 0) for e in index_entries if e.statistics.get("mal")}
    comedies = sorted(
        (e for e in index_entries if e.year == 2005 and "Comedy" in e.genres), key=lambda e: -members.get(e.id, 0)
    )
    assert data["results"][0]["id"] in {e.id for e in comedies[:3]}


async def test_type_word_and_quality_wish_order_by_score(client):
    data = await search(client, "top rated movies", limit=5)
    assert len(data["results"]) == 5
    assert all(hit["type"] == "MOVIE" for hit in data["results"])
    assert data["interpreted_as"]["sort"] == "score"
    assert data["interpreted_as"]["filters"] == {"types": ["MOVIE"]}
    scores = [hit["score"] for hit in data["results"]]
    assert min(scores) >= 8.3, scores  # the best-scored films of the data (8.36-8.78), not a 7.4 compilation
    assert data["results"][0]["title"] == "Sen to Chihiro no Kamikakushi"


async def test_quality_wish_with_a_genre(client):
    data = await search(client, "best sports anime", limit=5)
    assert data["results"] and all("Sports" in hit["genres"] for hit in data["results"])
    assert data["results"][0]["title"] == "Hajime no Ippo"
    assert data["interpreted_as"]["sort"] == "score"


async def test_studio_nickname_and_films(client):
    data = await search(client, "Ghibli films", limit=10)
    assert len(data["results"]) == 10
    for entry in await full_entries(client, data["results"]):
        studios = [s["name"] for s in entry["staff_data"]["studios"]]
        assert "Studio Ghibli" in studios and entry["type"] == "MOVIE", (entry["title"], studios)
    assert data["interpreted_as"]["filters"] == {"studios": ["studio ghibli"], "types": ["MOVIE"]}


async def test_source_material_phrase(client):
    data = await search(client, "romance based on a light novel", limit=5)
    assert data["results"]
    for entry in await full_entries(client, data["results"]):
        assert entry["source_material"] == "LIGHT NOVEL" and "Romance" in entry["genres"], entry["title"]


async def test_explicit_filters_win_over_the_words(client):
    data = await search(client, "movies from the 90s", filters={"types": ["TV"]}, limit=5)
    assert data["results"]
    assert all(hit["type"] == "TV" and 1990 <= hit["year"] <= 1999 for hit in data["results"])


async def test_interpret_false_searches_the_words_as_they_are(client):
    data = await search(client, "comedy anime from 2005", interpret=False, limit=5)
    assert data["interpreted_as"] is None
    assert any(hit["year"] != 2005 for hit in data["results"])


async def test_a_description_is_not_cut_into_filters(client):
    # "in 1988" is when the story happens, not when it aired (2006): no year filter may hide the answer
    data = await search(
        client, "a student finds a notebook in 1988 that kills anyone whose name is written in it", limit=3
    )
    assert data["interpreted_as"]["filters"] == {}
    assert data["results"][0]["id"] == "mal-1535"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("fullmetal alchemist", "mal-121"),  # the TV series, not its OVA, special or film
        ("initial d", "mal-185"),  # First Stage, the start most people watched
        ("cowboy bebop", "mal-1"),
        ("fullmetal alchemist movie", "mal-430"),  # asking for the film gets the film
        ("鋼の錬金術師", "mal-121"),  # the Japanese title
        ("fullmetal alchemst", "mal-121"),  # a typo
        ("naruro", "mal-20"),  # a typo in a one-word title
        ("mushi shi", "mal-457"),  # a title, not the studio Mushi Production
    ],
)
async def test_typed_titles_rank_the_main_entry_first(client, query, expected):
    data = await search(client, query, limit=5)
    assert data["results"][0]["id"] == expected, [(h["id"], h["title"], h["type"]) for h in data["results"]]
    assert data["interpreted_as"]["title_matches"] >= 1


async def test_a_named_character_lifts_an_obscure_entry(client):
    data = await search(client, "Milkit", limit=3)  # a character of one enriched TV entry, in no title
    assert data["results"][0]["id"] == "38fcf8f2-ad59-4634-bded-37bb909b6e6a", [h["title"] for h in data["results"]]


async def test_character_names_find_their_show(client):
    data = await search(client, "the show with Pikachu", limit=5)
    assert any("Pok" in hit["title"] for hit in data["results"][:3]), [h["title"] for h in data["results"]]


async def test_similar_leaves_out_the_own_franchise_unless_asked(client):
    result = await client.call_tool("find_similar_anime", {"anime": "Cowboy Bebop", "limit": 10})
    assert not result.is_error, text_of(result)
    titles = [hit["title"] for hit in result.structured_content["results"]]
    assert titles and not any(t.startswith("Cowboy Bebop") for t in titles), titles
    assert "franchise left out" in result.structured_content["method"]
    result = await client.call_tool(
        "find_similar_anime", {"anime": "Cowboy Bebop", "limit": 10, "include_same_franchise": True}
    )
    ids = [hit["id"] for hit in result.structured_content["results"]]
    assert "mal-5" in ids  # the film


async def test_recommend_leaves_out_the_liked_franchises(client):
    result = await client.call_tool("recommend_anime", {"liked": ["Naruto", "Fullmetal Alchemist"], "limit": 10})
    assert not result.is_error, text_of(result)
    titles = [hit["title"] for hit in result.structured_content["results"]]
    assert titles and not any(t.startswith(("Naruto", "Fullmetal")) for t in titles), titles


async def test_diversify_keeps_one_entry_per_franchise(client):
    data = await search(client, "initial d street racing", diversify=True, limit=10)
    initial = [hit["title"] for hit in data["results"] if hit["title"].startswith("Initial D")]
    assert len(initial) == 1, [hit["title"] for hit in data["results"]]
