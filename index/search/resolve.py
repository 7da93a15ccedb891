"""Find the one anime a user means: by id, by exact title or synonym, then by fuzzy title."""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field

from qdrant_client import models
from rapidfuzz import fuzz, process

from index.errors import UserFacingError
from index.identity import point_id
from index.payload import normalise_title
from index.storage.base import VectorStore


class AnimeNotFoundError(UserFacingError, LookupError):
    """No entry matches the reference; the message lists the closest titles."""


@dataclass
class TitleMatches:
    """Point ids whose title or synonym equals the text, starts with its words, or is within typos of it."""

    exact: list[str] = field(default_factory=list)
    prefix: list[str] = field(default_factory=list)
    fuzzy: dict[str, float] = field(default_factory=dict)  # point id -> rapidfuzz ratio (0-100) of its title

    def ids(self) -> list[str]:
        return list(dict.fromkeys([*self.exact, *self.prefix, *self.fuzzy]))

    def at_least(self, ratio: float) -> TitleMatches:
        """The same matches with only the close spellings of at least ``ratio``."""
        fuzzy = {pid: r for pid, r in self.fuzzy.items() if r >= ratio}
        return TitleMatches(exact=self.exact, prefix=self.prefix, fuzzy=fuzzy)


# A single word inside the titles of at most this many entries counts as a title match.
RARE_TITLE_WORD = 8


class _TitleIndex:
    """Normalised titles sorted for prefix lookup (bisect), grouped for exact lookup, listed for fuzzy."""

    def __init__(self, titles: list[tuple[str, str]]):
        self.sorted = sorted(titles)
        self.keys = [t for t, _ in self.sorted]
        self.unique = list(dict.fromkeys(self.keys))
        self.padded = [f" {t} " for t in self.unique]  # word-boundary search without building strings per query
        self.ids_of: dict[str, list[str]] = {}
        for title, pid in self.sorted:
            self.ids_of.setdefault(title, []).append(pid)
        # word -> positions in `unique` of the titles holding it: a phrase is looked for only in the titles
        # holding its rarest word, not in every title (27,000 on the catalogue)
        self.with_word: dict[str, list[int]] = {}
        for i, title in enumerate(self.unique):
            for word in set(title.split()):
                self.with_word.setdefault(word, []).append(i)

    def containing(self, phrase: str, cap: int) -> list[str]:
        """Ids of titles with ``phrase`` inside them at word boundaries (not at the start)."""
        words = phrase.split()
        if not words:
            return []
        candidates = min((self.with_word.get(w, []) for w in words), key=len)
        needle = f" {phrase} "
        out: list[str] = []
        for i in candidates:
            title = self.unique[i]
            if needle in self.padded[i] and not title.startswith(phrase):
                out += self.ids_of[title]
                if len(out) >= cap:
                    break
        return out

    def with_prefix(self, prefix: str, cap: int) -> list[str]:
        start = bisect.bisect_left(self.keys, prefix)
        out: list[str] = []
        for title, pid in self.sorted[start:]:
            if not title.startswith(prefix) or len(out) >= cap:
                break
            out.append(pid)
        return out


class AnimeResolver:
    """Resolves ids and titles to stored points. Titles are cached for fuzzy matching."""

    def __init__(self, store: VectorStore, fuzzy_cutoff: float = 85.0, cache_seconds: float = 300.0):
        self._store = store
        self._cutoff = fuzzy_cutoff
        self._cache_seconds = cache_seconds
        self._titles: list[tuple[str, str]] | None = None  # (normalised title, point id)
        self._titles_at = 0.0
        self._index: _TitleIndex | None = None  # built from _titles whenever they are refreshed

    def invalidate(self) -> None:
        self._titles = None
        self._index = None

    async def title_matches(self, text: str, *, fuzzy_cutoff: float = 80.0, cap: int = 50) -> TitleMatches:
        """Entries a user may mean by ``text`` as a title: exact; word-prefix or inside a title ("initial d" ->
        "initial d first stage", "when they cry" -> "higurashi when they cry"); and, for short texts without an
        exact match, close spellings ("fullmetal alchemst", "naruro"). At most ``cap`` of each."""
        norm = normalise_title(text)
        if len(norm) < 2:
            return TitleMatches()
        index = await self._title_index()
        found = TitleMatches(exact=list(dict.fromkeys(index.ids_of.get(norm, [])))[:cap])
        seen = set(found.exact)
        partial = index.with_prefix(norm + " ", cap * 2)
        words = len(norm.split())
        if 2 <= words <= 6:
            partial += index.containing(norm, cap * 2)
        elif words == 1 and len(norm) >= 5:
            # one rare title word names a franchise ("evangelion"); a common one ("school") names nothing
            inside = set(index.containing(norm, 5 * RARE_TITLE_WORD))
            if len(inside) <= RARE_TITLE_WORD:
                partial += sorted(inside)
        found.prefix = [p for p in dict.fromkeys(partial) if p not in seen][:cap]
        seen.update(found.prefix)
        if not found.exact and len(norm) >= 5 and len(norm.split()) <= 6:
            close = process.extract(norm, index.unique, scorer=fuzz.ratio, score_cutoff=fuzzy_cutoff, limit=cap)
            for title, score, _ in close:
                for pid in index.ids_of[title]:
                    if pid not in seen:
                        found.fuzzy[pid] = max(found.fuzzy.get(pid, 0.0), score)
        return found

    async def resolve(self, ref: str, *, with_vectors: bool | list[str] = False) -> models.Record:
        ref = (ref or "").strip()
        if not ref:
            raise AnimeNotFoundError("Give an anime id (e.g. 'mal-1') or a title (e.g. 'Cowboy Bebop').")
        found = await self._store.retrieve([point_id(ref)], with_vectors=with_vectors)
        if found:
            return found[0]
        norm = normalise_title(ref)
        exact = models.Filter(must=[models.FieldCondition(key="titles_norm", match=models.MatchValue(value=norm))])
        records, _ = await self._store.scroll(scroll_filter=exact, limit=20, with_payload=["members", "anime_id"])
        if records:
            best = max(records, key=lambda r: (r.payload or {}).get("members") or 0)
            return await self._fetch(str(best.id), with_vectors)
        titles = await self._title_cache()
        match = process.extractOne(
            norm, [t for t, _ in titles], scorer=fuzz.token_sort_ratio, score_cutoff=self._cutoff
        )
        if match is not None:
            return await self._fetch(titles[match[2]][1], with_vectors)
        close = process.extract(norm, [t for t, _ in titles], scorer=fuzz.token_sort_ratio, limit=5)
        names = sorted({titles[i][0] for _, _, i in close})
        hint = f" Closest titles: {', '.join(names)}." if names else ""
        raise AnimeNotFoundError(f"No anime matches {ref!r}.{hint} Try search_anime to find its id.")

    async def titled_like(self, stems: set[str], cap: int = 500) -> set[str]:
        """Point ids with a title equal to one of ``stems`` or starting with its words (a franchise's entries)."""
        index = await self._title_index()
        out: set[str] = set()
        for stem in stems:
            out.update(index.ids_of.get(stem, []))
            out.update(index.with_prefix(stem + " ", cap))
        return out

    async def _fetch(self, pid: str, with_vectors: bool | list[str]) -> models.Record:
        found = await self._store.retrieve([pid], with_vectors=with_vectors)
        if not found:
            raise AnimeNotFoundError(f"Anime {pid} disappeared from the index while looking it up; try again.")
        return found[0]

    async def titles(self) -> list[tuple[str, str]]:
        """Every stored (normalised title or synonym, point id), from the cache fuzzy lookup uses;
        a new list object after each refresh. Completions match typed text against it."""
        return await self._title_cache()

    async def _title_cache(self) -> list[tuple[str, str]]:
        if self._titles is not None and time.monotonic() - self._titles_at < self._cache_seconds:
            return self._titles
        titles: list[tuple[str, str]] = []
        offset = None
        while True:
            records, offset = await self._store.scroll(limit=1000, offset=offset, with_payload=["titles_norm"])
            for r in records:
                for t in (r.payload or {}).get("titles_norm") or []:
                    titles.append((t, str(r.id)))
            if offset is None:
                break
        self._titles, self._titles_at = titles, time.monotonic()
        self._index = _TitleIndex(titles)
        return titles

    async def _title_index(self) -> _TitleIndex:
        await self._title_cache()
        assert self._index is not None  # set with every refresh of the title list
        return self._index
