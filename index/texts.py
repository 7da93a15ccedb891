"""What each named vector embeds: the fields of an entry written as labelled sentences.

A semantic model matches "Genres: Action, Sci-Fi" to "sci-fi action show" far better
than a bare list, so every vector gets short labelled sentences. Texts are never
truncated here (the embedding module chunks and pools long ones), and a vector
whose fields are all empty gets no text at all rather than an empty string.
Numbers that only matter for filters (scores, ids of people, URLs) stay in the payload.

The builders of the people texts live in index.text_people, those of the airing texts in
index.text_airing; the shared phrasing in index.text_words. TEXT_BUILDERS names one per vector.
"""

from __future__ import annotations

import re

from index import vectors as V
from index.identity import PLATFORM_NAMES, platform_id, source_ids
from index.payload import normalise_title
from index.schema import AnimeEntry, EpisodeDetail, ThemeSong
from index.text_airing import streaming_text, temporal_text
from index.text_people import character_text, staff_text
from index.text_words import (
    _PLACEHOLDER_SYNOPSIS,
    AWARD_WORDS,
    LINK_WORDS,
    RELATION_WORDS,
    SOURCE_WORDS,
    STATUS_WORDS,
    TYPE_WORDS,
    _label,
    _rank_tier,
    _reception,
    _sentences,
    _words,
    clean,
    contextual_rank_words,
    describe_mapping,
    duration_words,
    end,
    first_sentence,
    one_line,
    person,
    unique,
    when,
)


# ----------------------------------------------------------------------------- the 12 texts
def title_text(e: AnimeEntry) -> str | None:
    titles = [e.title, e.title_english, e.title_japanese]
    known = {normalise_title(t) for t in titles if t}
    synonyms = unique((s for s in e.synonyms if normalise_title(s) not in known), key=normalise_title)
    english = (
        e.title_english if e.title_english and normalise_title(e.title_english) != normalise_title(e.title) else None
    )
    return (
        _sentences(
            [
                end(f"Title: {e.title}"),
                end(f"English title: {english}") if english else None,
                end(f"Japanese title: {e.title_japanese}")
                if e.title_japanese and e.title_japanese != e.title
                else None,
                _label("Also known as", synonyms, "; "),
                f"Synopsis: {clean(e.synopsis)}" if clean(e.synopsis) else None,
                f"Background: {clean(e.background)}" if clean(e.background) else None,
            ],
            "\n",
        )
        or None
    )


def genre_text(e: AnimeEntry) -> str | None:
    themes: dict[str, str] = {}
    for theme in e.themes:
        key = theme.name.strip().casefold()
        if key and (key not in themes or (theme.description and " - " not in themes[key])):
            desc = first_sentence(theme.description)
            themes[key] = f"{theme.name.strip()} - {desc}" if desc else theme.name.strip()
    said = {g.casefold() for g in e.genres} | set(themes)
    tags = [t for t in e.tags if t.casefold() not in said]
    return (
        _sentences(
            [
                _label("Genres", e.genres),
                _label("Themes", themes.values(), "; "),
                _label("Tags", tags),
                _label("Demographics", e.demographics),
                _label("Content warnings", e.content_warnings),
            ]
        )
        or None
    )


def technical_text(e: AnimeEntry) -> str | None:
    licensors = [*e.licensors, *(c.name for c in (e.staff_data.licensors if e.staff_data else []))]
    source = e.source_material.value if e.source_material else None
    return (
        _sentences(
            [
                f"Format: {TYPE_WORDS[e.type.value]}." if e.type.value in TYPE_WORDS else None,
                f"Status: {STATUS_WORDS[e.status.value]}." if e.status.value in STATUS_WORDS else None,
                f"Episodes: {e.episodes}." if e.episodes else None,
                f"Episode length: {duration_words(e.duration)}." if duration_words(e.duration) else None,
                f"Rating: {e.rating}." if e.rating else None,
                f"Source material: {SOURCE_WORDS[source]}." if source in SOURCE_WORDS else None,
                _label("Licensed by", licensors),
                f"Episode overrides: {describe_mapping(e.episode_overrides)}."
                if describe_mapping(e.episode_overrides)
                else None,
            ]
        )
        or None
    )


def review_text(e: AnimeEntry) -> str | None:
    ranks = unique(contextual_rank_words(r) for stats in e.statistics.values() for r in stats.contextual_ranks)
    labels = [*e.genres, *e.tags, *(t.name for t in e.themes)]
    award = any(label.strip().casefold() in AWARD_WORDS for label in labels)
    mal = e.statistics.get("mal")
    score = e.mal_score() if e.mal_score() is not None else (e.score.arithmetic_mean if e.score else None)
    return (
        _sentences(
            [
                "Award-winning anime." if award else None,
                _label("Rankings", ranks, "; "),
                _rank_tier(mal.rank if mal else None, "highest rated"),
                _rank_tier(mal.popularity_rank if mal else None, "most popular"),
                _reception(score),
            ]
        )
        or None
    )


def related_text(e: AnimeEntry) -> str | None:
    groups: dict[str, list[str]] = {}
    for relation in [*e.related_anime, *e.relations]:
        title = relation.title.strip()
        if not title or title.upper() == "PENDING":
            continue
        if relation.url and "/manga/" in relation.url:
            title += " (manga)"
        kind = (relation.relation_type or "").replace("_", " ").strip().upper()
        label = RELATION_WORDS.get(kind) or (_words(kind) if kind else "Related")
        groups.setdefault(label, []).append(title)
    return (
        _sentences(_label(label, unique(titles, key=normalise_title), "; ") for label, titles in groups.items()) or None
    )


def _song(song: ThemeSong) -> str:
    text = song.title.strip()
    if song.artist:
        text += f" by {song.artist}"
    if song.episodes:
        text += f" (episodes {song.episodes})"
    return text


def franchise_text(e: AnimeEntry) -> str | None:
    trailer_titles = unique(clean(t.title) for t in e.trailers)
    trailers = (
        _label("Trailers", trailer_titles, "; ")
        if trailer_titles
        else (f"Has {len(e.trailers)} trailer{'s' if len(e.trailers) > 1 else ''}." if e.trailers else None)
    )
    return (
        _sentences(
            [
                trailers,
                _label("Opening themes", (_song(s) for s in e.opening_themes), "; "),
                _label("Ending themes", (_song(s) for s in e.ending_themes), "; "),
            ]
        )
        or None
    )


def episode_block(ep: EpisodeDetail) -> str | None:
    """One episode in words, or None when it has nothing beyond its number."""
    names = unique(
        t for t in [ep.title, ep.title_romaji, ep.title_japanese] if t and not _PLACEHOLDER_SYNOPSIS.match(t)
    )
    synopsis = one_line(ep.synopsis)
    if _PLACEHOLDER_SYNOPSIS.match(synopsis) or synopsis in names:
        synopsis = ""
    if not (names or synopsis or ep.filler or ep.recap):
        return None
    number = f"Episode {ep.episode_number}" if ep.episode_number is not None else "Episode"
    if ep.season_number and ep.season_number > 1:
        number = f"Season {ep.season_number} {number.lower()}"
    head = number + (f": {names[0]}" if names else "")
    if len(names) > 1:
        head += f" ({'; '.join(names[1:])})"
    return _sentences(
        [
            end(head),
            f"Aired {when(ep.aired, time=False)}." if when(ep.aired) else None,
            "Filler episode." if ep.filler else None,
            "Recap episode." if ep.recap else None,
            end(synopsis) if synopsis else None,
        ]
    )


def episode_text(e: AnimeEntry) -> str | None:
    blocks = [b for b in (episode_block(ep) for ep in e.episode_details) if b]
    return "\n".join(blocks) or None


def identifiers_text(e: AnimeEntry) -> str | None:
    ids = source_ids(e.sources)
    listed = [f"{PLATFORM_NAMES[key]} {value}" for key, value in ids.items()]
    known_hosts = {found[0] for s in e.sources if (found := platform_id(s))}
    others = [s for s in e.sources if platform_id(s) is None]
    listed += [re.sub(r"^https?://(www\.)?", "", s).split("/")[0] for s in others]
    links = []
    for key, url in e.external_links.items():
        found = platform_id(url)
        if found and found[0] not in known_hosts:
            links.append(f"{PLATFORM_NAMES[found[0]]} {found[1]}")
        elif not found:
            links.append(key if key.startswith("@") else LINK_WORDS.get(key.strip().casefold(), _words(key)))
    return _sentences([_label("Listed on", listed), _label("External links", links)]) or None


TEXT_BUILDERS = {
    V.TITLE: title_text,
    V.CHARACTER: character_text,
    V.GENRE: genre_text,
    V.TECHNICAL: technical_text,
    V.STAFF: staff_text,
    V.REVIEW: review_text,
    V.TEMPORAL: temporal_text,
    V.STREAMING: streaming_text,
    V.RELATED: related_text,
    V.FRANCHISE: franchise_text,
    V.EPISODE: episode_text,
    V.IDENTIFIERS: identifiers_text,
}
assert tuple(TEXT_BUILDERS) == V.TEXT_VECTORS, "one builder per text vector, in order"


# ----------------------------------------------------------------------------- public API
def vector_texts(entry: AnimeEntry) -> dict[str, str]:
    """Text of each text vector that has content, keyed by vector name (empty ones omitted)."""
    out: dict[str, str] = {}
    for name, build in TEXT_BUILDERS.items():
        text = (build(entry) or "").strip()
        if text:
            out[name] = text
    return out


def lexical_text(entry: AnimeEntry) -> str:
    """Words for the BM25 sparse vector: titles, synonyms, synopsis, genres, tags, themes, demographics, character
    names and nicknames, staff, voice actors, studios and producers: the words people name a show by."""
    names: list[str | None] = [entry.title, entry.title_english, entry.title_japanese, *entry.synonyms]
    for c in entry.characters:
        names += [c.name, c.name_native, *c.nicknames]
    staff = entry.staff_data
    if staff:
        names += [m.name for members in staff.production_staff.values() for m in members]
        names += [person(m.name) for members in staff.voice_actors.values() for m in members]
        names += [*entry.studios, *entry.producers]
    names += [person(v.name) for c in entry.characters for v in c.voice_actors]
    themes = [t.name for t in entry.themes]
    return "\n".join(unique([*names, clean(entry.synopsis), *entry.genres, *entry.tags, *themes, *entry.demographics]))


def image_sources(entry: AnimeEntry) -> list[str]:
    """Cover, poster and banner URLs, de-duplicated, covers first."""
    return entry.images.all_urls()


def render_texts(entry: AnimeEntry) -> str:
    """All 13 vectors' inputs for a person to read (``anime-mcp texts``)."""
    texts = vector_texts(entry)
    lines = [f"{entry.title} [{entry.id or '-'}]", ""]
    for name in V.TEXT_VECTORS:
        lines += [f"== {name} ==", texts.get(name, "(no text: the fields it reads are empty)"), ""]
    images = image_sources(entry)
    lines += [f"== {V.IMAGE} ==", *(images or ["(no images)"]), ""]
    lines += [f"== {V.LEXICAL} (sparse) ==", lexical_text(entry)]
    return "\n".join(lines)
