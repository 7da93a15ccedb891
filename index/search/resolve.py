"""Find the one anime a user means, the same way everywhere that takes an anime (get_anime, find_similar_anime,
recommend_anime, prompt arguments, anime://{id}).

An id first. Then the titles search_anime ranks first for the words (title_matches: every title and synonym, a
phrase inside a title, word prefixes, close spellings, Japanese script), ordered by search_anime's own ranking
formula over just those entries: the title group's constant times the popularity, quality and main-entry priors,
and the head of a franchise (the entry whose title starts the others') before its seasons, films and specials.
"Evangelion" is the 1995 series, not The End of Evangelion. Without any title match, search_anime's best hits
are offered, never silently taken: the error lists them with their ids.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from qdrant_client import models
from rapidfuzz import fuzz, process

from index.errors import UserFacingError
from index.identity import point_id
from index.payload import normalise_title
from index.payload_fields import ENTRY_KEY
from index.search.ranking import prior_factor, ranking_formula
from index.search.results import ResolvedName
from index.search.title_index import RARE_TITLE_WORD, TitleIndex, TitleMatches, has_japanese
from index.search.tuning import SearchSettings
from index.storage.base import VectorStore

__all__ = ["RARE_TITLE_WORD", "AnimeNotFoundError", "AnimeResolver", "Lookup", "TitleMatches"]


class AnimeNotFoundError(UserFacingError, LookupError):
    """No entry matches the reference; the message lists search_anime's best candidates with their ids."""


# A lookup takes one word inside up to this many titles as a franchise name ("kenshin": a dozen Rurouni Kenshin
# entries), where a search keeps to RARE_TITLE_WORD: a lookup then picks one entry by the priors and names others.
LOOKUP_RARE_WORD = 40
# A word as short as this may name a title from inside it ("lain", "ippo") in a lookup; a search asks for 5.
LOOKUP_MIN_WORD = 3
# A whole title typed within typos is looked for up to this many words ("nausicaa of the valley of the wind").
LOOKUP_FUZZY_WORDS = 12
# Close alternatives named beside the chosen entry.
ALSO_MAX = 3
# What a candidate's line needs; the chosen entry is then read in full.
_CANDIDATE_PAYLOAD = ["anime_id", "title", "type", "year", "titles_norm"]
# Hepburn long vowels as typed with macrons ("Kōkaku Kidōtai") and as stored ("Koukaku Kidoutai").
_MACRONS = str.maketrans({"ā": "aa", "ē": "ee", "ī": "ii", "ō": "ou", "ū": "uu", "â": "aa", "ô": "ou", "û": "uu"})

Search = Callable[[str], Awaitable[list[dict[str, Any]]]]


@dataclass
class Lookup:
    """The entry a name was read as (its record, with the vectors asked for) and the close ones it was not."""

    query: str
    record: models.Record
    how: str  # "id", "title" (a title matches the words), "close title" (within typos)
    also: list[dict[str, Any]] = field(default_factory=list)  # candidate payloads, best first

    @property
    def title(self) -> str:
        payload = self.record.payload or {}
        return str(payload.get("title") or (payload.get(ENTRY_KEY) or {}).get("title") or self.query)

    @property
    def anime_id(self) -> str:
        payload = self.record.payload or {}
        return str(payload.get("anime_id") or (payload.get(ENTRY_KEY) or {}).get("id") or self.record.id)

    def named(self) -> ResolvedName:
        return ResolvedName(query=self.query, id=self.anime_id, title=self.title, also=[label(p) for p in self.also])

    def line(self) -> str:
        """How the name was read, in one line (empty for an id given as is); see resolved_line."""
        return "" if self.how == "id" else resolved_line(self.named())


def resolved_line(named: ResolvedName) -> str:
    """'"Evangelion" read as Neon Genesis Evangelion [mal-30]; also: The End of Evangelion (Movie 1997) [mal-32]'
    (empty when the name was the id itself)."""
    if named.query == named.id:
        return ""
    text = f"{named.query!r} read as {named.title} [{named.id}]"
    return text + (f"; also: {', '.join(named.also)}" if named.also else "")


def label(payload: dict[str, Any]) -> str:
    """'Neon Genesis Evangelion: The End of Evangelion (Movie 1997) [mal-32]'."""
    kind = str(payload.get("type") or "").replace("UNKNOWN", "")
    facts = " ".join(
        str(x) for x in (kind.title() if kind not in ("TV", "OVA", "ONA") else kind, payload.get("year")) if x
    )
    return f"{payload.get('title', '?')}{f' ({facts})' if facts else ''} [{payload.get('anime_id', '?')}]"


def spelling_variants(text: str) -> list[str]:
    """The text with long vowels written out and with accents dropped ("Kōkaku" -> "Koukaku", "Kokaku")."""
    out = [text.translate(_MACRONS)]
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    out.append(folded)
    return [v for v in dict.fromkeys(out) if v != text]


def _heads_franchise(index: TitleIndex, pid: str, candidates: set[str]) -> bool:
    """Whether ``pid`` heads a franchise among the candidates: one of its titles starts another candidate's title
    ("shingeki no kyojin" before "... season 3" and "... movie 1") and no candidate's title starts its own ("...
    the final season" heads its "part 2" but is itself a part of "shingeki no kyojin")."""
    own = index.titles_of.get(pid, [])
    heads = any(other != pid and other in candidates for title in own for other in index.with_prefix(title + " ", 50))
    if not heads:
        return False
    for title in own:
        words = title.split()
        for n in range(1, len(words)):
            if any(other != pid and other in candidates for other in index.ids_of.get(" ".join(words[:n]), ())):
                return False
    return True


class AnimeResolver:
    """Resolves ids and titles to stored points. Titles are cached for prefix and fuzzy matching."""

    def __init__(self, store: VectorStore, settings: SearchSettings | None = None, cache_seconds: float = 300.0):
        self._store = store
        self._settings = settings or SearchSettings()
        self._cache_seconds = cache_seconds
        self._titles: list[tuple[str, str]] | None = None  # (normalised title, point id)
        self._titles_at = 0.0
        self._index: TitleIndex | None = None  # built from _titles whenever they are refreshed
        self.search: Search | None = None  # search_anime's best hits for words no title matches (set by the engine)

    def invalidate(self) -> None:
        self._titles = None
        self._index = None

    async def title_matches(
        self,
        text: str,
        *,
        fuzzy_cutoff: float = 80.0,
        cap: int = 50,
        rare_word: int = RARE_TITLE_WORD,
        min_word: int = 5,
        fuzzy_words: int = 6,
    ) -> TitleMatches:
        """Entries a user may mean by ``text`` as a title: exact; word-prefix or inside a title ("initial d" ->
        "initial d first stage", "when they cry" -> "higurashi when they cry"; one word of at least ``min_word``
        characters only when at most ``rare_word`` titles hold it); and, for short texts without an exact match,
        close spellings of texts up to ``fuzzy_words`` words ("fullmetal alchemst", "naruro"). At most ``cap`` of
        each."""
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
        elif words == 1 and len(norm) >= min_word:
            # one rare title word names a franchise ("evangelion"); a common one ("school") names nothing
            inside = set(index.containing(norm, 5 * rare_word))
            if len(inside) <= rare_word:
                partial += sorted(inside)
        found.prefix = [p for p in dict.fromkeys(partial) if p not in seen][:cap]
        seen.update(found.prefix)
        if not found.exact and len(norm) >= 5 and len(norm.split()) <= fuzzy_words:
            for title, score in index.close_titles(norm, fuzzy_cutoff, cap):
                for pid in index.ids_of[title]:
                    if pid not in seen:
                        found.fuzzy[pid] = max(found.fuzzy.get(pid, 0.0), score)
        return found

    async def name_matches(self, text: str) -> TitleMatches:
        """title_matches widened for naming one anime: shorter and more common single words, long vowels typed
        with macrons, a run of Japanese script inside a title, and misspelt words of a title ("evangelon")."""
        cutoff = self._settings.fuzzy_title_cutoff  # a close spelling of a name in a lookup

        async def wide(words: str) -> TitleMatches:
            return await self.title_matches(
                words,
                fuzzy_cutoff=cutoff,
                rare_word=LOOKUP_RARE_WORD,
                min_word=LOOKUP_MIN_WORD,
                fuzzy_words=LOOKUP_FUZZY_WORDS,
            )

        found = await wide(text)
        for variant in spelling_variants(text):
            if found.exact or found.prefix:
                break
            more = await wide(variant)
            if more.ids():
                found = more
        if found.exact or found.prefix:
            return found
        index = await self._title_index()
        norm = normalise_title(text)
        if has_japanese(norm) and " " not in norm and len(norm) >= 2:
            found.prefix = index.japanese_run(norm, 50)
            if found.prefix:
                return found
        words = norm.split()
        if 1 <= len(words) <= 4 and not found.fuzzy:
            # each word no title holds, replaced by the closest title word: the title words are then found as typed
            fixed = [
                w if w in index.with_word or len(w) < 4 else next(iter(index.close_words(w, cutoff)), w) for w in words
            ]
            if fixed != words:
                close = await wide(" ".join(fixed))
                closeness = fuzz.ratio(norm, " ".join(fixed))
                found.fuzzy = {pid: closeness for pid in close.ids()}
        return found

    async def lookup(self, ref: str, *, with_vectors: bool | list[str] = False) -> Lookup:
        """The entry ``ref`` names (an id, else the best title match) with the close alternatives not chosen.
        AnimeNotFoundError when nothing is titled so; it lists search_anime's best candidates with their ids."""
        ref = (ref or "").strip()
        if not ref:
            raise AnimeNotFoundError("Give an anime id (e.g. 'mal-1') or a title (e.g. 'Cowboy Bebop').")
        found = await self._store.retrieve([point_id(ref)], with_vectors=with_vectors)
        if found:
            return Lookup(ref, found[0], "id")
        matches = await self.name_matches(ref)
        if matches.ids():
            ranked = await self._ranked(matches)
            if ranked:
                best = ranked[0]
                how = "close title" if str(best.id) in matches.fuzzy else "title"
                record = await self._fetch(str(best.id), with_vectors)
                others = [r.payload or {} for r in ranked[1 : 1 + ALSO_MAX]]
                return Lookup(ref, record, how, others)
        raise AnimeNotFoundError(await self._not_found(ref))

    async def resolve(self, ref: str, *, with_vectors: bool | list[str] = False) -> models.Record:
        """The record of the entry ``ref`` names (see lookup)."""
        return (await self.lookup(ref, with_vectors=with_vectors)).record

    async def _ranked(self, matches: TitleMatches) -> list[models.ScoredPoint]:
        """The matched entries in search_anime's order for a short query: its ranking formula (title group
        constant, or the floor of a close spelling, times the priors), plus the franchise head's prior, evaluated
        by the store over these entries alone (no vectors: the word-match noise a title match replaces)."""
        settings = self._settings
        ids = matches.ids()
        index = await self._title_index()
        heads = [pid for pid in ids if _heads_franchise(index, pid, set(ids))]
        priors = prior_factor(settings, short_query=True)
        if heads and settings.main_entry_prior:
            weight = settings.main_entry_prior * settings.short_query_prior_scale
            priors.append(models.MultExpression(mult=[weight, models.HasIdCondition(has_id=heads)]))
        formula = ranking_formula(settings, priors=priors, titles=matches)
        only = models.Filter(must=[models.HasIdCondition(has_id=ids)])
        # the candidates with a score of 0, so "$score" adds nothing: every title group's constant and every close
        # spelling's floor stand as search_anime sets them (an ordered scroll alone scores each point 1.0)
        scroll = models.OrderByQuery(order_by=models.OrderBy(key="popularity", direction=models.Direction.DESC))
        stage = models.Prefetch(
            prefetch=[models.Prefetch(query=scroll, filter=only, limit=len(ids))],
            query=models.FormulaQuery(formula=models.SumExpression(sum=[0.0])),
            limit=len(ids),
        )
        request = models.QueryRequest(
            prefetch=[stage], query=formula, filter=only, limit=len(ids), with_payload=_CANDIDATE_PAYLOAD
        )
        points = await self._store.query(request)
        # equal scores (two entries with one title and no audience figures) in one order every time: by id
        return sorted(points, key=lambda p: (-round(p.score, 9), str((p.payload or {}).get("anime_id", p.id))))

    async def _not_found(self, ref: str) -> str:
        """The error for a name nothing is titled: search_anime's best hits with ids, else the closest titles."""
        hits = await self.search(ref) if self.search is not None else []
        if hits:
            names = "; ".join(label(h) for h in hits[:5])
            return f"No anime matches {ref!r} by title. search_anime's best matches: {names}. Pass one of these ids."
        index = await self._title_index()
        close = process.extract(normalise_title(ref), index.unique, scorer=fuzz.token_sort_ratio, limit=5)
        names = ", ".join(sorted({t for t, _, _ in close}))
        hint = f" Closest titles: {names}." if names else ""
        return f"No anime matches {ref!r}.{hint} Try search_anime to find its id."

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
        self._index = TitleIndex(titles)
        return titles

    async def _title_index(self) -> TitleIndex:
        await self._title_cache()
        assert self._index is not None  # set with every refresh of the title list
        return self._index
