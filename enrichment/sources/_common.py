"""Small helpers every parser needs: text cleanup, dates, names, staff roles.

Parsers turn raw API answers into partial AnimeEntry-shaped dicts; they share
these so that "Spiegel, Spike" (MAL), "Spike Spiegel" (AniList) and "Spike
SPIEGEL" (Anime-Planet) come out alike, and a role such as "Direction" (AniDB) or
"Director" (AniList) lands in the same staff group.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_SEASON_OF_MONTH = {
    12: "WINTER",
    1: "WINTER",
    2: "WINTER",
    3: "SPRING",
    4: "SPRING",
    5: "SPRING",
    6: "SUMMER",
    7: "SUMMER",
    8: "SUMMER",
    9: "FALL",
    10: "FALL",
    11: "FALL",
}
# AnimeSchedule and others write "no date" as the zero time.
_ZERO_DATES = ("0001-01-01",)


def clean_html(text: Any) -> str | None:
    """Plain text from AniList/AnimeSchedule HTML descriptions (<br> kept as line breaks)."""
    if not text or not isinstance(text, str):
        return None
    out = re.sub(r"(?i)<br\s*/?>", "\n", text)
    out = re.sub(r"<[^>]+>", "", out)
    out = html.unescape(out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    out = re.sub(r"[ \t]+\n", "\n", out)
    return out.strip() or None


def clean_anidb_text(text: Any) -> str | None:
    """AniDB links look like ``http://anidb.net/ch270 [Spike Spiegel]``: keep the label."""
    if not text or not isinstance(text, str):
        return None
    out = re.sub(r"https?://anidb\.net/\S+ \[([^\]]+)\]", r"\1", text)
    out = re.sub(r"\[/?(?:i|b|u|spoiler)\]", "", out)  # BBCode emphasis
    return out.strip() or None


def date_part(value: Any) -> str | None:
    """``YYYY-MM-DD`` (or shorter) from a date or datetime string; zero dates give None."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if not text or text.startswith(_ZERO_DATES):
        return None
    match = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", text)
    return match.group(0) if match else None


def real_datetime(value: Any) -> str | None:
    """The value unless it is missing or a zero date."""
    if not value or not isinstance(value, str) or value.strip().startswith(_ZERO_DATES):
        return None
    return value.strip()


def year_of(date: Any) -> int | None:
    text = date_part(date)
    return int(text[:4]) if text else None


def month_of(date: Any) -> int | None:
    text = date_part(date)
    return int(text[5:7]) if text and len(text) >= 7 else None


def season_of(date: Any) -> str | None:
    month = month_of(date)
    return _SEASON_OF_MONTH.get(month) if month else None


def month_name(date: Any) -> str | None:
    month = month_of(date)
    return MONTHS[month - 1] if month else None


def to_int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def to_float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def score10(value: Any, scale: float) -> float | None:
    """A score on ``0..scale`` as ``0..10``; zero and missing mean "not rated"."""
    number = to_float(value)
    if number is None or number <= 0 or scale <= 0:
        return None
    return round(min(10.0, number * 10.0 / scale), 4)


def drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    """Keys whose value says nothing (None, "", [], {}) are left out, so merging never overwrites with them."""
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def names(items: Any, key: str = "name") -> list[str]:
    """``[{"name": "Action"}, ...]`` -> ``["Action", ...]``."""
    out: list[str] = []
    for item in items or []:
        value = item.get(key) if isinstance(item, dict) else item
        if isinstance(value, str) and value.strip():
            out.append(value.strip())
    return out


def flip_comma_name(name: Any) -> str | None:
    """MAL writes people and characters as "Spiegel, Spike": give "Spike Spiegel"."""
    if not isinstance(name, str) or not name.strip():
        return None
    parts = [p.strip() for p in name.split(",")]
    if len(parts) == 2 and all(parts):
        return f"{parts[1]} {parts[0]}"
    return name.strip()


def unshout(name: Any) -> str | None:
    """Anime-Planet writes family names in capitals ("Spike SPIEGEL"): give "Spike Spiegel"."""
    if not isinstance(name, str) or not name.strip():
        return None
    return " ".join(w.capitalize() if len(w) > 1 and w.isupper() else w for w in name.split())


def name_key(name: Any) -> frozenset[str]:
    """Order- and spelling-tolerant identity of a person's name.

    The words, lower-cased, accents and punctuation removed, long vowels folded
    ("Youko"/"Yoko", "Shin`ichirou"/"Shinichiro"), as a set, so "Yamadera, Kouichi",
    "Kouichi Yamadera" and "Yamadera Kouichi" are one person.
    """
    if not isinstance(name, str):
        return frozenset()
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[`'’\u2019.]", "", text)
    words = re.split(r"[\s,;/\-_()]+", text)
    out = set()
    for word in words:
        word = re.sub(r"[^\w]", "", word)
        if not word:
            continue
        word = word.replace("ou", "o").replace("uu", "u").replace("oo", "o").replace("ii", "i")
        out.add(word)
    return frozenset(out)


def relation_type(value: Any) -> str | None:
    """ "Side Story" / "side_story" / "sideStories" -> "SIDE_STORY"."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", value.strip())
    text = re.sub(r"[\s\-]+", "_", text).upper()
    plural = {
        "SIDE_STORIES": "SIDE_STORY",
        "SEQUELS": "SEQUEL",
        "PREQUELS": "PREQUEL",
        "PARENTS": "PARENT",
        "ALTERNATIVES": "ALTERNATIVE",
        "SPIN_OFFS": "SPIN_OFF",
        "OTHERS": "OTHER",
        "SUMMARIES": "SUMMARY",
        "CHARACTERS": "CHARACTER",
        "ADAPTATIONS": "ADAPTATION",
        "FULL_STORIES": "FULL_STORY",
    }
    return plural.get(text, text)


def youtube_url(video_id: Any) -> str | None:
    if not isinstance(video_id, str) or not video_id.strip():
        return None
    return f"https://www.youtube.com/watch?v={video_id.strip()}"


def duration_seconds(text: Any) -> int | None:
    """Jikan's "24 min per ep", "1 hr 55 min", "30 sec" -> seconds."""
    if isinstance(text, (int, float)):
        return int(text)
    if not isinstance(text, str):
        return None
    total = 0
    for amount, unit in re.findall(r"(\d+)\s*(hr|h|min|m|sec|s)\b", text.lower()):
        factor = {"hr": 3600, "h": 3600, "min": 60, "m": 60, "sec": 1, "s": 1}[unit]
        total += int(amount) * factor
    return total or None


# ----- staff roles ------------------------------------------------------------------------------
_ROLE_GROUPS: dict[str, str] = {
    "director": "directors",
    "direction": "directors",
    "chief director": "directors",
    "series director": "directors",
    "general director": "directors",
    "episode director": "episode_directors",
    "episode direction": "episode_directors",
    "unit director": "episode_directors",
    "assistant director": "assistant_directors",
    "music": "music_composers",
    "music composer": "music_composers",
    "music composition": "music_composers",
    "original music": "music_composers",
    "music arrangement": "music_arrangers",
    "music lyrics": "music_lyrics",
    "lyrics": "music_lyrics",
    "music director": "music_directors",
    "music performance": "music_performers",
    "theme song performance": "theme_song_performers",
    "theme song performer": "theme_song_performers",
    "theme song lyrics": "music_lyrics",
    "theme song composition": "music_composers",
    "theme song arrangement": "music_arrangers",
    "inserted song performance": "theme_song_performers",
    "sound director": "sound_directors",
    "sound direction": "sound_directors",
    "sound effects": "sound_effects",
    "character design": "character_designers",
    "character designer": "character_designers",
    "original character design": "character_designers",
    "original creator": "original_creators",
    "original work": "original_creators",
    "original concept": "original_creators",
    "original story": "original_story",
    "series composition": "series_writers",
    "series writer": "series_writers",
    "script": "script_writers",
    "screenplay": "script_writers",
    "scenario": "script_writers",
    "animation director": "animation_directors",
    "animation direction": "animation_directors",
    "chief animation director": "animation_directors",
    "chief animation direction": "animation_directors",
    "key animation": "key_animators",
    "key animator": "key_animators",
    "in-between animation": "in_between_animators",
    "2nd key animation": "key_animators",
    "art director": "art_directors",
    "art direction": "art_directors",
    "background art": "background_artists",
    "storyboard": "storyboard_artists",
    "director of photography": "photography_directors",
    "photography director": "photography_directors",
    "director of photography (cg)": "photography_directors",
    "producer": "producers",
    "animation producer": "producers",
    "executive producer": "executive_producers",
    "mechanical design": "mechanical_designers",
    "mechanical designer": "mechanical_designers",
    "color design": "color_designers",
    "colour design": "color_designers",
    "editing": "editors",
    "video editing": "editors",
    "editor": "editors",
    "3dcg": "cg_artists",
    "cg director": "cg_directors",
    "3d director": "cg_directors",
    "setting": "setting_designers",
    "setting design": "setting_designers",
}
# AniDB "creators" of these types are companies, not people.
STUDIO_ROLES = {"animation work", "work"}


def role_base(role: Any) -> str:
    """ "Key Animation (eps 4, 8)" -> "Key Animation"."""
    if not isinstance(role, str):
        return ""
    return re.sub(r"\s+", " ", re.sub(r"\([^)]*\)", " ", role)).strip()


def staff_group(role: Any) -> str:
    """Group key of ``production_staff`` for a role: "Director"/"Direction" -> "directors"."""
    base = role_base(role).lower()
    if not base:
        return "other"
    if base in _ROLE_GROUPS:
        return _ROLE_GROUPS[base]
    slug = re.sub(r"[^a-z0-9]+", "_", base).strip("_")
    return slug or "other"


def group_staff(members: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``[{name, role, ...}]`` -> ``{group: [member, ...]}`` keeping the order they came in."""
    out: dict[str, list[dict[str, Any]]] = {}
    for member in members:
        if member.get("name"):
            out.setdefault(staff_group(member.get("role")), []).append(member)
    return out


def character_role(value: Any) -> str | None:
    """ "MAIN"/"main character in" -> "Main"; "SUPPORTING"/"secondary cast in" -> "Supporting"."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lower()
    if text.startswith("main"):
        return "Main"
    if text.startswith(("support", "secondary")):
        return "Supporting"
    if text.startswith(("background", "appears", "cameo")):
        return "Background"
    return value.strip().capitalize()
