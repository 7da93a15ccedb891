"""Completion values for half-typed input: anime titles and ids, and payload facet values (genres,
tags, studios, types, seasons, years).

Titles come from the resolver's cached list of normalised titles (every title, English and Japanese
title and synonym), matched in tiers: the title starts with the text, every typed word starts a word
of the title, the text occurs inside it (Japanese has no spaces), then close spellings (rapidfuzz).
Ids, popularity and each entry's own spellings are read once per refresh of that list.
"""

from __future__ import annotations

import bisect
import re
import time
from dataclasses import dataclass

from qdrant_client import models
from rapidfuzz import fuzz, process

from index.payload import normalise_title
from index.payload_fields import ENTRY_KEY
from index.search.engine import SearchEngine

#: Values in one completion answer (the protocol allows 100; a picker shows a screenful).
COMPLETION_LIMIT = 20

#: Lowest rapidfuzz ratio (0-100) between the typed text and a title's beginning of the same length
#: for a close spelling to be offered ("cowboy bebob" -> "cowboy bebop" is 92).
FUZZY_CUTOFF = 80.0

#: Close spellings are looked for only when fewer entries than this match literally.
FUZZY_WHEN_FEWER = 5

#: Occurrences of a typed word scanned per lookup (a one-letter word occurs everywhere).
LITERAL_SCAN_CAP = 2000

#: Seconds a facet's value list is reused before it is counted again (as the engine's vocabulary).
FACET_CACHE_SECONDS = 60.0

#: Tier of close spellings, after every literal match (starts with, word starts, contains; +1 off-script).
FUZZY_TIER = 4

_ID_LIKE = re.compile(r"^[a-z]+-\d+$")  # a typed id in a title field ("k-on" is a title)
_DISPLAY = [
    f"{ENTRY_KEY}.title",
    f"{ENTRY_KEY}.title_english",
    f"{ENTRY_KEY}.title_japanese",
    f"{ENTRY_KEY}.synonyms",
    "anime_id",
    "members",
]


@dataclass
class Suggestions:
    """Values for a picker, best first, plus how many matched in all."""

    values: list[str]
    total: int

    @property
    def has_more(self) -> bool:
        return self.total > len(self.values)


class _TitleList:
    """The resolver's (normalised title, point id) pairs, prepared once per cache refresh for lookups that
    stay in C: bisect over the sorted titles for "starts with", str.find over one joined text for words
    and substrings, rapidfuzz over equal-length prefixes for typos."""

    def __init__(self, pairs: list[tuple[str, str]], members: dict[str, int], mains: dict[str, str]):
        self.source = pairs
        self.members = members  # point id -> MyAnimeList members: the better-known entry first in a tier
        self.mains = mains  # point id -> normalised main title: shown when another spelling ties with it
        ordered = sorted(pairs)
        self.norms = [t for t, _ in ordered]
        self.ids = [pid for _, pid in ordered]
        self.blob = "\n" + "\n".join(self.norms) + "\n"
        self.offsets: list[int] = []  # where each title starts in blob
        at = 1
        for title in self.norms:
            self.offsets.append(at)
            at += len(title) + 1

    def _rank(self, pid: str, tier: int, title: str) -> tuple[int, bool, int]:
        return tier, title != self.mains.get(pid), len(title)

    def _title_at(self, offset: int) -> int:
        return bisect.bisect_right(self.offsets, offset) - 1

    def _occurrences(self, needle: str, cap: int) -> list[int]:
        """Indexes of the titles containing ``needle`` (with repeats), at most ``cap`` occurrences."""
        found: list[int] = []
        at = self.blob.find(needle)
        while at != -1 and len(found) < cap:
            found.append(self._title_at(at))
            at = self.blob.find(needle, at + 1)
        return found

    def ranked(self, norm: str, want: int) -> tuple[list[tuple[int, str, str]], int]:
        """(tier, normalised title, point id) of up to ``want`` entries, best first, and how many entries
        matched literally. Tiers: the title starts with the text (0), every typed word starts a word of it
        (1), it contains the text (2), Latin typing matching a non-Latin spelling (+1), a close spelling of
        the title's beginning (FUZZY_TIER, only when few literal matches)."""
        latin = norm.isascii()
        best: dict[str, tuple[int, str]] = {}

        def offer(i: int, tier: int) -> None:
            title = self.norms[i]
            if latin and not title.isascii():
                tier += 1
            pid = self.ids[i]
            if pid not in best or self._rank(pid, tier, title) < self._rank(pid, *best[pid]):
                best[pid] = (tier, title)

        i = bisect.bisect_left(self.norms, norm)
        while i < len(self.norms) and self.norms[i].startswith(norm):
            offer(i, 0)
            i += 1
        if len(best) < want:
            words = norm.split()
            anchor = max(words, key=len)
            starts = self._occurrences(" " + anchor, LITERAL_SCAN_CAP) + self._occurrences(
                "\n" + anchor, LITERAL_SCAN_CAP
            )
            for i in set(starts):
                spaced = " " + self.norms[i]
                if all(" " + w in spaced for w in words):
                    offer(i, 1)
            for i in set(self._occurrences(norm, LITERAL_SCAN_CAP)):
                offer(i, 2)
        total = len(best)
        if total < FUZZY_WHEN_FEWER and len(norm) >= 3:
            heads = [t[: len(norm)] for t in self.norms]
            for _, _score, i in process.extract(
                norm, heads, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=want * 2
            ):
                if self.ids[i] not in best:
                    best[self.ids[i]] = (FUZZY_TIER, self.norms[i])
                    total += 1
        literal = sorted(
            (kv for kv in best.items() if kv[1][0] < FUZZY_TIER),
            key=lambda kv: (kv[1][0], -self.members.get(kv[0], 0), len(kv[1][1])),
        )
        ordered = (literal + [kv for kv in best.items() if kv[1][0] == FUZZY_TIER])[:want]  # close ones by closeness
        return [(tier, title, pid) for pid, (tier, title) in ordered], total


@dataclass(frozen=True)
class _Entry:
    anime_id: str
    members: int
    titles: tuple[str, ...]  # the entry's own spellings: main, English, Japanese, synonyms


class Suggester:
    """Completion values from one index; caches what it derives (cheap to keep per engine)."""

    def __init__(self, engine: SearchEngine):
        self._engine = engine
        self._titles: _TitleList | None = None
        self._entries: dict[str, _Entry] = {}  # point id -> entry, rebuilt with the title list
        self._popular: list[_Entry] = []
        self._facets: dict[str, tuple[float, list[tuple[str, int]]]] = {}

    async def _title_list(self) -> _TitleList:
        """The resolver's cached titles and, once per refresh of that cache, ids, popularity and spellings."""
        pairs = await self._engine.resolver.titles()
        if self._titles is None or self._titles.source is not pairs:
            entries: dict[str, _Entry] = {}
            offset = None
            while True:
                records, offset = await self._engine.store.scroll(limit=1000, offset=offset, with_payload=_DISPLAY)
                for r in records:
                    payload = r.payload or {}
                    entry = payload.get(ENTRY_KEY) or {}
                    spellings = [
                        entry.get("title"),
                        entry.get("title_english"),
                        entry.get("title_japanese"),
                        *(entry.get("synonyms") or []),
                    ]
                    entries[str(r.id)] = _Entry(
                        anime_id=str(payload.get("anime_id") or ""),
                        members=int(payload.get("members") or 0),
                        titles=tuple(t for t in spellings if t),
                    )
                if offset is None:
                    break
            self._entries = entries
            self._popular = sorted(entries.values(), key=lambda e: (-e.members, e.anime_id))
            self._titles = _TitleList(
                pairs,
                {pid: e.members for pid, e in entries.items()},
                {pid: normalise_title(e.titles[0]) for pid, e in entries.items() if e.titles},
            )
        return self._titles

    async def titles(self, text: str, limit: int = COMPLETION_LIMIT) -> Suggestions:
        """Titles of the entries ``text`` may begin or misspell, in the entry's own spelling of the title that
        matched (English, Japanese...), most popular first; popular titles when nothing is typed yet; ids
        when the text looks like one ('mal-12')."""
        if _ID_LIKE.match(text.strip().lower()):
            return await self.ids(text, limit)
        return await self._match(text, limit, as_ids=False)

    async def ids(self, text: str, limit: int = COMPLETION_LIMIT) -> Suggestions:
        """Anime ids starting with ``text`` ('mal-1' -> 'mal-1', then 'mal-1535', 'mal-121'... by popularity),
        or the ids of the titles it matches."""
        typed = text.strip().lower()
        if typed:
            await self._title_list()
            found = [e.anime_id for e in self._popular if e.anime_id.startswith(typed)]
            found.sort(key=lambda anime_id: anime_id != typed)  # the id as typed first, then by popularity
            if found:
                return Suggestions(values=found[:limit], total=len(found))
        return await self._match(text, limit, as_ids=True)

    async def _match(self, text: str, limit: int, *, as_ids: bool) -> Suggestions:
        norm = normalise_title(text)
        titles = await self._title_list()
        if not norm:
            values = [e.anime_id if as_ids else e.titles[0] for e in self._popular[:limit] if e.titles]
            return Suggestions(values=values, total=len(self._popular))
        ranked, total = titles.ranked(norm, limit)
        found = [(self._entries.get(pid), title) for _, title, pid in ranked]
        values = list(
            dict.fromkeys(
                e.anime_id if as_ids else _spelling(e, title) for e, title in found if e is not None and e.titles
            )
        )
        return Suggestions(values=values[:limit], total=max(total, len(values)))

    async def facet(
        self, key: str, text: str, limit: int = COMPLETION_LIMIT, chosen: dict[str, str | int] | None = None
    ) -> Suggestions:
        """Stored values of a payload key (genres, tags, studios, type, season, year) matching ``text``:
        starts with it, a word starts with it, contains it, then close spellings; most used first.
        ``chosen`` (payload key -> stored value, e.g. {"season": "FALL", "year": 1998}) keeps to the values
        that occur with the arguments already picked, unless none do (a half-typed pick)."""
        values = await self._facet_values(key)
        if chosen:
            within = models.Filter(
                must=[
                    models.FieldCondition(key=k, match=models.MatchValue(value=v))
                    for k, v in chosen.items()
                    if k != key
                ]
            )
            narrowed = [(str(v), c) for v, c in await self._engine.store.facet(key, facet_filter=within, limit=100_000)]
            values = sorted(narrowed, key=lambda vc: -vc[1]) or values
        typed = " ".join(text.casefold().split())
        if not typed:
            return Suggestions(values=[v for v, _ in values[:limit]], total=len(values))
        tiers: list[tuple[int, int, str]] = []
        for value, count in values:
            low = value.casefold()
            if low.startswith(typed):
                tiers.append((0, -count, value))
            elif (" " + typed) in (" " + low) or ("-" + typed) in low:
                tiers.append((1, -count, value))
            elif typed in low:
                tiers.append((2, -count, value))
        found = {v for _, _, v in tiers}
        if len(tiers) < FUZZY_WHEN_FEWER and len(typed) >= 3:
            names = [v for v, _ in values if v not in found]
            close = process.extract(
                typed, [n.casefold() for n in names], scorer=fuzz.WRatio, score_cutoff=FUZZY_CUTOFF, limit=limit
            )
            tiers += [(3, -int(score), names[i]) for _, score, i in close]
        tiers.sort()
        return Suggestions(values=[v for _, _, v in tiers[:limit]], total=len(tiers))

    async def _facet_values(self, key: str) -> list[tuple[str, int]]:
        cached = self._facets.get(key)
        if cached is not None and time.monotonic() - cached[0] < FACET_CACHE_SECONDS:
            return cached[1]
        counted = [(str(v), c) for v, c in await self._engine.store.facet(key, limit=100_000)]
        counted.sort(key=lambda vc: -vc[1])
        self._facets[key] = (time.monotonic(), counted)
        return counted


def _spelling(entry: _Entry, norm: str) -> str:
    """The entry's own spelling of the normalised title that matched, else its main title."""
    return next((t for t in entry.titles if normalise_title(t) == norm), entry.titles[0])
