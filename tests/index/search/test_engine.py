"""The search core on the real 1,822 MyAnimeList entries, on both storage backends.

These check what a user would check: the right anime for a plot description, filters
that never leak, similar-to-X returning relatives and never X, paging without repeats.
"""

from __future__ import annotations

import random

import pytest

from index.search.filters import FilterValueError, SearchFilters
from index.search.inputs import SearchInputError
from index.search.resolve import AnimeNotFoundError

pytestmark = pytest.mark.anyio

PLOTS = [
    (
        "a bounty hunter with a violent past and his partner chase criminals across the solar system "
        "with a con artist, a young hacker and a corgi",
        "mal-1",
    ),
    ("two brothers try to bring their dead mother back with forbidden alchemy and pay a terrible price", "mal-121"),
    ("a student finds a notebook that kills anyone whose name is written in it", "mal-1535"),
    (
        "a boy with a nine-tailed fox demon sealed inside him dreams of becoming the leader of his ninja village",
        "mal-20",
    ),
]


def ids(page) -> list[str]:
    return [h.id for h in page.results]


@pytest.mark.parametrize("query,expected", PLOTS)
async def test_plot_description_finds_its_anime_in_top_3(search_runtime, query, expected):
    page = await search_runtime.engine.search_text(query, limit=3)
    assert expected in ids(page), (query, [(h.id, h.title) for h in page.results])


async def test_title_with_typo_finds_the_anime(search_runtime):
    page = await search_runtime.engine.search_text("fullmetal alchemsit", limit=3)
    assert ids(page)[0] in {"mal-121", "mal-430", "mal-664", "mal-908"}


async def test_results_carry_what_a_user_needs(search_runtime):
    page = await search_runtime.engine.search_text("space cowboys", limit=5, explain=True)
    hit = page.results[0]
    assert hit.id and hit.title and hit.type and hit.relevance is not None
    assert hit.vector_scores and "title_vector" in hit.vector_scores


async def test_hits_hold_the_same_fields_as_the_stored_entry(search_runtime):
    """Searches fetch only the payload parts a hit shows (HIT_PAYLOAD): nothing a user sees may go missing."""
    from index.identity import point_id
    from index.search.results import AnimeHit

    engine = search_runtime.engine
    pages = [await engine.search_text("space cowboys", limit=10), await engine.browse(sort_by="score", limit=10)]
    for page in pages:
        hits = page.results
        records = await engine.store.retrieve([point_id(h.id) for h in hits], with_payload=True)
        full = {r.payload["anime_id"]: AnimeHit.from_payload(r.payload) for r in records}
        assert len(full) == len(hits) == 10
        for hit in hits:
            assert hit.model_copy(update={"relevance": None}) == full[hit.id]
        assert any(h.studios for h in hits) and all(h.genres for h in hits) and all(h.synopsis for h in hits)


async def test_aspect_search_uses_that_vector_and_exact_words(search_runtime):
    page = await search_runtime.engine.search_text(
        "Sunrise studio, Bandai Visual", aspects=["staff"], limit=5, explain=True
    )
    assert page.results
    assert all(set(h.vector_scores or {}) <= {"staff_vector", "lexical"} for h in page.results)
    assert page.method.count("_vector") == 1 and "staff_vector" in page.method


def _matches(hit, f: SearchFilters, payload_entry) -> bool:
    e = payload_entry
    genres = {g.lower() for g in e.genres}
    if f.genres and not (genres & {g.lower() for g in f.genres}):
        return False
    if f.exclude_genres and genres & {g.lower() for g in f.exclude_genres}:
        return False
    if f.types and e.type.value not in f.types:
        return False
    if f.year_min is not None and (e.year is None or e.year < f.year_min):
        return False
    if f.year_max is not None and (e.year is None or e.year > f.year_max):
        return False
    if f.episodes_max is not None and (e.episodes is None or e.episodes > f.episodes_max):
        return False
    if f.score_min is not None and (e.mal_score() is None or e.mal_score() < f.score_min):
        return False
    return f.include_nsfw or not e.nsfw


async def test_random_filters_never_leak_and_fill_the_page(search_runtime, index_entries):
    rng = random.Random(7)
    by_id = {e.id: e for e in index_entries}
    genres = ["Action", "Comedy", "Drama", "Romance", "Sci-Fi", "Fantasy", "Mystery", "Sports", "Horror"]
    for _ in range(25):
        f = SearchFilters(
            genres=rng.sample(genres, rng.randint(0, 2)),
            exclude_genres=rng.sample(genres, rng.randint(0, 1)),
            types=rng.sample(["TV", "MOVIE", "OVA", "SPECIAL"], rng.randint(0, 2)),
            year_min=rng.choice([None, 1990, 2000]),
            year_max=rng.choice([None, 2005, 2010]),
            score_min=rng.choice([None, 7.0, 8.0]),
            episodes_max=rng.choice([None, 13, 26]),
        )
        if set(g.lower() for g in f.genres) & set(g.lower() for g in f.exclude_genres):
            continue
        page = await search_runtime.engine.search_text("a story about friendship and adventure", filters=f, limit=10)
        expected = [e for e in index_entries if _matches(None, f, e)]
        for hit in page.results:
            assert _matches(hit, f, by_id[hit.id]), (f, hit)
        assert len(page.results) == min(10, len(expected)), (f, len(expected))


async def test_nsfw_hidden_unless_asked(search_runtime, index_entries):
    adult = [e for e in index_entries if e.nsfw]
    assert adult
    browse = await search_runtime.engine.browse(SearchFilters(), limit=50, sort_by="members")
    assert not any(h.id in {e.id for e in adult} for h in browse.results)
    with_adult = await search_runtime.engine.browse(SearchFilters(include_nsfw=True, genres=["Hentai"]), limit=5)
    assert with_adult.results and with_adult.total >= len([e for e in adult if "Hentai" in e.genres])


async def test_similar_returns_relatives_early_when_asked_and_never_itself(search_runtime):
    naruto_family = {"mal-442", "mal-594", "mal-761", "mal-936", "mal-1074", "mal-1735"}
    page = await search_runtime.engine.find_similar("Naruto", limit=10, include_same_franchise=True)
    got = ids(page)
    assert "mal-20" not in got
    assert naruto_family & set(got[:5]), [(h.id, h.title) for h in page.results]
    others = await search_runtime.engine.find_similar("Naruto", limit=10)
    assert len(ids(others)) == 10 and not naruto_family & set(ids(others)) and "mal-20" not in ids(others)


async def test_similar_by_id_on_one_aspect(search_runtime):
    page = await search_runtime.engine.find_similar("mal-30", aspect="story", limit=5, include_same_franchise=True)
    assert "mal-30" not in ids(page)
    assert {"mal-31", "mal-32"} & set(ids(page))


async def test_recommend_excludes_liked_and_disliked(search_runtime):
    page = await search_runtime.engine.recommend(["mal-1", "Trigun"], ["Naruto"], limit=10)
    got = set(ids(page))
    assert not got & {"mal-1", "mal-6", "mal-20"}
    assert len(got) == 10


async def test_diversity_spreads_franchises(search_runtime):
    plain = await search_runtime.engine.search_text("One Piece pirate movie", limit=10)
    diverse = await search_runtime.engine.search_text("One Piece pirate movie", limit=10, diversify=True)

    def one_piece(page):
        return sum("one piece" in h.title.lower() for h in page.results)

    assert one_piece(diverse) <= one_piece(plain)
    assert one_piece(diverse) < 10


async def test_paging_never_repeats(search_runtime):
    seen: list[str] = []
    for offset in range(0, 50, 10):
        page = await search_runtime.engine.search_text("giant robots war", limit=10, offset=offset)
        assert len(page.results) == 10
        assert not set(ids(page)) & set(seen), offset
        seen += ids(page)
    whole = await search_runtime.engine.search_text("giant robots war", limit=50)
    assert ids(whole) == seen  # pages are slices of one ranking
    b1 = await search_runtime.engine.browse(sort_by="score", limit=20, offset=0)
    b2 = await search_runtime.engine.browse(sort_by="score", limit=20, offset=20)
    assert not set(ids(b1)) & set(ids(b2))


@pytest.mark.parametrize(
    "sort_by,key,reverse", [("score", "score", True), ("year", "year", True), ("title", "title", False)]
)
async def test_browse_ordering(search_runtime, sort_by, key, reverse):
    page = await search_runtime.engine.browse(SearchFilters(types=["TV"]), sort_by=sort_by, limit=30)
    from index.payload import title_order

    # titles order by their first 12 letters (a numeric key: the engine orders by numbers)
    values = [getattr(h, key) if key != "title" else title_order(h.title) for h in page.results]
    assert values == sorted(values, reverse=reverse)
    assert all(h.type == "TV" for h in page.results)
    assert page.total > 30


async def test_browse_facets_count_matches(search_runtime):
    page = await search_runtime.engine.browse(SearchFilters(genres=["Sports"]), limit=5, facets=["type", "genres"])
    types = {f.value: f.count for f in page.facets["type"]}
    assert sum(types.values()) == page.total
    assert dict((f.value, f.count) for f in page.facets["genres"])["sports"] == page.total


async def test_get_by_id_title_and_fuzzy_title(search_runtime):
    assert (await search_runtime.engine.get_entry("mal-1")).title == "Cowboy Bebop"
    assert (await search_runtime.engine.get_entry("cowboy bebop")).id == "mal-1"
    assert (await search_runtime.engine.get_entry("Cowboy Bebob")).id == "mal-1"
    with pytest.raises(AnimeNotFoundError, match="No anime matches"):
        await search_runtime.engine.get_entry("zzzz qqqq xxxx")


async def test_bad_input_is_explained(search_runtime):
    with pytest.raises(FilterValueError, match="Did you mean"):
        await search_runtime.engine.search_text("robots", filters=SearchFilters(genres=["Sci Fi"]))
    with pytest.raises(SearchInputError, match="empty"):
        await search_runtime.engine.search_text("   ")
    with pytest.raises(SearchInputError, match="limit"):
        await search_runtime.engine.search_text("robots", limit=500)
    with pytest.raises(ValueError, match="year_min"):
        SearchFilters(year_min=2010, year_max=2000)
    with pytest.raises(SearchInputError, match="aspect"):
        await search_runtime.engine.find_similar("mal-1", aspect="smell")


async def test_no_results_is_a_success_with_a_hint(search_runtime):
    page = await search_runtime.engine.search_text("robots", filters=SearchFilters(year_min=2090))
    assert page.results == [] and "widen" in page.hint


async def test_stats_describe_the_index(search_runtime, index_entries):
    stats = await search_runtime.engine.stats()
    assert stats.entries == len({e.id for e in index_entries})
    assert stats.vectors_present["title_vector"] == stats.entries
    assert 0 < stats.vectors_present["character_vector"] < stats.entries
    assert stats.text_dim == 384
