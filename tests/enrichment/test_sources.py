"""Each source's parser on its recorded Cowboy Bebop answer: the fields a user relies on come out right."""

from __future__ import annotations

import pytest

from enrichment.http import BadResponseError, NotFoundError
from enrichment.sources import PARSERS
from enrichment.sources._common import name_key, staff_group
from enrichment.sources.anidb import parse_anidb_xml
from enrichment.sources.jikan import parse_theme_song
from enrichment.sources.kitsu import parse as parse_kitsu
from index.schema import AnimeEntry
from tests.recorded_answers import anidb_xml, load_fixture, recorded_raws


@pytest.fixture(scope="module")
def raws():
    return recorded_raws()


@pytest.fixture(scope="module")
def partials(raws):
    return {name: PARSERS[name](raw) for name, raw in raws.items()}


def test_every_partial_is_anime_entry_shaped(partials):
    for name, partial in partials.items():
        entry = AnimeEntry.model_validate({**partial, "sources": partial.get("sources") or ["x"]})
        assert entry.title.startswith("Cowboy Bebop"), name
        assert set(partial) <= set(AnimeEntry.model_fields), f"{name} produced unknown fields"


def test_jikan(partials):
    p = partials["jikan"]
    assert p["synopsis"].startswith("Crime is timeless.") and "[Written by" not in p["synopsis"]
    assert (p["type"], p["episodes"], p["duration"], p["year"], p["season"]) == ("TV", 26, 1440, 1998, "SPRING")
    assert p["statistics"]["mal"]["score"] == 8.75 and p["statistics"]["mal"]["members"] == 1985235
    assert [s["name"] for s in p["staff_data"]["studios"]] == ["Sunrise"]
    assert p["opening_themes"] == [{"title": "Tank!", "artist": "The Seatbelts", "episodes": "1-25"}]
    spike = next(c for c in p["characters"] if c["name"] == "Spike Spiegel")
    assert spike["role"] == "Main"
    assert {"name": "Kouichi Yamadera", "language": "Japanese"} in spike["voice_actors"]
    assert len(p["episode_details"]) == 26
    assert p["episode_details"][0]["title"] == "Asteroid Blues"
    assert p["episode_details"][0]["duration"] == 1440
    # cross-links reveal other platforms' ids
    assert "https://anidb.net/anime/23" in p["sources"]


def test_jikan_episode_list_items_use_mal_id_as_number():
    raw = {
        "full": {"data": {"mal_id": 1, "title": "X"}},
        "episodes": [{"mal_id": 3, "title": "Third", "filler": True, "recap": False}],
    }
    episode = PARSERS["jikan"](raw)["episode_details"][0]
    assert episode["episode_number"] == 3 and episode["filler"] is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Tank!" by The Seatbelts (eps 1-25)', {"title": "Tank!", "artist": "The Seatbelts", "episodes": "1-25"}),
        (
            '2: "Space Lion" by The Seatbelts (eps 13)',
            {"title": "Space Lion", "artist": "The Seatbelts", "episodes": "13"},
        ),
        ('"Blue" by The Seatbelts feat. Mai Yamane', {"title": "Blue", "artist": "The Seatbelts feat. Mai Yamane"}),
        ("Unknown Song", {"title": "Unknown Song"}),
    ],
)
def test_theme_song_strings(text, expected):
    assert parse_theme_song(text) == expected


def test_anilist(partials):
    p = partials["anilist"]
    assert "<br>" not in p["synopsis"] and p["synopsis"].startswith("Enter a world")
    assert p["statistics"]["anilist"]["score"] == 8.6
    assert p["statistics"]["anilist"]["rank"] == 48
    staff = p["staff_data"]["production_staff"]
    assert [m["name"] for m in staff["directors"]] == ["Shinichirou Watanabe"]
    assert "Youko Kanno" in [m["name"] for m in staff["music_composers"]]
    assert [s["name"] for s in p["staff_data"]["studios"]] == ["Sunrise"]
    assert "Bandai Visual" in [s["name"] for s in p["staff_data"]["producers"]]
    spike = p["characters"][0]
    assert spike["name"] == "Spike Spiegel" and spike["role"] == "Main"
    assert spike["voice_actors"] == [{"name": "Kouichi Yamadera", "language": "Japanese"}]
    assert len(p["characters"]) == 69


def test_kitsu(partials):
    p = partials["kitsu"]
    assert p["statistics"]["kitsu"]["score"] == pytest.approx(8.223)
    assert p["statistics"]["kitsu"]["members"] == 160124
    assert p["rating"] == "R - 17+ (violence & profanity)"
    assert [e["episode_number"] for e in p["episode_details"]] == list(range(1, 11))
    assert p["episode_details"][1]["title"] == "Stray Dog Strut"
    assert "Bounty Hunter" in p["tags"]
    # the recorded characters page has no `included`, so no nameless characters come out
    assert "characters" not in p


def test_kitsu_characters_resolved_through_included():
    anime = {"id": "1", "type": "anime", "attributes": {"canonicalTitle": "Cowboy Bebop"}}
    characters = {
        "data": [
            {
                "id": "10",
                "type": "mediaCharacters",
                "attributes": {"role": "main"},
                "relationships": {
                    "character": {"data": {"type": "characters", "id": "1"}},
                    "voices": {"data": [{"type": "characterVoices", "id": "7"}]},
                },
            }
        ],
        "included": [
            {
                "id": "1",
                "type": "characters",
                "attributes": {"canonicalName": "Spike Spiegel", "names": {"ja_jp": "スパイク・スピーゲル"}},
            },
            {
                "id": "7",
                "type": "characterVoices",
                "attributes": {"locale": "ja_jp"},
                "relationships": {"person": {"data": {"type": "people", "id": "5"}}},
            },
            {"id": "5", "type": "people", "attributes": {"name": "Kouichi Yamadera"}},
        ],
    }
    p = parse_kitsu({"anime": anime, "characters": characters})
    assert p["characters"] == [
        {
            "name": "Spike Spiegel",
            "role": "Main",
            "name_native": "スパイク・スピーゲル",
            "voice_actors": [{"name": "Kouichi Yamadera", "language": "Japanese"}],
            "character_ids": {"kitsu": "1"},
        }
    ]


def test_anidb(partials):
    p = partials["anidb"]
    assert p["statistics"]["anidb"] == {"score": 8.74, "scored_by": 18699}
    assert "http://anidb.net/ch270" not in p["synopsis"] and "Spike Spiegel" in p["synopsis"]
    staff = p["staff_data"]["production_staff"]
    assert [m["name"] for m in staff["directors"]] == ["Watanabe Shin`ichirou"]
    assert [m["name"] for m in staff["music_composers"]] == ["Kanno Youko"]
    assert [s["name"] for s in p["staff_data"]["studios"]] == ["Sunrise"]
    spike = p["characters"][0]
    assert spike["voice_actors"] == [{"name": "Yamadera Kouichi", "language": "Japanese"}]
    assert "maintenance tags" not in p["tags"] and "bounty hunter" in p["tags"]


def test_anidb_xml_parses_to_the_fixture_shape():
    fixture = load_fixture("anidb_anime_23_parsed.json")
    parsed = parse_anidb_xml(anidb_xml(fixture))
    assert parsed["anidb_id"] == "23" and parsed["titles"]["main"] == "Cowboy Bebop"
    assert parsed["titles"]["official"] == {"ja": "カウボーイビバップ", "en": "Cowboy Bebop"}
    assert parsed["creators"] == fixture["creators"]
    assert parsed["ratings"] == fixture["ratings"]
    assert [c["name"] for c in parsed["characters"]] == [c["name"] for c in fixture["characters"]]
    assert parsed["characters"][0]["seiyuu"]["name"] == "Yamadera Kouichi"
    from_xml = PARSERS["anidb"](parsed)
    assert from_xml["characters"] == PARSERS["anidb"](fixture)["characters"]
    assert from_xml["title_japanese"] == "カウボーイビバップ"


def test_anidb_error_documents_raise():
    with pytest.raises(NotFoundError):
        parse_anidb_xml("<error>Anime not found</error>")
    with pytest.raises(BadResponseError, match="banned"):
        parse_anidb_xml('<error code="555">Banned</error>'.replace("Banned", "banned"))
    with pytest.raises(BadResponseError, match="malformed XML"):
        parse_anidb_xml("<anime id='23'><titles>")


def test_anidb_xml_entities_are_refused():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        "<anime id='1'><type>&lol2;</type></anime>"
    )
    with pytest.raises(BadResponseError):
        parse_anidb_xml(bomb)


def test_animeschedule(partials):
    p = partials["animeschedule"]
    assert "&#34;" not in p["synopsis"] and "<br>" not in p["synopsis"]
    assert p["statistics"]["animeschedule"]["score"] == pytest.approx(8.3667, abs=1e-3)
    assert p["broadcast_schedule"]["jpn_time"] == "2020-06-14T16:00:00Z"
    assert p["premiere_dates"] == {"original": "1998-04-02T16:00:00Z"}  # zero dates dropped
    assert "https://anilist.co/anime/1" in p["sources"] and "https://anidb.net/anime/23" in p["sources"]
    assert {s["platform"] for s in p["streaming_info"]} >= {"Crunchyroll", "Netflix"}


def test_animeplanet(partials):
    p = partials["animeplanet"]
    assert p["statistics"]["animeplanet"] == {"score": pytest.approx(8.678), "scored_by": 55235, "rank": 26}
    assert [m["name"] for m in p["staff_data"]["production_staff"]["directors"]] == ["Shinichirou Watanabe"]
    assert [m["name"] for m in p["staff_data"]["production_staff"]["music_composers"]] == ["Youko Kanno"]
    assert {"name": "Spike Spiegel"} in p["characters"]
    assert p["related_anime"][1]["title"] == "Cowboy Bebop: The Movie"
    assert p["status"] == "FINISHED"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Spiegel, Spike", "Spike Spiegel"),
        ("Yamadera Kouichi", "Kouichi Yamadera"),
        ("Watanabe Shin`ichirou", "Shinichirou Watanabe"),
        ("Youko KANNO", "Yoko Kanno"),
        ("Kim, Gi hyeon", "Gi-hyeon Kim"),
    ],
)
def test_name_key_matches_spellings_of_one_person(a, b):
    assert name_key(a) == name_key(b)


def test_name_key_keeps_different_people_apart():
    assert name_key("Spike Spiegel") != name_key("Jet Black")


@pytest.mark.parametrize(
    ("role", "group"),
    [
        ("Director", "directors"),
        ("Direction", "directors"),
        ("Music", "music_composers"),
        ("Key Animation (eps 4, 8)", "key_animators"),
        ("Series Composition", "series_writers"),
        ("Finishing (ep 22)", "finishing"),
        (None, "other"),
    ],
)
def test_staff_groups(role, group):
    assert staff_group(role) == group
