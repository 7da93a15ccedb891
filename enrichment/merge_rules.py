"""The written rule of every merged field: which sources win, in which order (used by enrichment.merge).

"Order" lists the sources from most to least trusted; the first one with a
non-empty value wins (``UNKNOWN`` counts as empty). The base entry (the one being
enriched) is the last fallback: its data is kept wherever no source has any.

=======================  =========================================================================
field                    rule
=======================  =========================================================================
title                    kept from the base entry (it is the record's identity), unless the base is
                         a placeholder built from an id ("mal-1"): then jikan, anilist, kitsu,
                         anidb, animeschedule, animeplanet
title_english            jikan, anilist, kitsu, animeschedule, anidb
title_japanese           jikan, anilist, kitsu, anidb, animeschedule
synopsis                 jikan, anilist, kitsu, animeschedule, anidb, animeplanet
background               jikan
type                     jikan, anilist, kitsu, anidb, animeschedule, animeplanet
status                   jikan, anilist, kitsu, animeschedule, anidb, animeplanet
episodes                 jikan, anilist, kitsu, anidb, animeschedule, animeplanet
duration                 jikan, anilist, kitsu, animeschedule, anidb
season, year             jikan, anilist, animeschedule, kitsu, anidb, animeplanet
month                    animeschedule, jikan, anilist, kitsu, anidb, animeplanet
rating                   jikan, kitsu (MAL rating strings)
source_material          jikan, anilist, animeschedule
nsfw                     true if any source (or the base) says adult; otherwise left for the schema
                         to derive from rating and genres
aired_dates, broadcast,  per key: jikan, anilist, kitsu, anidb, animeschedule, animeplanet, then
broadcast_schedule,      the base (broadcast_schedule, premiere_dates, delay_information and
premiere_dates, ...      episode_overrides come from animeschedule only)
synonyms                 union of every source's synonyms and alternative titles, minus the title
genres, tags, ...        union, base first, then sources in order; de-duplicated case-insensitively
themes                   union by name (case-insensitive); a missing description is filled in
trailers                 union by URL
opening/ending_themes    union by title
related_anime/relations  union by URL (else title + relation type)
streaming_info           union by platform name (first URL wins)
episode_details          matched by episode_number; per field: jikan, kitsu, anidb, anilist, base;
                         filler/recap: any; thumbnails and pages unioned
characters               matched by normalised name (people.name_key); spelling and facts from
                         anilist, jikan, anidb, kitsu, animeplanet, base; voice actors unioned;
                         main cast first
staff_data.production    grouped by role ("Director"/"Direction" -> directors); people matched by
_staff                   name within a group; anilist, jikan, anidb, animeplanet, base
studios/producers/       union by name: jikan, anilist, animeschedule, anidb, animeplanet, base
licensors
staff_data.voice_actors  rebuilt from the merged cast: {language: [actor + characters voiced]}
statistics               per platform, each source's own block replaces the base's values
                         (scores are normalised to 0-10 by the parsers)
score                    over platform scores: arithmetic_mean, median, and
                         arithmetic_geometric_mean = Gauss's AGM of the arithmetic and geometric
                         means (between the two; robust to one outlying platform)
images                   union per kind (covers, posters, banners), base first
external_links           union by key, base first
sources                  base URLs, plus each newly discovered platform's canonical URL
enrichment_metadata      sources_used, failures {source: reason}, enriched_at, duration_seconds
=======================  =========================================================================
"""

from __future__ import annotations

from typing import Any

from enrichment.merge_values import url_key

SOURCE_ORDER = ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet")
NAME_ORDER = ("anilist", "jikan", "anidb", "kitsu", "animeschedule", "animeplanet")
_DATE_ORDER = ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet")

SCALAR_RULES: dict[str, tuple[str, ...]] = {
    "title_english": ("jikan", "anilist", "kitsu", "animeschedule", "anidb"),
    "title_japanese": ("jikan", "anilist", "kitsu", "anidb", "animeschedule"),
    "synopsis": ("jikan", "anilist", "kitsu", "animeschedule", "anidb", "animeplanet"),
    "background": ("jikan",),
    "type": ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet"),
    "status": ("jikan", "anilist", "kitsu", "animeschedule", "anidb", "animeplanet"),
    "episodes": ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet"),
    "duration": ("jikan", "anilist", "kitsu", "animeschedule", "anidb"),
    "season": ("jikan", "anilist", "animeschedule", "kitsu", "anidb", "animeplanet"),
    "year": ("jikan", "anilist", "animeschedule", "kitsu", "anidb", "animeplanet"),
    "month": ("animeschedule", "jikan", "anilist", "kitsu", "anidb", "animeplanet"),
    "rating": ("jikan", "kitsu"),
    "source_material": ("jikan", "anilist", "animeschedule"),
}
TITLE_ORDER = ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet")
OBJECT_RULES: dict[str, tuple[str, ...]] = {
    "aired_dates": _DATE_ORDER,
    "broadcast": _DATE_ORDER,
    "broadcast_schedule": ("animeschedule",),
    "premiere_dates": ("animeschedule",),
    "delay_information": ("animeschedule",),
    "episode_overrides": ("animeschedule",),
}
STRING_LISTS: dict[str, tuple[str, ...]] = {
    "genres": ("jikan", "anilist", "animeschedule", "kitsu", "anidb", "animeplanet"),
    "tags": ("anilist", "kitsu", "anidb", "animeplanet", "jikan"),
    "demographics": ("jikan", "anilist"),
    "content_warnings": SOURCE_ORDER,
    "licensors": SOURCE_ORDER,
    "streaming_licenses": SOURCE_ORDER,
}
# list field -> (source order, identity of an item)
OBJECT_LISTS: dict[str, tuple[tuple[str, ...], Any]] = {
    "themes": (("jikan", "anilist", "kitsu", "anidb"), lambda x: str(x.get("name", "")).casefold()),
    "trailers": (("jikan", "anilist", "kitsu"), lambda x: url_key(x.get("url"))),
    "opening_themes": (("jikan",), lambda x: str(x.get("title", "")).casefold()),
    "ending_themes": (("jikan",), lambda x: str(x.get("title", "")).casefold()),
    "related_anime": (
        ("jikan", "anilist", "kitsu", "anidb", "animeschedule", "animeplanet"),
        lambda x: url_key(x.get("url")) or f"{x.get('title', '')}|{x.get('relation_type')}".casefold(),
    ),
    "relations": (
        ("jikan", "anilist"),
        lambda x: url_key(x.get("url")) or f"{x.get('title', '')}|{x.get('relation_type')}".casefold(),
    ),
    "streaming_info": (("jikan", "anilist", "animeschedule", "kitsu"), lambda x: str(x.get("platform", "")).casefold()),
}
EPISODE_ORDER = ("jikan", "kitsu", "anidb", "anilist")
COMPANY_ORDER = ("jikan", "anilist", "animeschedule", "anidb", "animeplanet")
STAFF_ORDER = ("anilist", "jikan", "anidb", "animeplanet", "kitsu", "animeschedule")
IMAGE_ORDER = ("jikan", "anilist", "kitsu", "animeschedule", "anidb", "animeplanet")
