"""AniDB HTTP API (XML): titles, tags, ratings, creators, characters with seiyuu, episodes.

AniDB wants a registered client name and version on every request and bans
clients that ask more than about once every two seconds, so the limiter waits
``anidb_min_interval`` between requests and allows one in flight. The XML is
parsed with defusedxml (it comes from a third party) into the JSON shape of the
recorded fixture; ``parse`` reads that shape. An ``<error>`` document (unknown
anime, ban, bad client) is an error, never cached as an answer.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from enrichment.http import BadResponseError, Fetched, NotFoundError
from enrichment.ids import platform_url
from enrichment.sources._common import (
    STUDIO_ROLES,
    character_role,
    clean_anidb_text,
    date_part,
    drop_empty,
    group_staff,
    month_name,
    role_base,
    score10,
    season_of,
    to_float,
    to_int,
    year_of,
)
from enrichment.sources.base import FetchContext, SourceSpec

NAME = "anidb"
IMAGE_BASE = "https://cdn-eu.anidb.net/images/main/"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_TYPE = {
    "tv series": "TV",
    "movie": "MOVIE",
    "ova": "OVA",
    "web": "ONA",
    "tv special": "SPECIAL",
    "music video": "MUSIC",
    "other": None,
    "unknown": None,
}
_LANGUAGES = {"ja": "title_japanese", "en": "title_english"}
# Tags AniDB uses for its own bookkeeping, not to describe the anime.
_META_TAGS = {"maintenance tags", "to be moved to character", "to be moved to episode", "tbd", "unsorted"}


def _validate(fetched: Fetched) -> None:
    parse_anidb_xml(fetched.text)


async def fetch(ctx: FetchContext) -> dict[str, Any]:
    s = ctx.settings
    if not s.anidb_client_name:
        raise BadResponseError(
            NAME,
            "AniDB needs a registered client: set ANIME_MCP_ANIDB_CLIENT_NAME (and ANIME_MCP_ANIDB_CLIENT_VERSION)",
        )
    params = {
        "request": "anime",
        "client": s.anidb_client_name,
        "clientver": s.anidb_client_version,
        "protover": 1,
        "aid": ctx.ids["anidb"],
    }
    fetched = await ctx.get(s.anidb_base_url, params=params, validate=_validate)
    return parse_anidb_xml(fetched.text)


def parse_anidb_xml(text: str) -> dict[str, Any]:
    """The AniDB anime XML as the dict shape of the recorded fixture (plus ``episodes``)."""
    try:
        root = SafeET.fromstring(text)
    except Exception as exc:  # defusedxml raises ParseError and its own security errors
        raise BadResponseError(NAME, f"malformed XML: {exc}") from None
    if root.tag == "error":
        message = (root.text or "").strip() or "unknown error"
        if "not found" in message.lower():
            raise NotFoundError(NAME, message)
        raise BadResponseError(NAME, f"AniDB error: {message}")
    if root.tag != "anime":
        raise BadResponseError(NAME, f"unexpected XML root <{root.tag}>")

    def text_of(parent: Element | None, tag: str) -> str | None:
        node = parent.find(tag) if parent is not None else None
        return node.text.strip() if node is not None and node.text and node.text.strip() else None

    titles: dict[str, Any] = {"main": None, "official": {}, "synonyms": [], "short": []}
    for node in root.findall("titles/title"):
        value = (node.text or "").strip()
        kind = node.get("type")
        if not value:
            continue
        if kind == "main":
            titles["main"] = value
        elif kind == "official":
            titles["official"].setdefault(node.get(_XML_LANG) or "", value)
        elif kind == "short":
            titles["short"].append(value)
        else:
            titles["synonyms"].append(value)
    ratings = {}
    for node in root.findall("ratings/*"):
        ratings[node.tag] = {"value": to_float(node.text), "count": to_int(node.get("count"))}
    characters = []
    for node in root.findall("characters/character"):
        rating = node.find("rating")
        seiyuu = [
            {"name": (s.text or "").strip(), "id": s.get("id"), "picture": s.get("picture")}
            for s in node.findall("seiyuu")
            if (s.text or "").strip()
        ]
        ctype = node.find("charactertype")
        characters.append(
            drop_empty(
                {
                    "id": node.get("id"),
                    "type": node.get("type"),
                    "update": node.get("update"),
                    "name": text_of(node, "name"),
                    "gender": text_of(node, "gender"),
                    "character_type": ctype.text.strip() if ctype is not None and ctype.text else None,
                    "character_type_id": ctype.get("id") if ctype is not None else None,
                    "description": text_of(node, "description"),
                    "rating": to_float(rating.text) if rating is not None else None,
                    "rating_votes": to_int(rating.get("votes")) if rating is not None else None,
                    "picture": text_of(node, "picture"),
                    "seiyuu": seiyuu[0] if len(seiyuu) == 1 else seiyuu,
                }
            )
        )
    episodes = []
    for node in root.findall("episodes/episode"):
        epno = node.find("epno")
        rating = node.find("rating")
        episodes.append(
            drop_empty(
                {
                    "id": node.get("id"),
                    "epno": (epno.text or "").strip() if epno is not None else None,
                    "epno_type": epno.get("type") if epno is not None else None,
                    "length": to_int(text_of(node, "length")),
                    "airdate": text_of(node, "airdate"),
                    "rating": to_float(rating.text) if rating is not None else None,
                    "titles": {t.get(_XML_LANG) or "": (t.text or "").strip() for t in node.findall("title") if t.text},
                    "summary": text_of(node, "summary"),
                }
            )
        )
    return drop_empty(
        {
            "anidb_id": root.get("id"),
            "type": text_of(root, "type"),
            "episodecount": text_of(root, "episodecount"),
            "startdate": text_of(root, "startdate"),
            "enddate": text_of(root, "enddate"),
            "description": text_of(root, "description"),
            "url": text_of(root, "url"),
            "picture": text_of(root, "picture"),
            "titles": drop_empty(titles),
            "tags": [
                drop_empty(
                    {
                        "id": t.get("id"),
                        "name": text_of(t, "name"),
                        "weight": to_int(t.get("weight")),
                        "description": text_of(t, "description"),
                    }
                )
                for t in root.findall("tags/tag")
            ],
            "ratings": ratings,
            "creators": [
                {"id": n.get("id"), "name": (n.text or "").strip(), "type": n.get("type")}
                for n in root.findall("creators/name")
                if (n.text or "").strip()
            ],
            "characters": characters,
            "episodes": episodes,
        }
    )


# ----- parsing ----------------------------------------------------------------------------
def parse(raw: dict[str, Any]) -> dict[str, Any]:
    titles = raw.get("titles") or {}
    official = titles.get("official") or {}
    start, end = date_part(raw.get("startdate")), date_part(raw.get("enddate"))
    ratings = raw.get("ratings") or {}
    rating = ratings.get("permanent") or ratings.get("temporary") or {}
    creators = raw.get("creators") or []
    people = [c for c in creators if str(c.get("type") or "").lower() not in STUDIO_ROLES]
    studios = [
        {"name": c["name"], "type": "studio"}
        for c in creators
        if str(c.get("type") or "").lower() == "animation work" and c.get("name")
    ]
    extra_titles = [v for k, v in official.items() if k not in _LANGUAGES]
    anidb_id = raw.get("anidb_id")
    partial = {
        "title": titles.get("main"),
        **{field: official.get(lang) for lang, field in _LANGUAGES.items()},
        "synonyms": [*(titles.get("synonyms") or []), *(titles.get("short") or []), *extra_titles],
        "type": _TYPE.get(str(raw.get("type") or "").lower()),
        "episodes": to_int(raw.get("episodecount")) or None,
        "synopsis": clean_anidb_text(raw.get("description")),
        "aired_dates": drop_empty({"from": start, "to": end}),
        "year": year_of(start),
        "season": season_of(start),
        "month": month_name(start),
        "tags": [
            t["name"]
            for t in raw.get("tags") or []
            if t.get("name") and (t.get("weight") or 0) > 0 and t["name"].lower() not in _META_TAGS
        ],
        "images": {"covers": [IMAGE_BASE + raw["picture"]]} if raw.get("picture") else {},
        "external_links": {"official site": raw["url"]} if raw.get("url") else {},
        "statistics": {
            "anidb": drop_empty({"score": score10(rating.get("value"), 10), "scored_by": rating.get("count")})
        },
        "staff_data": drop_empty(
            {
                "studios": studios,
                "production_staff": group_staff(
                    [
                        drop_empty(
                            {
                                "name": c.get("name"),
                                "role": role_base(c.get("type")),
                                "staff_ids": {"anidb": c["id"]} if c.get("id") else {},
                            }
                        )
                        for c in people
                    ]
                ),
            }
        ),
        "characters": [c for c in (_character(x) for x in raw.get("characters") or []) if c],
        "episode_details": [e for e in (_episode(x) for x in raw.get("episodes") or []) if e],
        "sources": [platform_url("anidb", anidb_id)] if anidb_id else [],
    }
    return drop_empty(partial)


def _character(item: dict[str, Any]) -> dict[str, Any] | None:
    # AniDB also lists organisations, vessels and mecha as "characters": keep people.
    if item.get("character_type_id") not in (None, "1", 1) or not item.get("name"):
        return None
    seiyuu = item.get("seiyuu") or []
    if isinstance(seiyuu, dict):
        seiyuu = [seiyuu]
    return drop_empty(
        {
            "name": item["name"],
            "role": character_role(item.get("type")),
            "gender": str(item["gender"]).capitalize() if item.get("gender") else None,
            "description": clean_anidb_text(item.get("description")),
            "voice_actors": [{"name": s["name"], "language": "Japanese"} for s in seiyuu if s.get("name")],
            "images": [IMAGE_BASE + item["picture"]] if item.get("picture") else [],
            "character_ids": {"anidb": item["id"]} if item.get("id") else {},
            "character_pages": {"anidb": f"https://anidb.net/character/{item['id']}"} if item.get("id") else {},
        }
    )


def _episode(item: dict[str, Any]) -> dict[str, Any] | None:
    # epno type 1 is a regular episode; specials ("S1"), credits ("C1") and trailers are skipped.
    if str(item.get("epno_type") or "1") != "1":
        return None
    number = to_int(item.get("epno"))
    if number is None:
        return None
    titles = item.get("titles") or {}
    return drop_empty(
        {
            "episode_number": number,
            "title": titles.get("en"),
            "title_japanese": titles.get("ja"),
            "title_romaji": titles.get("x-jat"),
            "synopsis": clean_anidb_text(item.get("summary")),
            "aired": item.get("airdate"),
            "duration": item["length"] * 60 if item.get("length") else None,
            "episode_pages": {"anidb": f"https://anidb.net/episode/{item['id']}"} if item.get("id") else {},
        }
    )


SPEC = SourceSpec(name=NAME, needs=("anidb",), fetch=fetch, parse=parse)
