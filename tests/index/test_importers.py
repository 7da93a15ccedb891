"""Importers and stable identities: every supported file format, messy input, streaming."""

from __future__ import annotations

import gzip
import io
import json
import uuid

import pytest

from index.identity import content_hash, derive_id, entry_id, platform_id, point_id, source_ids, text_hash
from index.importers import ImportFileError, count_entries, iter_entries, load_entries, title_from_url
from index.schema import AnimeEntry, AnimeType
from tests.paths import DATA

SCHEMAS = DATA / "schemas"


# ----------------------------------------------------------------------------- shared files
@pytest.mark.parametrize(
    ("name", "count", "first_id"),
    [
        ("anime_mal_1822.json", 1822, "mal-1"),
        ("anime_mal_titles_24901.json", 24901, "mal-1"),
        ("enriched_sample_28.json", 28, "c58ec818-5c85-4e82-9727-142ad59220b5"),
    ],
)
def test_shared_files_import_without_errors(name, count, first_id):
    results = list(iter_entries(DATA / name))
    errors = [r.error for r in results if not r.ok]
    assert errors == []
    assert len(results) == count
    assert [r.index for r in results[:3]] == [0, 1, 2]
    assert results[0].entry.id == first_id
    assert count_entries(DATA / name) == count


def test_mal_snapshot_fields_survive_import():
    bebop = load_entries(DATA / "anime_mal_1822.json")[0]
    assert bebop.title == "Cowboy Bebop"
    assert bebop.type is AnimeType.TV and bebop.episodes == 26 and bebop.duration == 1440
    assert bebop.studios == ["Sunrise"]
    assert bebop.statistics["mal"].members == 1771505


# ----------------------------------------------------------------------------- offline database
def _offline_entries() -> list[dict]:
    """Two entries shaped exactly like anime-offline-database release entries."""
    return [
        {
            "sources": [
                "https://anidb.net/anime/23",
                "https://anilist.co/anime/1",
                "https://myanimelist.net/anime/1",
                "https://kitsu.app/anime/1",
            ],
            "title": "Cowboy Bebop",
            "type": "TV",
            "episodes": 26,
            "status": "FINISHED",
            "animeSeason": {"season": "SPRING", "year": 1998},
            "picture": "https://cdn.myanimelist.net/images/anime/4/19644.jpg",
            "thumbnail": "https://cdn.myanimelist.net/images/anime/4/19644t.jpg",
            "duration": {"value": 1440, "unit": "SECONDS"},
            "score": {"arithmeticGeometricMean": 8.63, "arithmeticMean": 8.64, "median": 8.7},
            "synonyms": ["カウボーイビバップ", "Kaubōi Bibappu"],
            "studios": ["sunrise"],
            "producers": ["bandai visual"],
            "relatedAnime": [
                "https://myanimelist.net/anime/5",
                "https://anime-planet.com/anime/cowboy-bebop-the-movie",
            ],
            "tags": ["action", "space", "bounty hunters"],
        },
        {
            "sources": ["https://anilist.co/anime/99999"],
            "title": "Unaired Thing",
            "type": "UNKNOWN",
            "episodes": 0,
            "status": "UPCOMING",
            "animeSeason": {"season": "UNDEFINED"},
            "picture": "https://raw.githubusercontent.com/manami-project/anime-offline-database/master/pics/no_pic.png",
            "thumbnail": "https://raw.githubusercontent.com/manami-project/anime-offline-database/master/pics/no_pic_thumbnail.png",
            "synonyms": [],
            "studios": [],
            "producers": [],
            "relatedAnime": [],
            "tags": [],
        },
    ]


def _offline_meta() -> dict:
    return {
        "license": {
            "name": "Open Data Commons Open Database License (ODbL) v1.0 + Database Contents License (DbCL) v1.0",
            "url": "https://github.com/manami-project/anime-offline-database/blob/master/LICENSE",
        },
        "repository": "https://github.com/manami-project/anime-offline-database",
        "scoreRange": {"minInclusive": 1.0, "maxInclusive": 10.0},
        "lastUpdate": "2025-07-01",
    }


def test_offline_sample_matches_the_published_schemas():
    jsonschema = pytest.importorskip("jsonschema")
    release = {**_offline_meta(), "data": _offline_entries()}
    jsonschema.validate(release, json.loads((SCHEMAS / "anime-offline-database-minified.schema.json").read_text()))
    line_schema = json.loads((SCHEMAS / "anime-offline-database.jsonl.schema.json").read_text())
    for entry in _offline_entries():
        jsonschema.validate(entry, line_schema)


def _check_offline(entries: list[AnimeEntry]) -> None:
    bebop, unaired = entries
    assert bebop.id == "mal-1"  # derived from the MyAnimeList source
    assert bebop.season.value == "SPRING" and bebop.year == 1998
    assert bebop.duration == 1440
    assert bebop.images.covers == ["https://cdn.myanimelist.net/images/anime/4/19644.jpg"]
    assert bebop.score.arithmetic_geometric_mean == 8.63 and bebop.score.median == 8.7
    assert bebop.studios == ["sunrise"] and bebop.producers == ["bandai visual"]
    assert bebop.tags == ["action", "space", "bounty hunters"]
    assert "Kaubōi Bibappu" in bebop.synonyms
    assert [(r.title, r.url) for r in bebop.related_anime] == [
        ("MyAnimeList anime 5", "https://myanimelist.net/anime/5"),
        ("Cowboy Bebop The Movie", "https://anime-planet.com/anime/cowboy-bebop-the-movie"),
    ]
    assert unaired.id == "anilist-99999"
    assert unaired.season is None and unaired.year is None  # UNDEFINED season
    assert unaired.images.all_urls() == []  # the no-picture placeholder is dropped


def test_offline_database_json_release(tmp_path):
    path = tmp_path / "anime-offline-database-minified.json"
    path.write_text(json.dumps({**_offline_meta(), "data": _offline_entries()}))
    results = list(iter_entries(path))
    assert [r.error for r in results] == [None, None]
    _check_offline([r.entry for r in results])


def test_offline_database_jsonl_release(tmp_path):
    path = tmp_path / "anime-offline-database.jsonl"
    lines = [json.dumps({"$schema": "https://example.invalid/schema.json", **_offline_meta()})]
    lines += [json.dumps(e) for e in _offline_entries()]
    path.write_text("\n".join(lines) + "\n")
    results = list(iter_entries(path))
    assert [r.error for r in results] == [None, None]
    assert [r.line for r in results] == [2, 3]
    _check_offline([r.entry for r in results])


def test_jsonl_is_detected_without_the_suffix_and_a_broken_line_is_skipped(tmp_path):
    first, second = _offline_entries()
    path = tmp_path / "release.txt"
    path.write_text("\n".join([json.dumps(_offline_meta()), json.dumps(first), "{not json", json.dumps(second)]))
    results = list(iter_entries(path))
    assert [r.ok for r in results] == [True, False, True]
    assert "line 3" in results[1].error and "not valid JSON" in results[1].error
    assert results[2].entry.title == "Unaired Thing"


def test_gzipped_file(tmp_path):
    path = tmp_path / "release.json.gz"
    with gzip.open(path, "wt") as f:
        json.dump({**_offline_meta(), "data": _offline_entries()}, f)
    assert [e.id for e in load_entries(path)] == ["mal-1", "anilist-99999"]


# ----------------------------------------------------------------------------- messy input
def test_messy_entries_import_and_bad_ones_are_reported_by_name(tmp_path):
    entries = [
        {
            "id": "x-1",
            "title": "Messy Movie",
            "type": "Movie",
            "status": "Finished Airing",
            "sources": ["https://example.org/a/1"],
            "someUnknownKey": {"deep": [1, 2]},
            "titleEnglish": "The Messy Movie",
            "sourceMaterial": "light_novel",
            "season": "autumn",
            "episodes": "1",
            "genres": [{"name": "Drama"}, "Drama", " Comedy "],
        },
        {"id": "x-2", "type": "TV", "sources": ["https://example.org/a/2"]},  # no title
        {"id": "x-3", "title": "Sourceless", "sources": []},  # no sources
        "not an object",
        {"title": "Kept Too", "sources": ["https://kitsu.app/anime/7"]},
        {"id": 42, "title": "Numeric Id", "sources": ["https://example.org/a/42"]},
        {"id": None, "title": "Null Id", "sources": ["https://myanimelist.net/anime/43"]},
    ]
    path = tmp_path / "plain_list.json"
    path.write_text(json.dumps(entries))
    results = list(iter_entries(path))
    assert [r.ok for r in results] == [True, False, False, False, True, True, True]

    messy = results[0].entry
    assert messy.type is AnimeType.MOVIE
    assert messy.status.value == "FINISHED"
    assert messy.title_english == "The Messy Movie"
    assert messy.source_material.value == "LIGHT NOVEL"
    assert messy.season.value == "FALL" and messy.episodes == 1
    assert messy.genres == ["Drama", "Comedy"]

    no_title, no_sources, not_object = results[1], results[2], results[3]
    assert "x-2" in no_title.error and "title" in no_title.error
    assert str(path) in no_title.error
    assert "Sourceless" in no_sources.error and "no sources" in no_sources.error
    assert "entry #3" in not_object.error and "JSON object" in not_object.error
    assert [r.entry.id for r in results[4:]] == ["kitsu-7", "42", "mal-43"]
    assert [e.title for e in load_entries(path)] == ["Messy Movie", "Kept Too", "Numeric Id", "Null Id"]
    with pytest.raises(ImportFileError, match="x-2"):
        load_entries(path, strict=True)


def test_duplicate_id_is_reported(tmp_path):
    path = tmp_path / "dupes.json"
    entry = {"id": "same", "title": "A", "sources": ["https://example.org/1"]}
    path.write_text(json.dumps({"data": [entry, {**entry, "title": "B"}]}))
    results = list(iter_entries(path))
    assert results[0].ok and not results[1].ok
    assert "duplicate id 'same'" in results[1].error


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "empty"),
        ("hello world", "not JSON"),
        ("42", "not JSON"),
        ('{"license": "x", "data": {"a": 1}}', "must be a list"),
        ('{"license": "x", "repository": "y"}', "no entries found"),
    ],
)
def test_unreadable_files_raise_naming_the_path(tmp_path, content, message):
    path = tmp_path / "broken.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ImportFileError, match=message) as info:
        list(iter_entries(path))
    assert str(path) in str(info.value)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(ImportFileError, match="folder"):
        list(iter_entries(tmp_path))


def test_invalid_json_midway_raises_after_the_good_entries(tmp_path):
    path = tmp_path / "truncated.json"
    good = json.dumps({"title": "Fine", "sources": ["https://myanimelist.net/anime/9"]})
    path.write_text('{"data": [' + good + ', {"title": "Cut off", "sour')
    seen = []
    with pytest.raises(ImportFileError, match="invalid JSON after 1 entries"):
        for result in iter_entries(path):
            seen.append(result.entry.title)
    assert seen == ["Fine"]


# ----------------------------------------------------------------------------- streaming
class CountingReader(io.RawIOBase):
    """A binary file that records how many bytes the importer has pulled from it."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.consumed = 0
        self.name = "counting-reader.json"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._inner.readinto(buffer)
        self.consumed += n
        return n


@pytest.mark.parametrize("shape", ["envelope", "list"])
def test_first_entry_arrives_before_the_file_is_read(shape):
    raw = (DATA / "anime_mal_1822.json").read_bytes()
    if shape == "list":
        start = raw.index(b'"data": [') + len(b'"data": ')
        raw = raw[start:-1]  # the bare list: strip the envelope around it
    reader = CountingReader(raw)
    results = iter_entries(reader)
    first = next(results)
    assert first.entry.title == "Cowboy Bebop"
    assert reader.consumed < len(raw) // 10, (reader.consumed, len(raw))
    assert sum(1 for _ in results) == 1821


# ----------------------------------------------------------------------------- identity
def test_entry_id_keeps_own_id_and_derives_from_sources_in_platform_order():
    def entry(sources, id_=""):
        return AnimeEntry(id=id_, title="T", sources=sources)

    assert entry_id(entry(["https://myanimelist.net/anime/5"], "own-id")) == "own-id"
    assert (
        entry_id(entry(["https://kitsu.app/anime/3", "https://anilist.co/anime/2", "https://myanimelist.net/anime/1"]))
        == "mal-1"
    )
    assert entry_id(entry(["https://kitsu.app/anime/3", "https://anilist.co/anime/2"])) == "anilist-2"
    assert entry_id(entry(["https://anidb.net/perl-bin/animedb.pl?show=anime&aid=3689"])) == "anidb-3689"
    odd = ["https://example.org/b", "https://example.org/a"]
    derived = entry_id(entry(odd))
    assert uuid.UUID(derived) and derived == entry_id(entry(list(reversed(odd))))
    assert derived != derive_id(["https://example.org/c"])


def test_platform_ids_from_urls():
    assert platform_id("https://www.myanimelist.net/anime/1/Cowboy_Bebop") == ("mal", "1")
    assert platform_id("https://kitsu.io/api/edge/anime/12330") == ("kitsu", "12330")
    assert platform_id("https://animenewsnetwork.com/encyclopedia/anime.php?id=11684") == ("animenewsnetwork", "11684")
    assert platform_id("https://myanimelist.net/manga/11776") is None
    assert platform_id("https://example.org/anime/1") is None
    assert list(source_ids(["https://kitsu.app/anime/1", "https://myanimelist.net/anime/1"])) == ["mal", "kitsu"]
    assert title_from_url("https://anilist.co/anime/101633") == "AniList anime 101633"


def test_point_ids_are_deterministic_uuids():
    assert point_id("mal-1") == point_id("mal-1")
    assert point_id("mal-1") != point_id("mal-2")
    assert uuid.UUID(point_id("mal-1")).version == 5
    with pytest.raises(ValueError):
        point_id("")


def test_content_hash_ignores_key_order_and_tracks_content():
    raw = {
        "id": "h-1",
        "title": "Hash Me",
        "sources": ["https://example.org/1"],
        "statistics": {"mal": {"score": 7.1, "members": 10}, "anilist": {"score": 70}},
        "external_links": {"a": "https://a.example", "b": "https://b.example"},
    }
    reordered = {k: raw[k] for k in reversed(list(raw))}
    reordered["statistics"] = {"anilist": {"score": 70}, "mal": {"members": 10, "score": 7.1}}
    reordered["external_links"] = {"b": "https://b.example", "a": "https://a.example"}
    one, two = AnimeEntry.model_validate(raw), AnimeEntry.model_validate(reordered)
    assert content_hash(one) == content_hash(two)
    assert len(content_hash(one)) == 64
    changed = one.model_copy(update={"synopsis": "now with a synopsis"})
    assert content_hash(changed) != content_hash(one)
    assert text_hash("a") == text_hash("a") != text_hash("b")
