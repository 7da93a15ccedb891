"""Words and small text helpers shared by the vector texts (index.texts).

Why apart from the builders: these are the vocabulary (enum codes -> phrases a text
model understands), the cleaning of markup and links that carry no meaning, and the
phrasing of names, dates, durations and ranks. Each is reused by several vector
builders, and none knows which vector it feeds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from index.payload import normalise_title
from index.schema import ContextualRank

# ----------------------------------------------------------------------------- word tables
TYPE_WORDS = {
    "TV": "TV series",
    "MOVIE": "movie",
    "OVA": "OVA (original video animation)",
    "ONA": "ONA (original net animation)",
    "SPECIAL": "special",
    "MUSIC": "music video",
    "PV": "promotional video",
}
STATUS_WORDS = {"FINISHED": "finished airing", "ONGOING": "currently airing", "UPCOMING": "not yet aired"}
SOURCE_WORDS = {
    "MANGA": "manga",
    "ORIGINAL": "original story (not based on another work)",
    "LIGHT NOVEL": "light novel",
    "NOVEL": "novel",
    "WEB MANGA": "web manga",
    "VISUAL NOVEL": "visual novel",
    "GAME": "video game",
    "MIXED MEDIA": "mixed media project",
    "OTHER": "other source",
}
FORMAT_WORDS = {
    "TV": "TV series",
    "TV_SHORT": "TV short",
    "MOVIE": "movie",
    "OVA": "OVA",
    "ONA": "ONA",
    "SPECIAL": "special",
    "MUSIC": "music video",
}
RELATION_WORDS = {
    "CHARACTER": "Shares characters with",
    "OTHER": "Related",
    "SPIN OFF": "Spin-off",
    "SPIN-OFF": "Spin-off",
    "MUSIC": "Music video",
    "ONA": "ONA",
    "OVA": "OVA",
}
AWARD_WORDS = ("award winning", "award-winning")

_URL = re.compile(r"https?://\S+")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_TAG = re.compile(r"<[^>]+>")
_SOURCE_NOTE = re.compile(r"\((?:Source|Written by)[^)]*\)|\[Written by [^\]]*\]", re.IGNORECASE)
_PLACEHOLDER_SYNOPSIS = re.compile(r"^\s*episode\s*\d+\s*\.?\s*$", re.IGNORECASE)
_NULL_DATE = "0001-01-01"
_ENDINGS = ".!?。！？…"
LINK_WORDS = {
    "officialsite": "Official site",
    "official site": "Official site",
    "official_site": "Official site",
    "youtube": "YouTube",
    "twitter": "Twitter",
    "wikipedia": "Wikipedia",
}


# ----------------------------------------------------------------------------- small helpers
def clean(text: str | None) -> str:
    """Strip markup and links that carry no meaning for a text model; keep paragraphs."""
    if not text:
        return ""
    text = _MD_LINK.sub(r"\1", text)
    text = _TAG.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _SOURCE_NOTE.sub(" ", text)
    text = text.replace("~!", "").replace("!~", "").replace("__", "").replace("**", "")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def unique(values: Iterable[str | None], key=lambda s: s.casefold()) -> list[str]:
    """Non-empty values, first spelling kept, duplicates (by ``key``) dropped."""
    seen: dict[str, str] = {}
    for value in values:
        value = (value or "").strip()
        if value and key(value) not in seen:
            seen[key(value)] = value
    return list(seen.values())


def end(text: str) -> str:
    """Close a sentence with a full stop unless it already ends with one (``"!NVADE SHOW!"``)."""
    text = text.rstrip()
    return text if not text or text[-1] in _ENDINGS else text + "."


def one_line(text: str | None) -> str:
    """Cleaned text on a single line, so one character or episode reads as one block."""
    return " ".join(clean(text).split())


def first_sentence(text: str | None) -> str:
    """The defining sentence of a glossary text (theme descriptions run to essays on AniDB)."""
    text = one_line(text)
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return (match.group(1) if match else text).rstrip(".")


def person(name: str) -> str:
    """MyAnimeList writes people as ``"Shimono, Hiro"``; say ``"Hiro Shimono"`` like other sources."""
    parts = [p.strip() for p in name.split(",")]
    if len(parts) == 2 and all(parts) and len(parts[0].split()) <= 2 and len(parts[1].split()) <= 2:
        return f"{parts[1]} {parts[0]}"
    return name.strip()


def _label(label: str, values: Iterable[str | None], sep: str = ", ") -> str | None:
    items = unique(values)
    return end(f"{label}: {sep.join(items)}") if items else None


def _sentences(parts: Iterable[str | None], sep: str = " ") -> str:
    return sep.join(p for p in parts if p)


def _words(code: str) -> str:
    """``"music_composers"`` -> ``"Music composers"``."""
    text = code.replace("_", " ").strip()
    return text[:1].upper() + text[1:].lower() if text else text


def when(value: str | None, *, time: bool = True) -> str | None:
    """ISO date/time -> ``"October 7, 2020"`` (with the time when asked and not midnight)."""
    if not value or value.startswith(_NULL_DATE):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value.strip() or None
    day = f"{moment:%B} {moment.day}, {moment.year}"
    if time and "T" in value and (moment.hour, moment.minute) != (0, 0):
        offset = moment.utcoffset()
        zone = " UTC" if offset is not None and offset.total_seconds() == 0 else ""
        return f"{day} at {moment:%H:%M}{zone}"
    return day


def duration_words(seconds: int | None) -> str | None:
    """1440 -> ``"24 minutes"``; 6900 -> ``"1 hour 55 minutes"``."""
    if not seconds or seconds <= 0:
        return None
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours > 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes > 1 else ''}")
    if secs and not hours and minutes < 5:
        parts.append(f"{secs} second{'s' if secs > 1 else ''}")
    return " ".join(parts)


def describe_mapping(data: Any) -> str | None:
    """A loose dict (delay info, overrides) in words; false, zero and empty values are dropped."""
    if isinstance(data, dict):
        parts = []
        for key, value in data.items():
            if value is True:
                parts.append(_words(str(key)))
                continue
            inner = describe_mapping(value)
            if inner:
                parts.append(
                    f"{_words(str(key))}: {inner}" if not isinstance(value, dict) else f"{_words(str(key))} ({inner})"
                )
        return "; ".join(parts) or None
    if isinstance(data, list):
        items = [d for d in (describe_mapping(v) for v in data) if d]
        return ", ".join(items) or None
    if data is None or data is False or data == 0 or data == "":
        return None
    if isinstance(data, str):
        return when(data) if re.match(r"^\d{4}-\d{2}-\d{2}", data) else clean(data) or None
    return str(data)


# ----------------------------------------------------------------------------- names and ranks
def _name_key(name: str) -> str:
    """Order-free key of a name: "Kana Hanazawa", "Hanazawa Kana" and "Hanazawa, Kana" agree."""
    return " ".join(sorted(normalise_title(name).split()))


def contextual_rank_words(rank: ContextualRank) -> str | None:
    """``#29 highest rated OVA of 2009``."""
    if not rank.rank:
        return None
    kind = {"RATED": "highest rated", "POPULAR": "most popular"}.get(
        (rank.type or "").upper(), _words(rank.type or "ranked").lower()
    )
    fmt = FORMAT_WORDS.get((rank.format or "").upper(), "anime" if not rank.format else rank.format)
    if rank.all_time:
        period = " of all time"
    elif rank.season and rank.year:
        period = f" of {rank.season.capitalize()} {rank.year}"
    elif rank.year:
        period = f" of {rank.year}"
    else:
        period = ""
    return f"#{rank.rank} {kind} {fmt}{period}"


def _rank_tier(rank: int | None, what: str) -> str | None:
    for limit in (10, 100, 500, 1000):
        if rank and rank <= limit:
            return f"Among the {limit} {what} anime on MyAnimeList."
    return None


def _reception(score: float | None) -> str | None:
    """Scores in words (the number itself stays in the payload)."""
    if score is None or score <= 0:
        return None
    if score >= 8.5:
        return "Reception: critically acclaimed, one of the best rated anime."
    if score >= 8.0:
        return "Reception: highly rated by viewers."
    if score >= 7.0:
        return "Reception: well received by viewers."
    if score >= 6.0:
        return "Reception: mixed reviews."
    if score >= 5.0:
        return "Reception: below average reviews."
    return "Reception: poorly received."
