"""The one resolver behind every tool that takes an anime: the names people use find the entry they mean.

On the shared 1,822 + 28 entries, on both backends: short names, partial titles, English titles, romanisations,
misspellings, Japanese script and synonyms; among a franchise's entries the main one; the alternatives it did not
choose; and, when nothing is titled so, an error listing search_anime's best matches with their ids.
"""

from __future__ import annotations

import pytest

from index.search.resolve import AnimeNotFoundError, spelling_variants

pytestmark = pytest.mark.anyio

GHOST_IN_THE_SHELL = {"mal-43", "mal-467"}  # the 1995 film and the Stand Alone Complex series
OMAGOTO = "38fcf8f2-ad59-4634-bded-37bb909b6e6a"  # an enriched entry whose synonyms hold the short name "omagoto"

NAMES = [
    # short names: the franchise's main entry, not its films and specials
    ("Evangelion", {"mal-30"}),
    ("Haruhi", {"mal-849"}),
    ("Code Geass", {"mal-1575"}),
    ("Totoro", {"mal-523"}),
    ("Kenshin", {"mal-45"}),
    ("Higurashi", {"mal-934"}),
    ("Ghost in the Shell", GHOST_IN_THE_SHELL),
    ("Lain", {"mal-339"}),
    # partial and English titles
    ("Melancholy of Haruhi Suzumiya", {"mal-849"}),
    ("Lelouch of the Rebellion", {"mal-1575"}),
    ("Spirited Away", {"mal-199"}),
    # romanisations and misspellings
    ("Kōkaku Kidōtai", GHOST_IN_THE_SHELL),
    ("Suzumiya Haruhi no Yuutsu", {"mal-849"}),
    ("Evangelon", {"mal-30"}),
    ("Cowboy Bebob", {"mal-1"}),
    # Japanese script, whole and inside a longer title
    ("涼宮ハルヒの憂鬱", {"mal-849"}),
    ("トトロ", {"mal-523"}),
    # a synonym only the enriched entry carries
    ("omagoto", {OMAGOTO}),
]


@pytest.mark.parametrize(("name", "meant"), NAMES)
async def test_names_people_use_resolve_to_the_entry_they_mean(search_runtime, name, meant):
    found = await search_runtime.engine.resolver.lookup(name)
    assert found.anime_id in meant, (name, found.anime_id, found.title)
    assert found.how in ("title", "close title")


async def test_the_answer_names_the_close_alternatives_it_did_not_choose(search_runtime):
    found = await search_runtime.engine.find_anime("Evangelion")
    assert found.entry.id == "mal-30"
    assert found.resolved is not None and found.resolved.id == "mal-30"
    assert any("[mal-32]" in alt for alt in found.resolved.also)  # The End of Evangelion, the film
    assert found.note.startswith("'Evangelion' read as Neon Genesis Evangelion [mal-30]; also: ")


async def test_an_id_is_taken_as_it_is(search_runtime):
    found = await search_runtime.engine.find_anime("mal-32")
    assert found.entry.id == "mal-32" and found.resolved is None and found.note == ""


async def test_nothing_titled_so_lists_search_anime_best_matches_with_ids(search_runtime):
    with pytest.raises(AnimeNotFoundError, match=r"search_anime's best matches: .*\[mal-\d+\]"):
        await search_runtime.engine.get_entry("zzzz qqqq xxxx")


async def test_the_same_name_resolves_the_same_way_every_time(search_runtime):
    resolver = search_runtime.engine.resolver
    picks = {(await resolver.lookup("Gundam Wing")).anime_id for _ in range(3)}
    assert picks == {"mal-90"}


def test_long_vowels_typed_with_macrons_are_written_out():
    assert spelling_variants("Kōkaku Kidōtai") == ["Koukaku Kidoutai", "Kokaku Kidotai"]
    assert spelling_variants("Cowboy Bebop") == []
