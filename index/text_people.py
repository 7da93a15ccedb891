"""The people texts: characters (names, role, voices, description) and staff (crew by role, studios, cast).

The same voice actor and role reach an entry from its staff data and from its characters, in either
name order ("Hanazawa Kana" / "Kana Hanazawa"): the cast is merged so each is said once.
"""

from __future__ import annotations

from index.schema import AnimeEntry, Character
from index.text_words import _label, _name_key, _sentences, _words, end, one_line, person, unique


def character_block(c: Character) -> str:
    """One character in words: names, role, voice actors, description."""
    native = c.name_native or c.name_kanji
    name = person(c.name)
    head = name + (f" ({native})" if native and native != c.name else "")
    role = (c.role or "").strip().lower()
    head += f", {role} character" if role else ""
    aliases = unique(
        a for a in [c.name, *c.nicknames, *c.name_variations, c.name_kanji] if a and a.strip() not in (name, native)
    )
    voices = [f"{person(v.name)} ({v.language})" if v.language else person(v.name) for v in c.voice_actors]
    return _sentences(
        [
            end(head),
            _label("Also called", aliases),
            f"Gender: {c.gender}." if c.gender else None,
            f"Age: {c.age}." if c.age else None,
            _label("Voiced by", voices),
            end(one_line(c.description)) if one_line(c.description) else None,
        ]
    )


def character_text(e: AnimeEntry) -> str | None:
    blocks = [character_block(c) for c in e.characters if c.name.strip()]
    return "\n".join(blocks) or None


def staff_text(e: AnimeEntry) -> str | None:
    staff = e.staff_data
    parts: list[str | None] = []
    if staff:
        for role, members in staff.production_staff.items():
            names = [
                m.name + (f" ({m.native_name})" if m.native_name and m.native_name != m.name else "")
                for m in members
                if m.name
            ]
            parts.append(_label(_words(role), names))
        parts.append(_label("Studios", (c.name for c in staff.studios)))
        parts.append(_label("Producers", (c.name for c in staff.producers)))
    # language -> actor key -> (actor name, role key -> role); the same person and role come
    # from staff data and from characters, in either name order ("Hanazawa Kana")
    cast: dict[str, dict[str, tuple[str, dict[str, str]]]] = {}

    def add(language: str, actor: str, role: str | None) -> None:
        name = person(actor)
        _, roles = cast.setdefault(_words(language), {}).setdefault(_name_key(name), (name, {}))
        key = _name_key(role or "")
        if role and key and key not in roles and not any(set(key.split()) <= set(k.split()) for k in roles):
            roles[key] = role

    if staff:
        for language, members in staff.voice_actors.items():
            for m in members:
                add(language, m.name, None)
                for role in m.character_assignments:
                    add(language, m.name, role)
    for character in e.characters:
        for actor in character.voice_actors:
            add(actor.language or "unknown language", actor.name, person(character.name))
    for language, actors in cast.items():
        voiced = [f"{name} as {', '.join(roles.values())}" if roles else name for name, roles in actors.values()]
        parts.append(_label(f"Voice actors ({language})", voiced, "; "))
    return _sentences(parts) or None
