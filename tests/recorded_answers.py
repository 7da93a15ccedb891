"""The recorded Cowboy Bebop answers of the enrichment sources (../shared/fixtures/enrichment), loaded and
reshaped: each source's raw parser input, and what each endpoint of the loopback fake serves.

Derived data (not recorded, made from the fixtures so every endpoint answers): Jikan's episode
list/detail split of the flattened episodes, Jikan /staff built from AniList's staff edges, and the
AniDB XML rebuilt from the parsed JSON.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from tests.paths import ENRICHMENT_FIXTURES


def load_fixture(name: str) -> Any:
    """One recorded answer, parsed from its JSON file."""
    return json.loads((ENRICHMENT_FIXTURES / name).read_text(encoding="utf-8"))


def recorded_raws() -> dict[str, dict[str, Any]]:
    """Each source's raw input for its parser, straight from the recorded fixtures."""
    kitsu = load_fixture("kitsu_anime_1_with_episodes_categories.json")
    kitsu["characters"] = load_fixture("kitsu_anime_1_characters.json")
    return {
        "jikan": {
            "full": load_fixture("jikan_anime_1_full.json"),
            "characters": load_fixture("jikan_anime_1_characters.json"),
            "episodes": load_fixture("jikan_anime_1_episodes_detailed.json"),
        },
        "anilist": load_fixture("anilist_media_1.json"),
        "kitsu": kitsu,
        "anidb": load_fixture("anidb_anime_23_parsed.json"),
        "animeschedule": load_fixture("animeschedule_cowboy_bebop.json"),
        "animeplanet": load_fixture("animeplanet_cowboy_bebop_parsed.json"),
    }


class FixtureData:
    """The fixtures, reshaped once into what each endpoint serves."""

    def __init__(self) -> None:
        self.jikan_full = load_fixture("jikan_anime_1_full.json")
        self.jikan_characters = load_fixture("jikan_anime_1_characters.json")
        flat = load_fixture("jikan_anime_1_episodes_detailed.json")
        list_keys = ("url", "title", "title_japanese", "title_romanji", "aired", "score", "filler", "recap")
        detail_keys = (
            "url",
            "title",
            "title_japanese",
            "title_romanji",
            "duration",
            "aired",
            "filler",
            "recap",
            "synopsis",
        )
        self.jikan_episode_list = [
            {"mal_id": e["episode_number"], **{k: e.get(k) for k in list_keys}, "forum_url": None} for e in flat
        ]
        self.jikan_episode_details = {
            e["episode_number"]: {"mal_id": e["episode_number"], **{k: e.get(k) for k in detail_keys}} for e in flat
        }
        self.anilist = load_fixture("anilist_media_1.json")
        self.jikan_staff = jikan_staff(self.anilist["staff"]["edges"][:20])
        self.kitsu = load_fixture("kitsu_anime_1_with_episodes_categories.json")
        self.kitsu_characters = load_fixture("kitsu_anime_1_characters.json")["data"]
        self.anidb_xml = anidb_xml(load_fixture("anidb_anime_23_parsed.json"))
        self.animeschedule = load_fixture("animeschedule_cowboy_bebop.json")


def jikan_staff(edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Jikan /staff items ("Family, Given" names, positions) made from AniList staff edges."""
    people: dict[int, dict[str, Any]] = {}
    for edge in edges:
        node = edge["node"]
        full = node["name"]["full"]
        parts = full.rsplit(" ", 1)
        name = f"{parts[1]}, {parts[0]}" if len(parts) == 2 else full
        person = people.setdefault(
            node["id"],
            {
                "person": {
                    "mal_id": 90000 + node["id"] % 10000,
                    "name": name,
                    "url": "https://myanimelist.net/people/0",
                    "images": {"jpg": {"image_url": None}},
                },
                "positions": [],
            },
        )
        person["positions"].append(edge["role"].split(" (")[0])
    return list(people.values())


def anidb_xml(parsed: dict[str, Any]) -> str:
    """The AniDB HTTP API XML for the parsed-JSON fixture (its inverse of enrichment's parser)."""
    root = Element("anime", id=str(parsed["anidb_id"]), restricted="false")
    for tag in ("type", "episodecount", "startdate", "enddate"):
        SubElement(root, tag).text = str(parsed[tag])
    titles = SubElement(root, "titles")
    SubElement(titles, "title", {"xml:lang": "x-jat", "type": "main"}).text = parsed["titles"]["main"]
    for synonym in parsed["titles"].get("synonyms") or []:
        SubElement(titles, "title", {"xml:lang": "x-unk", "type": "synonym"}).text = synonym
    SubElement(titles, "title", {"xml:lang": "ja", "type": "official"}).text = "カウボーイビバップ"
    SubElement(titles, "title", {"xml:lang": "en", "type": "official"}).text = "Cowboy Bebop"
    SubElement(root, "url").text = parsed["url"]
    creators = SubElement(root, "creators")
    for c in parsed["creators"]:
        SubElement(creators, "name", id=c["id"], type=c["type"]).text = c["name"]
    SubElement(root, "description").text = parsed["description"]
    ratings = SubElement(root, "ratings")
    for kind, r in parsed["ratings"].items():
        SubElement(ratings, kind, count=str(r["count"])).text = str(r["value"])
    SubElement(root, "picture").text = parsed["picture"]
    tags = SubElement(root, "tags")
    for t in parsed["tags"]:
        tag = SubElement(tags, "tag", id=str(t["id"]), weight=str(t.get("weight", 0)))
        SubElement(tag, "name").text = t["name"]
        if t.get("description"):
            SubElement(tag, "description").text = t["description"]
    chars = SubElement(root, "characters")
    for c in parsed["characters"]:
        node = SubElement(chars, "character", id=c["id"], type=c["type"], update=c.get("update", ""))
        if c.get("rating") is not None:
            SubElement(node, "rating", votes=str(c.get("rating_votes", 0))).text = str(c["rating"])
        SubElement(node, "name").text = c["name"]
        if c.get("gender"):
            SubElement(node, "gender").text = c["gender"]
        SubElement(node, "charactertype", id=str(c.get("character_type_id", "1"))).text = c.get("character_type")
        if c.get("description"):
            SubElement(node, "description").text = c["description"]
        if c.get("picture"):
            SubElement(node, "picture").text = c["picture"]
        seiyuu = c.get("seiyuu")
        for s in [seiyuu] if isinstance(seiyuu, dict) else seiyuu or []:
            SubElement(node, "seiyuu", id=str(s.get("id", "")), picture=str(s.get("picture", ""))).text = s["name"]
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode")
