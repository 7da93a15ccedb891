"""Reading the facts and wishes in what people type: "best 90s mecha", "Ghibli films", "comedy from 2005".

No language model: a fixed grammar of fact words (decades, years, seasons, types, source material,
quality and popularity wishes) plus the index's own vocabulary (genres, tags, studios), so it is fast,
deterministic and grows with the data. Facts become filters where the wording is unambiguous and
boosts where it is not; the rest of the query is searched as text. A short query (a wish list such as
"romcom from 2010") reads its genre and type words as filters; in a long description the same words
are only boosts, because "a special power" or "a drama club" describe a story, not a catalogue field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from index.payload import normalise_name
from index.search.intent_requests import read_request
from index.search.intent_words import (
    DESCRIPTION_WISHES,
    DESCRIPTIVE_TYPE_WORDS,
    FILLER,
    GENRE_HINTS,
    GENRE_WORDS,
    OLD_WORDS,
    RECENT_WORDS,
    SEASON_WORDS,
    SOFT_TYPE_WORDS,
    SOURCE_WORDS,
    STUDIO_CONTEXT,
    STUDIO_GENERIC,
    STUDIO_NICKNAMES,
    TEXT_EXPANSIONS,
    TYPE_WORDS,
    WISH_CONTEXT,
    WISH_CONTEXT_SPAN,
    WISH_WORDS,
    SortWish,
)

# A query of at most this many words is a wish list: its genre and type words are filters.
WISH_LIST_MAX_WORDS = 8
FIRST_ANIME_YEAR = 1917
# A genre or tag is read from words only when at least this many entries carry it: a value a handful of
# enriched entries use ("death", "band") would turn a word of an idea into a filter that hides the rest.
MIN_ENTRIES = 10


_WORD = re.compile(r"[\w'’.-]+", re.UNICODE)
_DECADE = re.compile(r"\b(?:(19|20)?(\d)0)['’]?s\b")
_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
_YEAR_RANGE = re.compile(r"\b(19\d\d|20\d\d)\s*(?:-|–|to|until|through)\s*(19\d\d|20\d\d)\b")
_SEASON_YEAR = re.compile(r"\b(winter|spring|summer|fall|autumn)\s+(?:of\s+)?(19\d\d|20\d\d)\b")
_SOURCE = re.compile(
    r"\b(?:based on (?:a |an |the )?|adapted from (?:a |an |the )?)(light novels?|web manga|"
    r"webtoon|visual novel|video game|manga|novels?|games?|ln)\b"
    r"|\b(light novel|manga|visual novel|video game|game|novel)\s+adaptations?\b"
)
_ORIGINAL = re.compile(r"\b(?:anime[- ]original|original (?:anime|story|series|work)s?)\b")
_EXPLICIT_YEAR = re.compile(r"\b(?:from|in|aired in|released in|of|during)\s+(19\d\d|20\d\d)\b")
# Words that make a time a catalogue fact even inside a description ("from the 90s", "aired in 2005"); without
# them a description's time is the story's ("set in 1945", "in 2071") and is not read.
_AIRED = re.compile(r"\b(?:from|aired|released|made|out|came out|broadcast|premiered)\s+(?:in\s+)?(?:the\s+)?$")


@dataclass
class Boost:
    """A soft preference added to the ranking: entries meeting ``condition`` gain ``weight`` x the fact weight."""

    label: str
    field: str
    values: list[Any]
    kind: Literal["match", "range"] = "match"


@dataclass
class QueryReading:
    """What the words asked for: filters, boosts and a sort wish, and the text left to search by meaning."""

    text: str
    filters: dict[str, Any] = field(default_factory=dict)
    boosts: list[Boost] = field(default_factory=list)
    sort: SortWish | None = None
    recency: Literal["recent", "old"] | None = None
    phrases: list[str] = field(default_factory=list)
    expansions: list[str] = field(default_factory=list)
    # The request's wrapper ("what's the movie where", "I remember a show about"), left out of the search, and a
    # title named as a reference ("something like X but Y"); ``core`` is the query without them.
    request: list[str] = field(default_factory=list)
    like: str | None = None
    core: str = ""

    @property
    def read_anything(self) -> bool:
        return bool(self.filters or self.boosts or self.sort or self.recency)

    def boost_labels(self) -> list[str]:
        return [b.label for b in self.boosts] + ([f"{self.recency} years"] if self.recency else [])

    def softened(self, query: str) -> QueryReading:
        """The same reading with its filters turned into boosts (used when the filters matched nothing)."""
        f = self.filters
        boosts = [
            Boost(f"{name} {', '.join(map(str, f[key]))}", name, list(f[key]))
            for key, name in (
                ("genres", "genres"),
                ("tags", "tags"),
                ("studios", "studios"),
                ("types", "type"),
                ("seasons", "season"),
                ("source_materials", "source_material"),
            )
            if f.get(key)
        ]
        if f.get("year_min") is not None or f.get("year_max") is not None:
            lo = f.get("year_min") or FIRST_ANIME_YEAR
            hi = f.get("year_max") or lo + 10
            boosts.append(Boost(f"years {lo}-{hi}", "year", list(range(lo, hi + 1))))
        return QueryReading(
            text=self.text or query,
            boosts=[*self.boosts, *boosts],
            sort=self.sort,
            recency=self.recency,
            phrases=self.phrases,
            expansions=self.expansions,
            request=self.request,
            like=self.like,
            core=self.core,
        )


@dataclass
class Vocabulary:
    """Names the index holds (lower-case), so that only values the data knows are read from words."""

    genres: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    studios: set[str] = field(default_factory=set)
    max_year: int = 2030

    @classmethod
    def from_facets(cls, facets: Mapping[str, Mapping[Any, int]]) -> Vocabulary:
        years = [int(y) for y in facets.get("year", {}) if str(y).isdigit()]

        def common(key: str, least: int) -> set[str]:
            return {str(v) for v, n in facets.get(key, {}).items() if n >= least}

        return cls(
            genres=common("genres", MIN_ENTRIES),
            tags=common("tags", MIN_ENTRIES),
            studios=common("studios", 2),
            max_year=max(years, default=2030),
        )

    @cached_property
    def studio_phrases(self) -> list[tuple[str, str]]:
        """(phrase, studio), longest phrase first: built once per vocabulary, not per query."""
        names = self.studio_names()
        return [(phrase, names[phrase]) for phrase in _longest_first(names)]

    @cached_property
    def genre_phrases(self) -> list[tuple[str, tuple[str, ...]]]:
        """(phrase, genres or tags it names), longest first: the data's own names and people's words for them."""
        candidates = {**{g: (g,) for g in self.genres | self.tags}, **GENRE_WORDS, **GENRE_HINTS}
        return [(phrase, candidates[phrase]) for phrase in _longest_first(candidates)]

    def studio_names(self) -> dict[str, str]:
        """Phrase -> studio: each full name, its name without generic words, and known nicknames."""
        names: dict[str, str] = {}
        for studio in self.studios:
            names[_phrase(studio)] = studio
            short = " ".join(STUDIO_GENERIC.sub(" ", _phrase(studio)).split())
            if len(short) >= 4 and short not in FILLER:
                names.setdefault(short, studio)
        for nick, studio in STUDIO_NICKNAMES.items():
            if studio in self.studios:
                names.setdefault(nick, studio)
        return names


def _phrase(text: str) -> str:
    """Lower-case words joined by single spaces, punctuation between words dropped ("J.C.Staff" -> "j c staff")."""
    return " ".join(re.sub(r"[^\w]+", " ", normalise_name(text)).split())


class _Words:
    """The query's words with the ones already read marked, so each word is read once."""

    def __init__(self, text: str):
        self.words = [_phrase(w) for w in _WORD.findall(text.replace("’", "'"))]
        self.words = [w for w in self.words if w]
        self.used = [False] * len(self.words)
        self.kept = [False] * len(self.words)
        self.present = set(self.words)

    def find(self, phrase: str) -> int:
        parts = phrase.split()
        if parts[0] not in self.present:  # most vocabulary phrases share no word with the query
            return -1
        n = len(parts)
        for i in range(len(self.words) - n + 1):
            if self.words[i : i + n] == parts and not any(self.used[i : i + n]):
                return i
        return -1

    def take(self, phrase: str, *, keep: bool = False) -> int:
        """Mark the phrase read; ``keep`` leaves it in the searched text (a boost's word describes the wish too)."""
        i = self.find(phrase)
        if i >= 0:
            for j in range(i, i + len(phrase.split())):
                self.used[j] = True
                self.kept[j] = keep
        return i

    def followed_by(self, i: int, n: int, context: frozenset[str], span: int) -> bool:
        """Whether one of ``context`` is among the ``span`` words after the phrase at ``i`` (``n`` words long)."""
        return any(w in context for w in self.words[i + n : i + n + span])

    def neighbours(self, i: int, n: int) -> set[str]:
        return {w for w in (self.words[i - 1] if i > 0 else "", self.words[i + n] if i + n < len(self.words) else "")}

    def rest(self) -> str:
        """The unread words in order, without filler at either end; empty when only filler is left."""
        left = [w for w, u, k in zip(self.words, self.used, self.kept, strict=True) if k or not u]
        while left and left[0] in FILLER:
            left.pop(0)
        while left and left[-1] in FILLER:
            left.pop()
        return " ".join(left)


def _longest_first(phrases: Mapping[str, Any]) -> list[str]:
    return sorted(phrases, key=lambda p: (-len(p.split()), -len(p)))


_SORTED_TYPE_WORDS = _longest_first(TYPE_WORDS)
_SORTED_WISH_WORDS = _longest_first(WISH_WORDS)


def read_query(query: str, vocab: Vocabulary, *, requests: bool = True) -> QueryReading:
    """Read the request's wrapper (unless ``requests`` is off: the words may be a title's), then the facts and
    wishes in what it wraps; what is left is the text to search by meaning."""
    request = read_request(query) if requests else None
    if request is not None and request.wrapper:
        query = request.core
    lowered = query.casefold()
    words = _Words(query)
    wish_list = len(words.words) <= WISH_LIST_MAX_WORDS
    reading = QueryReading(text=query, core=query)
    if request is not None and request.wrapper:
        reading.request, reading.like = request.wrapper, request.like
    filters = reading.filters

    def note(phrase: str) -> None:
        reading.phrases.append(phrase)

    # --- time: season + year, year ranges, decades, explicit years ------------------------------
    latest = vocab.max_year

    def aired(m: re.Match[str]) -> bool:
        """A time is a fact in a wish list, or after 'from', 'aired in'... in a description."""
        return wish_list or bool(_AIRED.search(lowered[max(0, m.start() - 24) : m.start()]))

    if (m := _SEASON_YEAR.search(lowered)) and aired(m):
        year = int(m.group(2))
        if FIRST_ANIME_YEAR <= year <= latest + 1:
            filters.update(seasons=[SEASON_WORDS[m.group(1)]], year_min=year, year_max=year)
            words.take(m.group(1)), words.take(m.group(2))
            note(m.group(0))
    if "year_min" not in filters and (m := _YEAR_RANGE.search(lowered)) and aired(m):
        lo, hi = sorted((int(m.group(1)), int(m.group(2))))
        if FIRST_ANIME_YEAR <= lo and hi <= latest + 1:
            filters.update(year_min=lo, year_max=hi)
            words.take(m.group(1)), words.take(m.group(2))
            note(m.group(0))
    if "year_min" not in filters and (m := _DECADE.search(lowered)) and aired(m):
        century = m.group(1) or ("20" if m.group(2) in "012" else "19")
        start = int(f"{century}{m.group(2)}0")
        if FIRST_ANIME_YEAR - 10 < start <= latest:
            filters.update(year_min=max(start, FIRST_ANIME_YEAR), year_max=start + 9)
            words.take(_phrase(m.group(0)))
            note(m.group(0))
    if "year_min" not in filters:
        m = _EXPLICIT_YEAR.search(lowered) or (_YEAR.search(lowered) if wish_list else None)
        if m and not wish_list:
            m = next((y for y in _YEAR.finditer(lowered) if aired(y)), None)
        if m:
            year = int(m.group(1))
            if FIRST_ANIME_YEAR <= year <= latest + 1:
                filters.update(year_min=year, year_max=year)
                words.take(m.group(1))
                note(m.group(0))

    def wished(phrase: str) -> bool:
        """Read (and take) a wish or recency phrase: anywhere in a wish list; in a description only where it
        speaks of the anime, not of the story (see WISH_CONTEXT)."""
        i = words.find(phrase)
        if i < 0:
            return False
        n = len(phrase.split())
        if not (wish_list or phrase in DESCRIPTION_WISHES or words.followed_by(i, n, WISH_CONTEXT, WISH_CONTEXT_SPAN)):
            return False
        words.take(phrase)
        note(phrase)
        return True

    for word in sorted(RECENT_WORDS | OLD_WORDS, key=lambda w: -len(w)):
        if wished(word):
            reading.recency = "recent" if word in RECENT_WORDS else "old"
            break

    # --- quality and popularity wishes --------------------------------------------------------------
    for phrase in _SORTED_WISH_WORDS:
        if wished(phrase):
            reading.sort = reading.sort or WISH_WORDS[phrase]

    # --- source material ---------------------------------------------------------------------------
    if m := _SOURCE.search(lowered):
        name = _phrase(m.group(1) or m.group(2))
        filters["source_materials"] = [SOURCE_WORDS[name]]
        for w in _phrase(m.group(0)).split():
            words.take(w)
        note(m.group(0))
    elif m := _ORIGINAL.search(lowered):
        filters["source_materials"] = ["ORIGINAL"]
        for w in _phrase(m.group(0)).split():
            words.take(w)
        note(m.group(0))

    # --- studios ---------------------------------------------------------------------------------------
    studios: list[str] = []
    for phrase, studio in vocab.studio_phrases:
        i = words.find(phrase)
        if i < 0:
            continue
        n = len(phrase.split())
        full = phrase == _phrase(studio) and (n > 1 or len(phrase) >= 7)
        if full or wish_list or words.neighbours(i, n) & STUDIO_CONTEXT:
            words.take(phrase)
            studios.append(studio)
            note(phrase)
    if studios:
        filters["studios"] = list(dict.fromkeys(studios))

    # --- types -------------------------------------------------------------------------------------------
    types: list[str] = []
    for phrase in _SORTED_TYPE_WORDS:
        if words.find(phrase) < 0:
            continue
        kind = TYPE_WORDS[phrase]
        if wish_list and phrase not in SOFT_TYPE_WORDS:
            words.take(phrase)
            types.append(kind)
        elif wish_list or phrase not in DESCRIPTIVE_TYPE_WORDS:
            words.take(phrase, keep=not wish_list)
            reading.boosts.append(Boost(f"type {kind}", "type", [kind]))
        else:
            continue
        note(phrase)
    if types:
        filters["types"] = list(dict.fromkeys(types))
    if request is not None and request.type_wish and request.type_wish not in types:
        # "movies about cooking" asks for films as "cooking movies" does; "the movie where ..." (a description)
        # only prefers them: people misremember a film as a series and back
        kind = request.type_wish
        if wish_list and (request.kind or "").split()[-1] not in SOFT_TYPE_WORDS:
            filters["types"] = [*filters.get("types", []), kind]
        elif not any(b.field == "type" and kind in b.values for b in reading.boosts):
            reading.boosts.append(Boost(f"type {kind}", "type", [kind]))

    # --- genres and tags -----------------------------------------------------------------------------
    genres: list[str] = []
    hinted: list[str] = []
    tags: list[str] = []
    for phrase, named in vocab.genre_phrases:
        if words.find(phrase) < 0:
            continue
        targets = [t for t in named if t in vocab.genres or t in vocab.tags]
        if not targets:
            continue
        # Genres named in a wish list filter it; hinted genres and tags (only enriched entries carry them) are
        # never more than boosts, and their words stay in the searched text.
        as_filter = wish_list and phrase not in GENRE_HINTS and all(t in vocab.genres for t in targets)
        words.take(phrase, keep=not as_filter)
        note(phrase)
        for t in targets:
            (genres if as_filter else hinted if t in vocab.genres else tags).append(t)
    if genres:
        filters.update(genres=list(dict.fromkeys(genres)), genres_mode="all")
    reading.boosts += [Boost(f"genre {g}", "genres", [g]) for g in dict.fromkeys(hinted) if g not in genres]
    reading.boosts += [Boost(f"tag {t}", "tags", [t]) for t in dict.fromkeys(tags)]

    # --- the rest is text --------------------------------------------------------------------------
    # A wish list is searched by what is left of it; a description keeps its own words (a boost's word
    # describes the story too), and falls back to them when nothing was read.
    text = words.rest() if wish_list and reading.read_anything else query
    extras = [extra for word, extra in TEXT_EXPANSIONS.items() if re.search(rf"\b{re.escape(word)}\b", text.casefold())]
    reading.expansions = [word for word in TEXT_EXPANSIONS if re.search(rf"\b{re.escape(word)}\b", text.casefold())]
    reading.text = " ".join([text, *extras]).strip()
    return reading


def merge_filters(read: Mapping[str, Any], explicit: Mapping[str, Any]) -> dict[str, Any]:
    """Filters read from words, overridden field by field by the caller's explicit filters."""
    merged = dict(read)
    if any(k in explicit for k in ("year_min", "year_max")):
        merged.pop("year_min", None), merged.pop("year_max", None)
    if "genres" in explicit:
        merged.pop("genres_mode", None)
    merged.update(explicit)
    return merged
