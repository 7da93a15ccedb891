"""The words people use for catalogue facts: genres, types, sources, seasons, order wishes, filler.

Data for index/search/intent.py, kept apart so the grammar reads as code and the vocabulary as lists.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from index.storage.lexical import CJK_RUN

SortWish = Literal["score", "popularity", "hidden_gems"]

# People's words for genres and tags, mapped to the names the data uses. Only targets present in the
# index's vocabulary are used; a word whose target is absent stays in the text (e.g. "mecha" where the
# data has no such genre or tag), with its expansion below helping the text search.
GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "romcom": ("romance", "comedy"),
    "rom com": ("romance", "comedy"),
    "romantic comedy": ("romance", "comedy"),
    "romantic": ("romance",),
    "comedies": ("comedy",),
    "sci fi": ("sci-fi",),
    "scifi": ("sci-fi",),
    "science fiction": ("sci-fi",),
    "slice of life": ("slice of life",),
    "sol": ("slice of life",),
    "iyashikei": ("slice of life",),
    "mysteries": ("mystery",),
    "thriller": ("suspense",),
    "thrillers": ("suspense",),
    "sport": ("sports",),
    "magical girl": ("mahou shoujo",),
    "yaoi": ("boys love",),
    "bl": ("boys love",),
    "yuri": ("girls love",),
    "shoujo ai": ("girls love",),
    "cooking": ("gourmet",),
    "supernatural": ("supernatural",),
    "award winning": ("award winning",),
    "award winners": ("award winning",),
}
# Words that suggest a genre without naming it ("a detective and his rival" need not be a Mystery): only ever
# boosts, never filters.
GENRE_HINTS: dict[str, tuple[str, ...]] = {
    "detective": ("mystery",),
    "detectives": ("mystery",),
    "funny": ("comedy",),
    "hilarious": ("comedy",),
    "scary": ("horror",),
    "creepy": ("horror",),
    "food": ("gourmet",),
    "robots": ("mecha",),
}
# Words whose meaning the text search only finds with help (the data rarely names them).
TEXT_EXPANSIONS: dict[str, str] = {
    "mecha": "giant robots robot pilots mobile suit",
    "isekai": "transported reincarnated into another world",
    "idol": "singers pop idols",
    "harem": "many girls fall for one boy",
    "battle royale": "fight to the death survival game",
    "cyberpunk": "cyborgs hackers dystopian future city",
    "post apocalyptic": "ruined world after the end of civilisation",
    "time travel": "travels back in time",
}
TYPE_WORDS: dict[str, str] = {
    "movie": "MOVIE",
    "movies": "MOVIE",
    "film": "MOVIE",
    "films": "MOVIE",
    "ova": "OVA",
    "ovas": "OVA",
    "oav": "OVA",
    "oavs": "OVA",
    "ona": "ONA",
    "onas": "ONA",
    "web series": "ONA",
    "special": "SPECIAL",
    "specials": "SPECIAL",
    "tv series": "TV",
    "tv show": "TV",
    "tv shows": "TV",
    "series": "TV",
    "show": "TV",
    "shows": "TV",
    "tv": "TV",
}
# Types only ever boosted, never filtered: "show" and "series" are everyday words for any anime.
SOFT_TYPE_WORDS = frozenset({"show", "shows"})
# Type words that in a long description usually describe the story ("a special power", "the show must go on").
DESCRIPTIVE_TYPE_WORDS = frozenset({"special", "show", "shows", "series", "tv"})
SOURCE_WORDS: dict[str, str] = {
    "light novel": "LIGHT NOVEL",
    "light novels": "LIGHT NOVEL",
    "ln": "LIGHT NOVEL",
    "manga": "MANGA",
    "web manga": "WEB MANGA",
    "webtoon": "WEB MANGA",
    "visual novel": "VISUAL NOVEL",
    "novel": "NOVEL",
    "novels": "NOVEL",
    "video game": "GAME",
    "game": "GAME",
    "games": "GAME",
}
SEASON_WORDS = {"winter": "WINTER", "spring": "SPRING", "summer": "SUMMER", "fall": "FALL", "autumn": "FALL"}
WISH_WORDS: dict[str, SortWish] = {
    "best": "score",
    "top": "score",
    "top rated": "score",
    "top-rated": "score",
    "highest rated": "score",
    "highly rated": "score",
    "best rated": "score",
    "greatest": "score",
    "masterpiece": "score",
    "masterpieces": "score",
    "must watch": "score",
    "must-watch": "score",
    "acclaimed": "score",
    "critically acclaimed": "score",
    "good": "score",
    "great": "score",
    "most popular": "popularity",
    "popular": "popularity",
    "famous": "popularity",
    "well known": "popularity",
    "mainstream": "popularity",
    "most watched": "popularity",
    "iconic": "popularity",
    "hidden gem": "hidden_gems",
    "hidden gems": "hidden_gems",
    "underrated": "hidden_gems",
    "lesser known": "hidden_gems",
    "lesser-known": "hidden_gems",
    "obscure": "hidden_gems",
    "underappreciated": "hidden_gems",
    "overlooked": "hidden_gems",
}
# In a description (more than a wish list's words) a story uses these words too: "his best friend", "a new
# student", "her old buddies grow old". There a wish or recency word counts only when one of WISH_CONTEXT follows
# within WISH_CONTEXT_SPAN words ("the best mecha anime", "an old school show"); the phrases in DESCRIPTION_WISHES
# say nothing about a story and count anywhere.
WISH_CONTEXT = frozenset(
    {"anime", "animes", "show", "shows", "series", "movie", "movies", "film", "films", "ova", "ovas", "title", "titles"}
    | {"cartoon", "cartoons", "one", "ones", "watch", "pick", "picks"}
)
WISH_CONTEXT_SPAN = 3
DESCRIPTION_WISHES = frozenset(
    {"top rated", "top-rated", "highest rated", "highly rated", "best rated", "most popular", "most watched"}
    | {"hidden gem", "hidden gems", "must watch", "must-watch", "critically acclaimed", "underrated"}
    | {"underappreciated"}
)
RECENT_WORDS = frozenset({"recent", "new", "newest", "latest", "modern", "current"})
OLD_WORDS = frozenset({"old", "older", "classic", "classics", "retro", "old school", "oldschool", "vintage"})
# Words that carry no search meaning once the facts are read ("anime" in "comedy anime from 2005").
FILLER = frozenset(
    {
        "anime",
        "animes",
        "animation",
        "japanese",
        "a",
        "an",
        "the",
        "some",
        "any",
        "from",
        "in",
        "of",
        "by",
        "made",
        "aired",
        "released",
        "released in",
        "with",
        "and",
        "about",
        "for",
        "me",
        "give",
        "show me",
        "find",
        "recommend",
        "recommendations",
        "list",
        "like",
        "that",
        "are",
        "is",
        "were",
        "what",
        "which",
        "ones",
        "one",
        "to",
        "watch",
        "s",
        "era",
        "year",
        "years",
        "season",
        "studio",
        "studios",
        "based",
        "on",
        "adaptation",
        "adaptations",
        "original",
        "all",
        "time",
        "ever",
        "of all time",
        "please",
        "i",
        "want",
        "looking",
        "something",
    }
)
# Generic words of studio names: "Studio Ghibli" is also "Ghibli", "Kyoto Animation" is "KyoAni".
STUDIO_GENERIC = re.compile(
    r"\b(studio|studios|animation|animations|productions?|pictures|entertainment|"
    r"company|co|ltd|inc|works|film|films)\b"
)
STUDIO_NICKNAMES: dict[str, str] = {
    "kyoani": "kyoto animation",
    "ghibli": "studio ghibli",
    "production ig": "production i.g",
    "ig": "production i.g",
    "jc staff": "j.c.staff",
    "a1": "a-1 pictures",
    "toei": "toei animation",
}
# A studio's short name counts only next to one of these words (or in a wish list): "bones" in a
# description of a skeleton is not the studio Bones.
STUDIO_CONTEXT = {"by", "from", "studio", "anime", "films", "movies", "film", "movie", "shows", "works", "made"}


# Japanese words are mostly two characters long (kanji compounds); katakana loanwords run longer.
CJK_CHARS_PER_WORD = 2


def query_words(text: str) -> int:
    """How many words a query has. Japanese and Chinese put no spaces between words, so ``split()`` would read a
    whole Japanese plot description as one word, a short title-like query; a run of those characters counts one
    word per two characters instead."""
    runs = CJK_RUN.findall(text)
    return len(CJK_RUN.sub(" ", text).split()) + sum(math.ceil(len(run) / CJK_CHARS_PER_WORD) for run in runs)
