"""A franchise in the order it came out, each entry marked by what it is to a viewer.

The franchise is the one index.search.franchise finds for "similar" (relations where the data has them,
followed a few steps; else titles sharing a stem), so both tools agree on what belongs together. Each
entry gets a role a viewer cares about (main story, side story, recap, special, film, music video),
from the relation type where a relation names it and from the type, episode count and synopsis
otherwise; and a release date from the aired dates, else the season and year.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field
from qdrant_client import models

from index.payload_fields import ENTRY_KEY
from index.search.franchise import entry_stems, related_point_ids
from index.search.resolve import AnimeResolver
from index.storage.base import VectorStore

Role = Literal["main story", "side story", "recap", "special", "film", "music video"]
MAX_ENTRIES = 60
RELATION_STEPS = 3  # relations followed this many links from the anime asked about

_SIDE_RELATIONS = ("SIDE", "SPIN", "ALTERNATIVE", "CHARACTER", "OTHER")
_MAIN_RELATIONS = ("SEQUEL", "PREQUEL", "PARENT", "FULL STORY")
_RECAP_WORDS = re.compile(
    r"\brecap|\bsummary of|\bsummari[sz]es\b|reflection on|\bretell(?:s|ing of) the\b|\bcondensed\b|"
    r"\bdigest\b|compilation (?:movie|film|of the (?:tv|series|episodes))|\bsoushuuhen\b",
    re.IGNORECASE,
)
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_SEASON_MONTH = {"WINTER": 1, "SPRING": 4, "SUMMER": 7, "FALL": 10}
_TYPE_ORDER = {"TV": 0, "ONA": 1, "OVA": 2, "MOVIE": 3, "SPECIAL": 4, "MUSIC": 5}


class WatchEntry(BaseModel):
    position: int
    id: str
    title: str
    type: str
    released: str | None = Field(None, description="First air date: YYYY-MM-DD, YYYY-MM or YYYY.")
    episodes: int | None = None
    role: Role
    relation: str | None = Field(None, description="Relation to the anime asked about, where the data has it.")


class WatchOrder(BaseModel):
    anime_id: str
    title: str
    basis: str = Field(description="How the franchise was found: relations, titles, or both.")
    entries: list[WatchEntry]
    note: str | None = None


def release_date(entry: dict[str, Any]) -> tuple[tuple[int, int, int], str | None]:
    """A sort key and the date as text: aired_dates.from (ISO), else the start of aired_dates.string
    ("Apr 3, 1998 to ..."), else season and year; undated entries sort last."""
    aired = entry.get("aired_dates") or {}
    iso = str(aired.get("from") or "")
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", iso)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        return (y, mo, d), f"{y:04d}-{mo:02d}-{d:02d}"
    text = str(aired.get("string") or "").split(" to ")[0].strip()
    m = re.match(r"([A-Za-z]{3})[a-z]*\.?\s+(?:(\d{1,2}),\s*)?(\d{4})", text)
    if m and m.group(1).lower() in _MONTHS:
        mo, y = _MONTHS[m.group(1).lower()], int(m.group(3))
        if m.group(2):
            d = int(m.group(2))
            return (y, mo, d), f"{y:04d}-{mo:02d}-{d:02d}"
        return (y, mo, 0), f"{y:04d}-{mo:02d}"
    year = entry.get("year") or (int(text) if re.fullmatch(r"\d{4}", text) else None)
    if year:
        month = _SEASON_MONTH.get(str(entry.get("season") or "").upper(), 0)
        return (int(year), month, 0), (f"{int(year):04d}-{month:02d}" if month else f"{int(year):04d}")
    return (9999, 0, 0), None


def role_of(entry: dict[str, Any], relation: str | None) -> Role:
    """What the entry is to a viewer: the type decides films, music and specials; recaps by their relation
    or words; series by their relation, else by length (a short OVA/ONA run is a side story)."""
    kind = str(entry.get("type") or "").upper()
    rel = (relation or "").upper()
    text = f"{entry.get('title') or ''} {entry.get('synopsis') or ''}"
    if kind == "MUSIC" or rel == "MUSIC":
        return "music video"
    if rel == "SUMMARY" or (kind != "TV" and _RECAP_WORDS.search(text)):
        return "recap"
    if kind == "MOVIE":
        return "film"
    if kind in ("SPECIAL", "PV", "CM", "TV_SPECIAL"):
        return "special"
    if any(rel.startswith(s) for s in _SIDE_RELATIONS):
        return "side story"
    if any(rel.startswith(s) for s in _MAIN_RELATIONS) or kind == "TV":
        return "main story"
    return "main story" if (entry.get("episodes") or 0) >= 4 else "side story"


_NOT_ANIME = ("ADAPTATION", "SOURCE", "ORIGINAL WORK")
# What B is to A when A says what it is to B.
_INVERSE = {"SEQUEL": "PREQUEL", "PREQUEL": "SEQUEL", "PARENT STORY": "SIDE STORY", "SIDE STORY": "PARENT STORY"}


async def _relation_targets(resolver: AnimeResolver, entry: dict[str, Any]) -> dict[str, str]:
    """Point id -> relation type ("" when untyped) of the entries an entry's relations name: by page URL,
    else by exact title (enriched entries keep their own ids, so a relation's MyAnimeList URL does not
    always name their point). Relations to the source material are left out."""
    out: dict[str, str] = {}
    for rel in [*(entry.get("related_anime") or []), *(entry.get("relations") or [])][:40]:
        rel = rel or {}
        kind = str(rel.get("relation_type") or "").replace("_", " ").upper()
        if kind.startswith(_NOT_ANIME):
            continue
        targets = related_point_ids({"relations": [rel]})
        if rel.get("title"):
            targets.update((await resolver.title_matches(str(rel["title"]), cap=5)).exact)
        for pid in targets:
            if not out.get(pid):
                out[pid] = kind
    return out


def franchise_stems(entry: dict[str, Any]) -> set[str]:
    """The entry's title stems, less any that only starts another ("GHOST IN THE SHELL（攻殻機動隊）" gives
    "ghost", which would pull in every Ghost Stories; "ghost in the shell" says it)."""
    stems = entry_stems(entry)
    return {s for s in stems if not any(t.startswith(s + " ") for t in stems)}


async def _entries(store: VectorStore, ids: list[str]) -> list[models.Record]:
    if not ids:
        return []
    return await store.retrieve(ids, with_payload=[ENTRY_KEY])


async def watch_order(store: VectorStore, resolver: AnimeResolver, anime: str) -> WatchOrder:
    """The franchise of ``anime`` (resolved like every tool's anime) in release order, at most MAX_ENTRIES.

    Errors: AnimeNotFoundError from the resolver."""
    anchor = await resolver.resolve(anime)
    anchor_entry = (anchor.payload or {}).get(ENTRY_KEY) or {}
    anchor_id = str(anchor.id)
    found: dict[str, dict[str, Any]] = {anchor_id: anchor_entry}
    by_relation: set[str] = set()
    relation = await _relation_targets(resolver, anchor_entry)
    frontier = set(relation)
    for _ in range(RELATION_STEPS):
        new = sorted(frontier - set(found))[: MAX_ENTRIES * 2]
        frontier = set()
        for r in await _entries(store, new):
            entry = (r.payload or {}).get(ENTRY_KEY) or {}
            found[str(r.id)] = entry
            by_relation.add(str(r.id))
            frontier |= set(await _relation_targets(resolver, entry))
        if not frontier or len(found) > MAX_ENTRIES * 2:
            break
    by_title = await resolver.titled_like(franchise_stems(anchor_entry))
    for r in await _entries(store, sorted(by_title - set(found))):
        found[str(r.id)] = (r.payload or {}).get(ENTRY_KEY) or {}
    by_title -= {anchor_id}
    basis = "both" if by_relation and by_title - by_relation else "relations" if by_relation else "titles"

    relation = {pid: kind for pid, kind in relation.items() if kind}
    for pid, entry in found.items():  # the other direction: an entry saying what the anchor is to it
        if pid not in relation and pid != anchor_id:
            back = (await _relation_targets(resolver, entry)).get(anchor_id)
            if back:
                relation[pid] = _INVERSE.get(back, back)

    def key(item: tuple[str, dict[str, Any]]) -> tuple[Any, ...]:
        entry = item[1]
        kind = _TYPE_ORDER.get(str(entry.get("type") or "").upper(), 9)
        return (release_date(entry)[0], kind, str(entry.get("title") or ""))

    ordered = sorted(found.items(), key=key)
    notes = []
    if len(ordered) > MAX_ENTRIES:
        notes.append(f"{len(ordered)} entries; the first {MAX_ENTRIES} by release date are listed.")
        ordered = ordered[:MAX_ENTRIES]
    if basis == "titles" and len(ordered) > 1:
        notes.append("Grouped by title (the data has no relations): spin-offs with other titles are missing.")
    entries = [
        WatchEntry(
            position=i,
            id=str(entry.get("id") or pid),
            title=str(entry.get("title_english") or entry.get("title") or "?"),
            type=str(entry.get("type") or "UNKNOWN"),
            released=release_date(entry)[1],
            episodes=entry.get("episodes"),
            role=role_of(entry, relation.get(pid)),
            relation=relation.get(pid),
        )
        for i, (pid, entry) in enumerate(ordered, 1)
    ]
    return WatchOrder(
        anime_id=str(anchor_entry.get("id") or anchor_id),
        title=str(anchor_entry.get("title_english") or anchor_entry.get("title") or "?"),
        basis=basis,
        entries=entries,
        note=" ".join(notes) or None,
    )
