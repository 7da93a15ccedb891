"""get_anime's text is what an assistant quotes: no placeholder words where the data has no value."""

from __future__ import annotations

from index.schema import AnimeEntry
from tools.catalog import render_entry


def test_an_entry_without_type_or_status_says_nothing_rather_than_unknown() -> None:
    entry = AnimeEntry.model_validate(
        {"id": "mal-52991", "title": "Sousou no Frieren", "sources": ["https://myanimelist.net/anime/52991"]}
    )
    text = render_entry(entry)
    assert "UNKNOWN" not in text
    assert text.splitlines()[0] == "Sousou no Frieren [id mal-52991]"


def test_known_type_and_status_are_shown() -> None:
    entry = AnimeEntry.model_validate(
        {
            "id": "mal-1",
            "title": "Cowboy Bebop",
            "type": "TV",
            "status": "FINISHED",
            "episodes": 26,
            "sources": ["https://myanimelist.net/anime/1"],
        }
    )
    assert "TV, FINISHED, 26 episodes" in render_entry(entry)
