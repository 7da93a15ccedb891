"""What each named vector embeds, the BM25 text, image sources and the payload."""

from __future__ import annotations

import re

import pytest

from index import vectors as V
from index.identity import content_hash
from index.importers import load_entries
from index.payload import average_score, build_payload, normalise_title, rating_code, synopsis_short
from index.payload_fields import ENTRY_KEY, IMAGE_URL_KEY, PAYLOAD_INDEXES, SYNOPSIS_SHORT_KEY
from index.schema import AnimeEntry
from index.texts import image_sources, lexical_text, render_texts, vector_texts
from tests.paths import DATA


@pytest.fixture(scope="module")
def enriched() -> dict[str, AnimeEntry]:
    return {e.title: e for e in load_entries(DATA / "enriched_sample_28.json")}


@pytest.fixture(scope="module")
def mal() -> list[AnimeEntry]:
    return load_entries(DATA / "anime_mal_1822.json")


@pytest.fixture(scope="module")
def texts(enriched) -> dict[str, dict[str, str]]:
    return {title: vector_texts(e) for title, e in enriched.items()}


NVADE = "!NVADE SHOW!"
HATSUKOI = '"Bungaku Shoujo" Kyou no Oyatsu: Hatsukoi'
MEMOIRE = '"Bungaku Shoujo" Memoire'
MOVIE = '"Bungaku Shoujo" Movie'
SHARE_HOUSE = '"1-punkan dake Furete mo Ii yo..." Share House no Himitsu Rule.'


# ----------------------------------------------------------------------------- the 12 texts
def test_every_text_vector_is_filled_somewhere_in_the_enriched_sample(texts):
    filled = {name for t in texts.values() for name in t}
    assert filled == set(V.TEXT_VECTORS)


def test_texts_are_never_empty_and_use_known_names(texts, mal):
    for t in [*texts.values(), *(vector_texts(e) for e in mal[:200])]:
        assert set(t) <= set(V.TEXT_VECTORS)
        assert all(text.strip() for text in t.values())


def test_title_vector(texts, enriched):
    text = texts[MOVIE][V.TITLE]
    assert text.startswith('Title: "Bungaku Shoujo" Movie.')
    assert 'Japanese title: 劇場版"文学少女"' in text
    assert "Also known as: Book Girl; Literature Girl" in text
    assert enriched[MOVIE].synopsis.split("\n")[0] in text  # whole synopsis, not cut
    assert "Background: " in text and "59 million yen" in text


def test_character_vector_names_roles_and_voice_actors(texts, enriched):
    text = texts[NVADE][V.CHARACTER]
    assert "Masuki Satou (佐藤ますき), main character." in text
    assert "Also called: MASKING." in text
    assert "Voiced by: Natsume (Japanese)." in text
    assert "drummer for the band RAISE A SUILEN" in text  # description
    memoire = texts[MEMOIRE][V.CHARACTER]
    for character in enriched[MEMOIRE].characters:  # every character, none dropped
        assert character.name.strip() in memoire
    assert "Voiced by: Chiwa Saitou (Japanese), Miyu Irino (Japanese)." in memoire  # "Saitou, Chiwa" reordered
    assert len(memoire.splitlines()) == len(enriched[MEMOIRE].characters)


def test_genre_vector(texts):
    text = texts[NVADE][V.GENRE]
    assert text.startswith("Genres: Music.")
    assert "Full CGI - Almost entirely created with computer-generated imagery" in text
    assert "Tags: " not in text  # every tag is already a theme or genre
    share = texts[SHARE_HOUSE][V.GENRE]
    assert "Content warnings: Adult Content, Explicit Sexual Content." in share
    assert "Demographics: Shoujo." in texts[MEMOIRE][V.GENRE]


def test_technical_vector(texts, mal):
    assert texts[MOVIE][V.TECHNICAL] == (
        "Format: movie. Status: finished airing. Episodes: 1. Episode length: 1 hour 40 minutes. "
        "Rating: PG-13 - Teens 13 or older. Source material: light novel."
    )
    bebop = vector_texts(mal[0])[V.TECHNICAL]
    assert "Format: TV series." in bebop and "Episode length: 24 minutes." in bebop
    assert "Licensed by: Funimation, Bandai Entertainment." in bebop


def test_staff_vector(texts, mal):
    text = texts[NVADE][V.STAFF]
    assert "Music composers: Junpei Fujita (藤田淳平)." in text
    assert "Studios: SANZIGEN." in text
    assert "Voice actors (Japanese): Natsume as Masuki Satou (MASKING);" in text
    movie = texts[MOVIE][V.STAFF]
    assert "Studios: Production I.G." in movie
    assert movie.count("Kana Hanazawa") + movie.count("Hanazawa Kana") == 1  # one person, one mention
    assert vector_texts(mal[0])[V.STAFF] == "Studios: Sunrise. Producers: Bandai Visual."


def test_review_vector_words_not_numbers(texts, mal):
    assert "#29 highest rated OVA of 2009; #28 most popular OVA of 2009" in texts[HATSUKOI][V.REVIEW]
    bebop = vector_texts(mal[0])
    assert "Award-winning anime." in bebop[V.REVIEW]
    assert "Among the 100 highest rated anime on MyAnimeList." in bebop[V.REVIEW]
    joined = " ".join(bebop.values())
    assert "8.75" not in joined and "1771505" not in joined  # raw statistics stay in the payload


def test_temporal_vector(texts, mal):
    text = texts[NVADE][V.TEMPORAL]
    assert "Season: Fall 2020." in text and "(2020s)" in text
    assert "Aired: Oct 7, 2020." in text
    assert "Premiere dates: original October 7, 2020." in text
    assert "Season: Spring 1998." in vector_texts(mal[0])[V.TEMPORAL]


def test_streaming_related_franchise_vectors(texts):
    assert texts[MOVIE][V.STREAMING] == "Streaming on: Crunchyroll. Streaming licenses: Crunchyroll."
    related = texts[HATSUKOI][V.RELATED]
    assert 'Parent story: "Bungaku Shoujo" Movie;' in related
    assert "Sequel: Gekijouban Bungaku Shoujo" in related
    assert 'Adaptation: "Bungaku Shoujo" to Shinitagari no Pierrot (manga)' in related
    assert "PENDING" not in related
    assert texts[NVADE][V.RELATED] == "Shares characters with: BanG Dream! 2nd Season; BanG Dream!"
    franchise = texts[MOVIE][V.FRANCHISE]
    assert "Trailers: Official Trailer;" in franchise
    assert 'Ending themes: "Harukana Hibi (遥かな日々)" by eufonius.' in franchise


def test_episode_vector_covers_every_episode(texts, enriched):
    text = texts[MEMOIRE][V.EPISODE]
    assert text.splitlines() == [
        "Episode 1: Prelude to the Dreaming Girl (Yumemiru Shoujo no Prelude; "
        "夢見る少女の前奏曲（プレリュード）). Aired June 24, 2010.",
        "Episode 2: Requiem of the Angel Dancing in the Sky (Sora Mau Tenshi no Requiem; "
        "ソラ舞う天使の鎮魂曲（レクイエム）). Aired October 28, 2010.",
        "Episode 3: Rhapsody of the Maiden in Love (Koisuru Otome no Rhapsody; "
        "恋する乙女のラプソディー). Aired December 23, 2010.",
    ]
    share = texts[SHARE_HOUSE][V.EPISODE]
    assert len(share.splitlines()) == len(enriched[SHARE_HOUSE].episode_details) == 8
    # "Episode 1".."Episode 16" with nothing else say nothing: no vector at all
    assert V.EPISODE not in texts['"Ayakai Shima" e Youkoso! Mitaman no Ayakashima Kankou Annai']


def test_identifiers_vector(texts, mal):
    text = texts[NVADE][V.IDENTIFIERS]
    assert text.startswith("Listed on: MyAnimeList 51478, AniList 142051, Kitsu 47450,")
    zero = texts['"0"'][V.IDENTIFIERS]
    assert "AniDB 10143" in zero and zero.endswith("External links: Official site, Wikipedia.")  # AniDB once
    assert vector_texts(mal[0])[V.IDENTIFIERS] == "Listed on: MyAnimeList 1."


def test_empty_fields_give_no_key():
    bare = AnimeEntry(id="b-1", title="Bare", sources=["https://myanimelist.net/anime/77"])
    assert set(vector_texts(bare)) == {V.TITLE, V.IDENTIFIERS}
    assert vector_texts(bare)[V.TITLE] == "Title: Bare."
    assert image_sources(bare) == []


def test_no_urls_or_markup_in_texts(texts):
    for per_entry in texts.values():
        for text in per_entry.values():
            assert "http" not in text and "__" not in text and "~!" not in text


# ----------------------------------------------------------------------------- lexical, images, render
def test_lexical_text_holds_titles_names_and_labels(enriched):
    text = lexical_text(enriched[NVADE])
    for word in [
        "!NVADE SHOW!",
        "RAISE A SUILEN",
        "Masuki Satou",
        "MASKING",
        "Junpei Fujita",
        "Natsume",
        "SANZIGEN",
        "Music",
        "full cgi",
        "mind of Prominence",
    ]:
        assert word in text


def test_image_sources_dedupe_covers_posters_banners():
    entry = AnimeEntry(
        id="i",
        title="I",
        sources=["https://x.example/1"],
        images={"covers": ["a.jpg", "b.jpg"], "posters": ["b.jpg", "c.jpg"], "banners": ["a.jpg"]},
    )
    assert image_sources(entry) == ["a.jpg", "b.jpg", "c.jpg"]


def test_render_texts_shows_all_thirteen(enriched):
    text = render_texts(enriched[NVADE])
    for name in V.DENSE_VECTORS:
        assert f"== {name} ==" in text
    assert "https://cdn.myanimelist.net/images/anime/1615/149911l.jpg" in text
    assert "(no text: the fields it reads are empty)" in text  # streaming_vector


# ----------------------------------------------------------------------------- payload
def test_payload_normalised_fields(enriched, mal):
    bebop = build_payload(mal[0])
    assert bebop["anime_id"] == "mal-1"
    assert bebop["genres"] == ["action", "award winning", "sci-fi"]
    assert bebop["studios"] == ["sunrise"]
    assert bebop["rating"] == "R"
    assert bebop["type"] == "TV" and bebop["status"] == "FINISHED" and bebop["season"] == "SPRING"
    assert bebop["score"] == bebop["score_avg"] == 8.75
    assert bebop["members"] == 1771505 and bebop["popularity_rank"] == 43
    assert bebop["titles_norm"] == ["cowboy bebop", "カウボーイビバップ"]
    assert bebop["title_sort"] == "cowboy bebop"
    assert bebop["nsfw"] is False
    assert bebop["content_hash"] == content_hash(mal[0])
    assert bebop[IMAGE_URL_KEY] == "https://cdn.myanimelist.net/images/anime/4/19644.jpg"
    assert bebop[SYNOPSIS_SHORT_KEY].startswith("Crime is timeless.") and bebop[SYNOPSIS_SHORT_KEY].endswith("…")
    assert set(bebop) - set(PAYLOAD_INDEXES) == {ENTRY_KEY, IMAGE_URL_KEY, SYNOPSIS_SHORT_KEY}
    assert None not in bebop.values()

    share = build_payload(enriched[SHARE_HOUSE])
    assert share["nsfw"] is True and share["rating"] == "Rx"
    assert "score" not in share and "members" not in share  # no MAL statistics: keys left out


def test_payload_entry_round_trips(enriched):
    entry = enriched[MOVIE]
    stored = build_payload(entry)[ENTRY_KEY]
    assert stored["aired_dates"]["from"] == entry.aired_dates.from_  # README spelling, not "from_"
    assert AnimeEntry.model_validate(stored) == entry


def test_average_score_normalises_platform_scales():
    entry = AnimeEntry(
        id="s",
        title="S",
        sources=["https://x.example/1"],
        statistics={"mal": {"score": 8.0}, "anilist": {"score": 70}, "kitsu": {"score": 9.0}},
    )
    assert average_score(entry) == pytest.approx(8.0)
    fallback = AnimeEntry(id="f", title="F", sources=["https://x.example/2"], score={"arithmetic_mean": 6.5})
    assert average_score(fallback) == 6.5
    assert average_score(AnimeEntry(id="n", title="N", sources=["https://x.example/3"])) is None


@pytest.mark.parametrize(
    ("rating", "code"),
    [
        ("PG-13 - Teens 13 or older", "PG-13"),
        ("R+ - Mild Nudity", "R+"),
        ("Rx - Hentai", "Rx"),
        ("G - All Ages", "G"),
        ("PG - Children", "PG"),
        ("R - 17+ (violence & profanity)", "R"),
        ("", None),
        ("Unrated", None),
    ],
)
def test_rating_code(rating, code):
    assert rating_code(rating) == code


def test_normalise_title():
    assert normalise_title("Cowboy Bebop: The Movie") == normalise_title("  cowboy   BEBOP the movie!! ")
    assert normalise_title("ＣＯＷＢＯＹ　ＢＥＢＯＰ") == "cowboy bebop"  # full-width (NFKC)
    assert normalise_title("「0」") == "0"
    assert normalise_title("Ｄｅａｔｈ・Ｎｏｔｅ") == "death note"


def test_synopsis_short_cuts_at_a_word():
    text = "word " * 100
    short = synopsis_short(text)
    assert len(short) <= 301 and short.endswith("word…")
    assert synopsis_short("short one") == "short one"
    assert synopsis_short(None) is None
    assert not re.search(r"\s…$", short)
