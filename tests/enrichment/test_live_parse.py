"""The live readers on recorded and documented answers: AniList's recorded Cowboy Bebop links and episode
links, and the documented shapes of AniList airing and lists, Kitsu streaming links and library entries, and
trace.moe results (an id alone, or the anilistInfo object; episodes as numbers, lists or null)."""

from __future__ import annotations

from enrichment import live_parse as parse
from tests.recorded_answers import load_fixture


def test_anilist_streaming_links_from_the_recorded_answer():
    links = parse.anilist_links(load_fixture("anilist_media_1.json"))
    sites = [link.site for link in links]
    assert sites[:3] == ["Hulu", "Crunchyroll", "Amazon Prime Video"]
    assert all(link.source == "anilist" and link.url.startswith("http") for link in links)
    assert len(sites) == len(set(sites))  # episode links add only sites the external links lack


def test_anilist_links_skip_disabled_and_non_streaming_and_read_notes():
    media = {
        "externalLinks": [
            {"site": "Twitter", "url": "https://x.com/a", "type": "SOCIAL"},
            {"site": "Old", "url": "https://old.example/a", "type": "STREAMING", "isDisabled": True},
            {"site": "Crunchyroll", "url": "https://cr/a", "type": "STREAMING", "language": "Japanese", "notes": "Sub"},
        ]
    }
    (link,) = parse.anilist_links(media)
    assert (link.site, link.region, link.subtitles, link.dubs) == ("Crunchyroll", "Japanese", ["subtitled"], [])


def test_anilist_airing_nodes_else_next_episode():
    media = {"id": 9, "idMal": 30, "title": {"romaji": "R", "english": "E"}}
    nodes = {"nodes": [{"airingAt": 200, "episode": 3}, {"airingAt": 100, "episode": 2}]}
    assert [(a.episode, a.title) for a in parse.anilist_airing({**media, "airingSchedule": nodes})] == [
        (2, "E"),
        (3, "E"),
    ]
    only_next = {**media, "airingSchedule": {"edges": []}, "nextAiringEpisode": {"airingAt": 5, "episode": 1}}
    assert [a.episode for a in parse.anilist_airing(only_next)] == [1]
    assert parse.anilist_airing(load_fixture("anilist_media_1.json")) == []  # a finished show


def test_anilist_list_statuses_and_scores():
    entries = [
        {"status": "COMPLETED", "score": 8.5, "media": {"id": 1, "idMal": 1, "title": {"romaji": "A"}}},
        {"status": "DROPPED", "score": 0, "media": {"id": 2, "idMal": None, "title": {"english": "B"}}},
    ]
    items = parse.anilist_list({"lists": [{"entries": entries}]})
    assert [(i.status, i.score, i.mal_id, i.title) for i in items] == [
        ("completed", 8.5, 1, "A"),
        ("dropped", None, None, "B"),
    ]


def test_kitsu_links_and_library_entries():
    doc = {
        "data": [
            {
                "attributes": {"url": "https://www.hidive.com/x", "subs": ["en"], "dubs": ["ja"]},
                "relationships": {"streamer": {"data": {"type": "streamers", "id": "7"}}},
            },
            {"attributes": {"url": "https://unknown.example/y", "subs": [], "dubs": []}},
        ],
        "included": [{"type": "streamers", "id": "7", "attributes": {"siteName": "HIDIVE"}}],
    }
    links = parse.kitsu_links(doc)
    assert [(w.site, w.subtitles, w.dubs) for w in links] == [("HIDIVE", ["en"], ["ja"]), ("unknown.example", [], [])]
    library = {
        "data": [
            {
                "attributes": {"status": "on_hold", "ratingTwenty": 14},
                "relationships": {"anime": {"data": {"type": "anime", "id": "3"}}},
            }
        ],
        "included": [
            {
                "type": "anime",
                "id": "3",
                "attributes": {"canonicalTitle": "C"},
                "relationships": {"mappings": {"data": [{"type": "mappings", "id": "m"}]}},
            },
            {"type": "mappings", "id": "m", "attributes": {"externalSite": "myanimelist/anime", "externalId": "6"}},
        ],
    }
    (item,) = parse.kitsu_list(library)
    assert (item.status, item.score, item.mal_id, item.kitsu_id, item.title) == ("paused", 7.0, 6, "3", "C")


def test_trace_moe_results_in_both_forms():
    doc = {
        "result": [
            {"anilist": 21, "episode": [1, 2], "from": 1.5, "to": 2.0, "similarity": 0.93},
            {
                "anilist": {"id": 1, "idMal": 1, "title": {"romaji": "Cowboy Bebop"}, "isAdult": False},
                "episode": None,
                "from": 10,
                "to": 11,
                "similarity": 0.88,
            },
        ]
    }
    first, second = parse.trace_matches(doc)
    assert (first.anilist_id, first.mal_id, first.episode, first.similarity) == (21, None, "1-2", 0.93)
    assert (second.mal_id, second.title, second.episode) == (1, "Cowboy Bebop", None)
