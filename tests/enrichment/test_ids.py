"""Platform ids from every URL shape the anime sites use (and canonical URLs back)."""

from __future__ import annotations

import pytest

from enrichment.ids import extract_ids, platform_of, platform_url

CASES = [
    # MyAnimeList
    ("https://myanimelist.net/anime/1", ("mal", "1")),
    ("http://myanimelist.net/anime/1/Cowboy_Bebop", ("mal", "1")),
    ("https://www.myanimelist.net/anime/1/", ("mal", "1")),
    ("https://myanimelist.net/anime/5114/Fullmetal_Alchemist__Brotherhood?q=fma", ("mal", "5114")),
    ("https://myanimelist.net/anime.php?id=21", ("mal", "21")),
    ("myanimelist.net/anime/1", ("mal", "1")),
    # AniList
    ("https://anilist.co/anime/1", ("anilist", "1")),
    ("https://anilist.co/anime/21/ONE-PIECE/", ("anilist", "21")),
    ("http://www.anilist.co/anime/1/characters", ("anilist", "1")),
    # Kitsu: both domains, numeric ids and slugs, the API path
    ("https://kitsu.io/anime/1", ("kitsu", "1")),
    ("https://kitsu.app/anime/1", ("kitsu", "1")),
    ("https://kitsu.io/anime/cowboy-bebop", ("kitsu", "cowboy-bebop")),
    ("https://kitsu.app/anime/cowboy-bebop/episodes", ("kitsu", "cowboy-bebop")),
    ("https://kitsu.io/api/edge/anime/12330", ("kitsu", "12330")),
    ("kitsu.io/anime/1", ("kitsu", "1")),
    # AniDB: path, short form, the old perl page, the old domain
    ("https://anidb.net/anime/23", ("anidb", "23")),
    ("https://anidb.net/anime/23/", ("anidb", "23")),
    ("http://anidb.net/a23", ("anidb", "23")),
    ("https://anidb.net/perl-bin/animedb.pl?show=anime&aid=23", ("anidb", "23")),
    ("http://anidb.info/perl-bin/animedb.pl?show=anime&aid=23", ("anidb", "23")),
    ("https://www.anidb.net/anime/?aid=23", ("anidb", "23")),
    # Anime-Planet (slug)
    ("https://www.anime-planet.com/anime/cowboy-bebop", ("animeplanet", "cowboy-bebop")),
    ("https://anime-planet.com/anime/raise-a-suilen-nvade-show/", ("animeplanet", "raise-a-suilen-nvade-show")),
    ("https://www.anime-planet.com/anime/cowboy-bebop/characters", ("animeplanet", "cowboy-bebop")),
    # aniSearch (id, then ",slug")
    ("https://www.anisearch.com/anime/1572", ("anisearch", "1572")),
    ("https://www.anisearch.com/anime/1572,cowboy-bebop", ("anisearch", "1572")),
    ("https://www.anisearch.de/anime/1572,cowboy-bebop/characters", ("anisearch", "1572")),
    # AnimeSchedule (slug)
    ("https://animeschedule.net/anime/cowboy-bebop", ("animeschedule", "cowboy-bebop")),
    ("https://www.animeschedule.net/anime/nvade-show?tab=info", ("animeschedule", "nvade-show")),
    # LiveChart, Simkl, ANN, notify.moe, AnimeCountdown
    ("https://www.livechart.me/anime/3418", ("livechart", "3418")),
    ("https://livechart.me/anime/3418/", ("livechart", "3418")),
    ("https://simkl.com/anime/37089", ("simkl", "37089")),
    ("https://simkl.com/anime/37089/cowboy-bebop", ("simkl", "37089")),
    ("https://www.animenewsnetwork.com/encyclopedia/anime.php?id=13", ("animenewsnetwork", "13")),
    ("http://animenewsnetwork.com/encyclopedia/anime.php?id=13&page=2", ("animenewsnetwork", "13")),
    ("https://notify.moe/anime/Tk3ccKimg", ("notify", "Tk3ccKimg")),
    ("https://notify.moe/anime/Tk3ccKimg/characters", ("notify", "Tk3ccKimg")),
    ("https://animecountdown.com/1577789", ("animecountdown", "1577789")),
    ("https://animecountdown.com/1577789/cowboy-bebop", ("animecountdown", "1577789")),
]


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_platform_of_reads_every_url_shape(url, expected):
    assert platform_of(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "https://example.com/anime/1",
        "https://myanimelist.net/manga/1",
        "https://myanimelist.net/anime/",
        "https://anilist.co/manga/30173",
        "https://anidb.net/character/270",
        "https://www.anime-planet.com/anime/all",
        "https://www.animenewsnetwork.com/encyclopedia/anime.php",
        "https://anidb.net/perl-bin/animedb.pl?show=anime&aid=abc",
        "http://[::1",
    ],
)
def test_non_anime_pages_give_no_id(url):
    assert platform_of(url) is None


def test_extract_ids_keeps_first_url_per_platform_in_platform_order():
    sources = [
        "https://kitsu.io/anime/cowboy-bebop",
        "https://myanimelist.net/anime/1",
        "https://kitsu.app/anime/1",
        "https://anidb.net/perl-bin/animedb.pl?show=anime&aid=23",
        "https://example.org/whatever",
        "https://animeschedule.net/anime/cowboy-bebop",
    ]
    ids = extract_ids(sources)
    assert ids == {"mal": "1", "kitsu": "cowboy-bebop", "anidb": "23", "animeschedule": "cowboy-bebop"}
    assert list(ids) == ["mal", "kitsu", "anidb", "animeschedule"]


def test_extract_ids_of_nothing_is_empty():
    assert extract_ids([]) == {}
    assert extract_ids(["https://example.com"]) == {}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("mal", "1"),
        ("anilist", "21"),
        ("kitsu", "cowboy-bebop"),
        ("anidb", "23"),
        ("animeplanet", "cowboy-bebop"),
        ("anisearch", "1572"),
        ("animeschedule", "cowboy-bebop"),
        ("livechart", "3418"),
        ("simkl", "37089"),
        ("animenewsnetwork", "13"),
        ("notify", "Tk3ccKimg"),
        ("animecountdown", "1577789"),
    ],
)
def test_platform_url_round_trips(key, value):
    assert platform_of(platform_url(key, value)) == (key, value)


def test_platform_url_rejects_unknown_platform_with_the_known_ones():
    with pytest.raises(ValueError, match="known: mal"):
        platform_url("crunchyroll", "1")
