"""Every stored title and synonym, normalised and indexed for the ways people type a title: the whole title, its
first words, a phrase inside it, a close spelling of it or of one of its words, a run of Japanese script inside it.

Search ranks the entries it finds first (text_search.py, ranking.py); the resolver (resolve.py) picks one of them.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

# A single word inside the titles of at most this many entries counts as a title match in a search.
RARE_TITLE_WORD = 8
# Japanese scripts (kana, kanji): such titles have no spaces between words, so a name is a run inside the title.
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")


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


def has_japanese(text: str) -> bool:
    return bool(_JAPANESE.search(text))


class TitleIndex:
    """Normalised titles sorted for prefix lookup (bisect), grouped for exact lookup, listed for fuzzy."""

    def __init__(self, titles: list[tuple[str, str]]):
        self.sorted = sorted(titles)
        self.keys = [t for t, _ in self.sorted]
        self.unique = list(dict.fromkeys(self.keys))
        self.padded = [f" {t} " for t in self.unique]  # word-boundary search without building strings per query
        self.ids_of: dict[str, list[str]] = {}
        self.titles_of: dict[str, list[str]] = {}
        for title, pid in self.sorted:
            self.ids_of.setdefault(title, []).append(pid)
            self.titles_of.setdefault(pid, []).append(title)
        # word -> positions in `unique` of the titles holding it: a phrase is looked for only in the titles
        # holding its rarest word, not in every title (27,000 on the catalogue)
        self.with_word: dict[str, list[int]] = {}
        for i, title in enumerate(self.unique):
            for word in set(title.split()):
                self.with_word.setdefault(word, []).append(i)
        self.by_length = sorted(range(len(self.unique)), key=lambda i: len(self.unique[i]))  # for close_titles
        self.lengths = [len(self.unique[i]) for i in self.by_length]
        self.words = [w for w in self.with_word if len(w) >= 4]  # the vocabulary a misspelt word is matched against
        self.japanese = [i for i, title in enumerate(self.unique) if has_japanese(title)]

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
        out: list[str] = []
        # walked in place: a slice of the sorted list would copy the rest of it (27,000 titles) on every call
        for i in range(bisect.bisect_left(self.keys, prefix), len(self.keys)):
            if not self.keys[i].startswith(prefix) or len(out) >= cap:
                break
            out.append(self.sorted[i][1])
        return out

    def japanese_run(self, text: str, cap: int) -> list[str]:
        """Ids of Japanese titles holding ``text`` anywhere ("トトロ" in "となりのトトロ"), not equal to it."""
        out: list[str] = []
        for i in self.japanese:
            title = self.unique[i]
            if text in title and title != text:
                out += self.ids_of[title]
                if len(out) >= cap:
                    break
        return out

    def close_words(self, word: str, cutoff: float) -> list[str]:
        """Title words within typos of ``word`` ("evangelon" -> "evangelion", "freiren" -> "frieren"); a swap of
        two letters counts as one typo."""
        found = process.extract(word, self.words, scorer=OSA.normalized_similarity, score_cutoff=cutoff / 100, limit=5)
        return [w for w, _, _ in found if w != word]

    def close_titles(self, text: str, cutoff: float, cap: int) -> list[tuple[str, float]]:
        """Titles within ``cutoff`` (rapidfuzz ratio) of the text. Only titles of a length that can reach it are
        compared: the ratio is at most 2 x shorter / (both lengths), so a 15-character text is compared with
        titles of 10 to 22 characters at 80, not with all 27,000."""
        c = max(cutoff, 1.0) / 100
        lo = bisect.bisect_left(self.lengths, math.ceil(len(text) * c / (2 - c) - 1e-9))
        hi = bisect.bisect_right(self.lengths, math.floor(len(text) * (2 - c) / c + 1e-9))
        window = [self.unique[i] for i in sorted(self.by_length[lo:hi])]  # in title order: ties rank as before
        return [(t, s) for t, s, _ in process.extract(text, window, scorer=fuzz.ratio, score_cutoff=cutoff, limit=cap)]
