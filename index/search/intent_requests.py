"""Reading the request around a description: "what's the movie where ...", "I remember a show about ...".

An assistant passes its user's words on as they were said. The wrapper around the description (an opener
such as "can you find", "is there", "I remember"; a noun phrase such as "the one", "an anime", "that movie";
a linker such as "where", "about", "with") says nothing about the anime, yet its words reach BM25 ("anime",
"movie", "remember" occur in thousands of synopses), dilute the text vector, and count as query tokens in
the weak-words check. Wrappers are read here as families of phrasing (an opener, a noun phrase and a
linker in any combination), never as a list of exact queries; what they say that matters is kept: a film
or a series asked for ("the movie where") and a title named as a reference ("something like X but Y").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words for "an anime" in a request; the type each one wishes for (a boost, since people misremember).
KIND_TYPES: dict[str, str | None] = {
    "anime": None,
    "animes": None,
    "animated": None,
    "cartoon": None,
    "thing": None,
    "one": None,
    "title": None,
    "story": None,
    "show": "TV",
    "series": "TV",
    "tv show": "TV",
    "tv series": "TV",
    "movie": "MOVIE",
    "film": "MOVIE",
    "anime movie": "MOVIE",
    "anime film": "MOVIE",
    "animated movie": "MOVIE",
    "animated film": "MOVIE",
    "anime series": "TV",
    "anime show": "TV",
    "ova": "OVA",
    "shows": "TV",
    "movies": "MOVIE",
    "films": "MOVIE",
    "anime movies": "MOVIE",
    "anime films": "MOVIE",
    "cartoons": None,
    "something": None,
    "anything": None,
    "ones": None,
    "titles": None,
}

_GREETING = r"(?:(?:hey|hi|hello|ok|okay|so|um+|uh+|please)\b[,!.]?\s+)*"
_MODAL = r"(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+)?(?:help\s+me\s+)?"
# Openers: the verb phrases that ask for an anime. Each may be followed by a noun phrase and a linker.
_OPENERS = [
    rf"{_MODAL}(?:find|name|identify|tell\s+me(?:\s+the\s+name\s+of)?|recommend|suggest|look\s+up|search\s+for"
    r"|remember|think\s+of|get)(?:\s+me)?",
    r"(?:please\s+)?(?:help\s+me\s+)?(?:find|identify|name|look\s+for|search\s+for|suggest|recommend)(?:\s+me)?",
    r"(?:give|show|get)\s+me",
    r"(?:i'?m|i\s+am|im)\s+(?:trying\s+to\s+(?:find|remember|recall|think\s+of|figure\s+out)"
    r"|looking\s+for|searching\s+for|thinking\s+of|in\s+the\s+mood\s+for)",
    r"(?:looking|searching)\s+for",
    r"i\s+(?:want|need|would\s+like|'d\s+like|wanna)(?:\s+to\s+(?:watch|see|find))?",
    r"i\s+(?:vaguely\s+|once\s+|kind\s+of\s+|sort\s+of\s+)?(?:remember|recall)(?:\s+(?:watching|seeing))?",
    r"i\s+(?:once\s+)?(?:watched|saw)",
    r"i\s+(?:think|believe|guess)\s+(?:there(?:'s|\s+is|\s+was)|it\s+was)",
    r"(?:do|did)\s+(?:you|u)\s+(?:know|remember|recall)(?:\s+of)?",
    r"(?:does\s+)?any(?:one|body)\s+(?:know|remember)(?:\s+of)?",
    r"tell\s+me(?:\s+about)?",
    r"recommend(?:\s+me)?",
]
# Questions that ask for an anime only with a noun phrase after them: "what's the movie where" is a request,
# "what's wrong with ..." is not.
_QUESTIONS = [
    r"what(?:'s|s|\s+is|\s+was|\s+are|\s+were)(?:\s+the\s+(?:name|title)\s+of)?",
    r"(?:what|which)",
    r"(?:tell\s+me\s+)?the\s+(?:name|title)\s+of",
    r"(?:is|was)\s+there",
    r"are\s+there(?:\s+any)?",
    r"there(?:'s|\s+is|\s+was)",
]
_ARTICLE = r"(?:(?:a|an|the|that|this|some|any|one|those|these)\s+)?"
# Words between the article and the noun that describe the anime ("the school mystery anime where") go back
# into the description; a few that only hedge ("specific", "certain") are dropped.
_NOT_DESC = r"(?!(?:who|that|where|which|with|is|was|and|in|of|to|on)\b)"
_ADJECTIVE = rf"(?:(?:specific|certain|particular|other|good)\s+)?(?P<desc>(?:{_NOT_DESC}[\w'-]+\s+){{0,3}}?)"
_KINDS = "|".join(sorted((k.replace(" ", r"\s+") for k in KIND_TYPES), key=len, reverse=True))
_NOUN = rf"(?:{_ARTICLE}{_ADJECTIVE}(?P<kind>{_KINDS})(?:\s+(?:is|was)\s+(?:it|that|this))?)"
# Words that join the noun phrase to the description: "the one where", "a show about", "the movie with".
_LINKER = (
    r"(?:where|in\s+which|about|with|when|that|whose|called|in\s+it|(?:has|had|features?|is\s+about|was\s+about)"
    r"|(?=set\s+in\b))"
)
_SOMETHING = r"(?:something|anything|an?\s+anime|a\s+show|a\s+series|a\s+movie|some\s+anime)"

_OPENER_RE = re.compile(
    rf"^{_GREETING}(?P<opener>{'|'.join(_OPENERS)})\b\s*(?:{_NOUN}\b\s*)?(?:{_LINKER}\b\s*)?", re.IGNORECASE
)
_QUESTION_RE = re.compile(
    rf"^{_GREETING}(?P<opener>{'|'.join(_QUESTIONS)})\s+{_NOUN}\b\s*(?:{_LINKER}\b\s*)?", re.IGNORECASE
)
# A request that starts with the noun phrase: "the one where ...", "anime about ...", "that movie with ...".
_NOUN_RE = re.compile(rf"^{_GREETING}{_NOUN}\s+{_LINKER}\b\s*", re.IGNORECASE)
# "something like X but Y", "similar to X but with Y", "like X except Y": X is a reference, Y the wish.
_LIKE_RE = re.compile(
    rf"^(?:{_SOMETHING}\s+)?(?:(?:kind\s+of|sort\s+of|a\s+bit|just)\s+)?(?:like|similar\s+to)\s+(?P<ref>.+?)"
    r"\s*,?\s+(?:but|except|only)\s+(?:with\s+|about\s+|where\s+|set\s+in\s+(?=\w)|it'?s\s+|in\s+which\s+)?"
    r"(?P<rest>\S.*)$",
    re.IGNORECASE,
)
# Filler at the end: "?", "what's it called", "any ideas", "please", "thanks", "or something".
_TAIL_RE = re.compile(
    r"(?:[\s,.;:!?-]+(?:what(?:'s|\s+is|\s+was)\s+(?:it|that|this)(?:\s+one)?\s+called|what\s+(?:is|was)\s+it"
    r"|(?:i\s+)?(?:can'?t|cannot|don'?t)\s+remember\s+(?:the|its)\s+(?:name|title)|any\s+ideas?|anyone|please"
    r"|thanks?(?:\s+you)?|thx|or\s+something(?:\s+like\s+that)?|i\s+think|lol))+[\s,.;:!?-]*$"
    r"|[\s,.;:!?]+$",
    re.IGNORECASE,
)
# Hedges inside the description: "I think", "or something", "kind of" say nothing about the anime.
_HEDGE_RE = re.compile(
    r"(?:,\s*)?\b(?:i\s+think|i\s+believe|i\s+guess|i\s+remember|if\s+i\s+remember\s+(?:right|correctly)"
    r"|or\s+something(?:\s+like\s+that)?|i'?m\s+(?:pretty\s+)?sure)\b,?",
    re.IGNORECASE,
)
# Fewer words than this left after a wrapper: the "wrapper" was the request itself ("find me").
MIN_CORE_WORDS = 1


@dataclass
class RequestReading:
    """The request's wrapper and what it keeps: the description, a wished type, a reference title."""

    core: str
    wrapper: list[str]
    type_wish: str | None = None
    kind: str | None = None  # the noun that carried the type wish ("movie", "series", "show")
    like: str | None = None


def read_request(query: str) -> RequestReading:
    """Strip the conversational wrapper(s) around the description in ``query``; ``wrapper`` empty when none."""
    text = " ".join(query.replace("’", "'").split())
    wrapper: list[str] = []
    type_wish: str | None = None
    kind_word: str | None = None
    like: str | None = None
    for _ in range(3):  # "hi, can you find the one where ..." has an opener then a noun phrase
        m = _OPENER_RE.match(text) or _QUESTION_RE.match(text) or _NOUN_RE.match(text)
        if not m or len(text[m.end() :].split()) < MIN_CORE_WORDS:
            break
        kind = m.group("kind")
        if m.group("desc"):
            # "the best mecha anime with ...": words that describe the anime stay with their noun, where the
            # facts reading finds them ("best" counts before "anime"); only the opener and linker go
            start = m.start("desc")
            if not text[:start].strip():  # "trippy movie with ...": a description, not a request
                break
            wrapper.append(" ".join(f"{text[:start]} … {text[m.end('kind') : m.end()]}".split()).strip(" ,"))
            text = " ".join([text[start : m.end("kind")], text[m.end() :]]).strip()
            continue
        wrapper.append(m.group(0).strip(" ,"))
        if kind and type_wish is None:
            kind_word = " ".join(kind.lower().split())
            type_wish = KIND_TYPES.get(kind_word)
        text = text[m.end() :]
    if (m := _LIKE_RE.match(text)) and len(m.group("rest").split()) >= 1:
        like = m.group("ref").strip(" ,'\"")
        wrapper.append(text[: m.start("rest")].strip(" ,"))
        text = m.group("rest")
    tail = _TAIL_RE.search(text)
    if tail and tail.start() > 0 and tail.group(0).strip(" ?.!"):
        wrapper.append(tail.group(0).strip(" ,.;:!?-"))
    core = _TAIL_RE.sub("", text) if tail and tail.start() > 0 else text
    hedged = _HEDGE_RE.sub(" ", core)
    if hedged != core and len(hedged.split()) >= MIN_CORE_WORDS:
        wrapper += [h.group(0).strip(" ,") for h in _HEDGE_RE.finditer(core)]
        core = hedged
    core = " ".join(core.split()).strip(" ,")
    if not wrapper or len(core.split()) < MIN_CORE_WORDS and not like:
        return RequestReading(core=" ".join(query.split()), wrapper=[])
    kind_word = kind_word if type_wish else None
    return RequestReading(core, [w for w in wrapper if w], type_wish=type_wish, kind=kind_word, like=like)
