"""Merging the six recorded sources into one Cowboy Bebop entry, rule by rule."""

from __future__ import annotations

import statistics

import pytest

from enrichment.merge import merge_entry, score_summary
from enrichment.sources import PARSERS
from enrichment.sources._common import name_key
from index.schema import AnimeEntry, AnimeStatus, AnimeType
from tests.recorded_answers import recorded_raws


@pytest.fixture(scope="module")
def partials():
    return {name: PARSERS[name](raw) for name, raw in recorded_raws().items()}


@pytest.fixture(scope="module")
def base():
    # what the MyAnimeList snapshot knows, with lower-case studios as the offline database writes them
    return AnimeEntry.model_validate(
        {
            "id": "mal-1",
            "title": "Cowboy Bebop",
            "sources": ["https://myanimelist.net/anime/1"],
            "genres": ["action", "Sci-Fi"],
            "staff_data": {"studios": ["sunrise"]},
            "content_warnings": ["violence"],
            "external_links": {"homepage": "http://example.org/bebop"},
            "statistics": {"livechart": {"score": 8.9, "members": 1000}},
        }
    )


@pytest.fixture(scope="module")
def merged(base, partials):
    return merge_entry(base, partials, failures={}, duration_seconds=1.5)


def test_core_fields(merged):
    assert merged.title == "Cowboy Bebop"
    assert merged.synopsis.startswith("Crime is timeless.")  # MAL's synopsis wins
    assert merged.background.startswith("When Cowboy Bebop first aired")
    assert (merged.type, merged.status, merged.episodes) == (AnimeType.TV, AnimeStatus.FINISHED, 26)
    assert (merged.year, merged.season.value, merged.month, merged.duration) == (1998, "SPRING", "April", 1440)
    assert merged.title_japanese == "カウボーイビバップ"
    assert merged.rating == "R - 17+ (violence & profanity)"
    assert merged.nsfw is False


def test_episodes_have_titles_and_details_from_several_sources(merged):
    episodes = merged.episode_details
    assert [e.episode_number for e in episodes] == list(range(1, 27))
    assert all(e.title for e in episodes)
    first = episodes[0]
    assert first.title == "Asteroid Blues" and first.synopsis.startswith("In a flashback")  # Jikan
    assert first.season_number == 1 and first.thumbnails  # Kitsu, AniList
    assert set(first.episode_pages) >= {"mal", "kitsu"}


def test_characters_are_matched_across_sources_with_voice_actors(merged):
    by_key = {name_key(c.name): c for c in merged.characters}
    assert len(by_key) == len(merged.characters), "a character appears twice"
    spike = by_key[name_key("Spike Spiegel")]
    assert spike.role == "Main" and merged.characters[0].role == "Main"
    japanese = [v for v in spike.voice_actors if v.language == "Japanese"]
    assert [name_key(v.name) for v in japanese] == [name_key("Yamadera, Kouichi")]  # three spellings, one person
    assert {"English", "Japanese"} <= {v.language for v in spike.voice_actors}
    assert set(spike.character_ids) == {"mal", "anilist", "anidb"}
    assert spike.description and spike.name_native
    # "Edward" (Anime-Planet) is the Edward Wong Hau Pepelu Tivrusky IV of the others
    assert sum(1 for c in merged.characters if "edward" in name_key(c.name)) == 1


def test_staff_grouped_by_role(merged):
    staff = merged.staff_data.production_staff
    directors = [name_key(m.name) for m in staff["directors"]]
    assert directors == [name_key("Shinichirou Watanabe")]  # AniList, AniDB, Anime-Planet agree: one person
    director = staff["directors"][0]
    assert director.name == "Shinichirou Watanabe" and set(director.staff_ids) == {"anilist", "anidb"}
    composers = [m.name for m in staff["music_composers"]]
    assert composers[0] == "Youko Kanno" and len([c for c in composers if "Kanno" in c]) == 1
    assert [m.name for m in staff["series_writers"]] == ["Keiko Nobumoto"]


def test_companies_unioned_case_insensitively(merged):
    assert merged.studios == ["Sunrise"]  # MAL's spelling wins over the base's "sunrise"
    assert {"Bandai Visual", "Victor Entertainment"} <= set(merged.producers)
    assert [c.name for c in merged.staff_data.licensors] == ["Funimation"]
    assert merged.licensors == ["Funimation"]


def test_voice_actor_index_built_from_cast(merged):
    japanese = merged.staff_data.voice_actors["japanese"]
    yamadera = next(v for v in japanese if name_key(v.name) == name_key("Kouichi Yamadera"))
    assert "Spike Spiegel" in yamadera.character_assignments


def test_statistics_per_platform_on_a_ten_point_scale(merged):
    stats = merged.statistics
    assert {"mal", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet"} <= set(stats)
    assert stats["mal"].score == 8.75
    assert stats["anilist"].score == 8.6  # 86 / 100
    assert stats["kitsu"].score == pytest.approx(8.223)
    assert stats["animeplanet"].score == pytest.approx(8.678)  # 4.339 / 5
    assert all(0 < s.score <= 10 for s in stats.values() if s.score is not None)
    assert stats["livechart"].score == 8.9  # the base's platform, untouched by any source


def test_score_summary_over_platforms(merged):
    scores = [s.score for s in merged.statistics.values() if s.score]
    summary = merged.score
    assert summary.arithmetic_mean == pytest.approx(sum(scores) / len(scores), abs=1e-5)
    assert min(scores) <= summary.arithmetic_geometric_mean <= summary.arithmetic_mean
    assert summary.median == pytest.approx(statistics.median(scores), abs=1e-5)


def test_score_summary_values():
    summary = score_summary({"a": {"score": 8.0}, "b": {"score": 6.0}, "c": {"score": 10.0}, "d": {"score": None}})
    assert summary["arithmetic_mean"] == 8.0 and summary["median"] == 8.0
    geometric = (8 * 6 * 10) ** (1 / 3)
    assert geometric < summary["arithmetic_geometric_mean"] < 8.0
    assert score_summary({}) is None


def test_lists_unioned_without_case_duplicates(merged):
    lowered = [g.casefold() for g in merged.genres]
    assert len(lowered) == len(set(lowered))
    assert merged.genres[0] == "action"  # the base's order and spelling are kept
    assert {"sci-fi", "adventure", "drama", "comedy"} <= set(lowered)
    assert "Cowboy Bebop" not in merged.synonyms and "CBB" in merged.synonyms
    assert len({s.casefold() for s in merged.synonyms}) == len(merged.synonyms)
    assert merged.content_warnings == ["violence"]  # only the base had it


def test_links_images_sources(merged):
    assert merged.external_links["homepage"] == "http://example.org/bebop"
    assert "official site" in merged.external_links
    assert merged.images.covers[0] == "https://cdn.myanimelist.net/images/anime/4/19644l.jpg"
    assert merged.images.posters and merged.images.banners
    assert merged.sources[0] == "https://myanimelist.net/anime/1"
    assert {
        "https://anilist.co/anime/1",
        "https://kitsu.app/anime/1",
        "https://anidb.net/anime/23",
        "https://animeschedule.net/anime/cowboy-bebop",
    } <= set(merged.sources)
    assert merged.broadcast_schedule.jpn_time == "2020-06-14T16:00:00Z"
    assert merged.opening_themes[0].title == "Tank!"
    assert merged.trailers and merged.related_anime and merged.streaming_info


def test_metadata(merged):
    meta = merged.enrichment_metadata
    assert meta.sources_used == ["jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet"]
    assert meta.failures == {} and meta.success is True and meta.duration_seconds == 1.5
    assert meta.enriched_at.endswith("Z")


def test_merge_is_deterministic_whatever_the_arrival_order(base, partials):
    forward = merge_entry(base, partials, enriched_at="2025-01-01T00:00:00Z")
    backward = merge_entry(base, dict(reversed(list(partials.items()))), enriched_at="2025-01-01T00:00:00Z")
    assert forward.model_dump() == backward.model_dump()


def test_partial_failure_keeps_what_was_fetched_and_the_base(base, partials):
    only = {"anidb": partials["anidb"]}
    entry = merge_entry(base, only, failures={"jikan": "failed: HTTP 500", "anilist": "failed: timed out"})
    assert entry.synopsis.startswith("The year is 2071")
    assert entry.genres[:2] == ["action", "Sci-Fi"] and entry.statistics["anidb"].score == 8.74
    assert entry.statistics["livechart"].score == 8.9
    assert entry.enrichment_metadata.failures == {"jikan": "failed: HTTP 500", "anilist": "failed: timed out"}
    assert entry.enrichment_metadata.sources_used == ["anidb"]


def test_nothing_fetched_still_gives_the_base_back(base):
    entry = merge_entry(base, {}, failures={"jikan": "failed"})
    assert entry.title == base.title and entry.genres == base.genres
    assert entry.enrichment_metadata.success is False


def test_placeholder_title_is_replaced(partials):
    placeholder = AnimeEntry(id="mal-1", title="mal-1", sources=["https://myanimelist.net/anime/1"])
    assert merge_entry(placeholder, partials).title == "Cowboy Bebop"


def test_unknown_values_never_overwrite_known_ones():
    base = AnimeEntry(title="X", sources=["https://myanimelist.net/anime/9"], type="MOVIE", episodes=1)
    entry = merge_entry(base, {"jikan": {"type": "UNKNOWN", "episodes": None, "status": "Finished Airing"}})
    assert entry.type == AnimeType.MOVIE and entry.episodes == 1 and entry.status == AnimeStatus.FINISHED


def test_an_adult_flag_from_any_source_wins():
    base = AnimeEntry(title="X", sources=["https://anilist.co/anime/9"])
    assert merge_entry(base, {"anilist": {"nsfw": True}, "kitsu": {"nsfw": False}}).nsfw is True
