"""The anime-offline-database dialect: its field names and shapes mapped to AnimeEntry's.

Why apart from the readers (index.importers): reading a file (format detection,
streaming) and knowing what a field of one particular database means change for
different reasons. The mapping is idempotent, so entries already in our shape pass
through unchanged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from index.identity import PLATFORM_NAMES, platform_id

# The offline database points entries without a picture at this placeholder.
_NO_PICTURE = "no_pic"


def normalise_raw(data: dict[str, Any]) -> dict[str, Any]:
    """Map anime-offline-database fields (and their stray leftovers) to AnimeEntry fields.

    Idempotent: entries already in our shape pass through unchanged.
    """
    out = dict(data)
    if out.get("id") is None:
        out.pop("id", None)  # derived from the sources after validation
    elif isinstance(out["id"], (int, float)) and not isinstance(out["id"], bool):
        out["id"] = str(int(out["id"]))
    season = out.pop("animeSeason", None) or out.pop("anime_season", None)
    if isinstance(season, dict):
        value = str(season.get("season") or "").upper()
        if "season" not in out and value and value != "UNDEFINED":
            out["season"] = value
        if out.get("year") is None and season.get("year") is not None:
            out["year"] = season["year"]

    # the thumbnail is a smaller copy of the picture: only a stand-in when there is no picture
    pictures = [out.pop(k, None) for k in ("picture", "thumbnail")]
    pictures = [p for p in pictures if isinstance(p, str) and p and _NO_PICTURE not in p][:1]
    if pictures:
        images = out.get("images")
        if isinstance(images, list):
            images = {"covers": images}
        images = dict(images) if isinstance(images, dict) else {}
        covers = list(images.get("covers") or [])
        images["covers"] = covers + [p for p in pictures if p not in covers]
        out["images"] = images

    duration = out.get("duration")
    if isinstance(duration, dict):
        out["duration"] = _seconds(duration)

    for key in ("relatedAnime", "related_anime", "relations"):
        if isinstance(out.get(key), list):
            out[key] = [_relation(x) for x in out[key]]
    if "relatedAnime" in out:
        related = out.pop("relatedAnime")
        out.setdefault("related_anime", related)

    staff = out.get("staff_data") or out.get("staffData")
    companies = {k: out.pop(k) for k in ("studios", "producers") if isinstance(out.get(k), list)}
    if companies:
        staff = dict(staff) if isinstance(staff, dict) else {}
        for key, names in companies.items():
            staff.setdefault(key, names)
        out.pop("staffData", None)
        out["staff_data"] = staff
    return out


def _seconds(duration: dict[str, Any]) -> int | None:
    """``{"value": 1440, "unit": "SECONDS"}`` -> 1440 (minutes and hours converted too)."""
    raw = duration.get("value")
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    unit = str(duration.get("unit") or "SECONDS").upper()
    factor = {"SECONDS": 1, "SECOND": 1, "MINUTES": 60, "MINUTE": 60, "HOURS": 3600, "HOUR": 3600}.get(unit, 1)
    return int(value * factor)


def _relation(item: Any) -> Any:
    """A bare related-anime URL becomes ``{title, url}`` with a title read from the URL."""
    if isinstance(item, str):
        return {"title": title_from_url(item), "url": item}
    return item


def title_from_url(url: str) -> str:
    """A readable stand-in title: a slug becomes words, a numeric id names its platform."""
    found = platform_id(url)
    path = unquote(urlsplit(url).path).rstrip("/")
    slug = path.rsplit("/", 1)[-1] if path else ""
    if found and not found[1].isdigit():
        slug = found[1]
    if slug and not slug.isdigit() and any(c.isalpha() for c in slug) and "." not in slug:
        return " ".join(w.capitalize() if w.islower() else w for w in slug.replace("_", "-").split("-") if w)
    if found:
        return f"{PLATFORM_NAMES[found[0]]} anime {found[1]}"
    host = (urlsplit(url).hostname or url).removeprefix("www.")
    return f"{host} {slug}".strip()
