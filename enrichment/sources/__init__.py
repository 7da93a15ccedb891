"""Source registry: live clients (``SPECS``) and every parser (``PARSERS``, Anime-Planet included)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from enrichment.sources import anidb, anilist, animeplanet, animeschedule, jikan, kitsu
from enrichment.sources.base import FetchContext, SourceSpec

SPECS: dict[str, SourceSpec] = {
    s.name: s for s in (jikan.SPEC, anilist.SPEC, kitsu.SPEC, anidb.SPEC, animeschedule.SPEC)
}
PARSERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    **{name: spec.parse for name, spec in SPECS.items()},
    animeplanet.NAME: animeplanet.parse,
}

__all__ = ["SPECS", "PARSERS", "FetchContext", "SourceSpec"]
