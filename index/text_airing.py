"""The airing texts: when an entry aired (season, dates, broadcast slot, schedules) and where it streams."""

from __future__ import annotations

from index.schema import AnimeEntry
from index.text_words import _label, _sentences, clean, describe_mapping, when


def _dated(moments: list[tuple[str, str | None]]) -> str:
    """ "Japan 2024-01-05 ...; dubbed ..." for the moments that have a date ("" when none has)."""
    return _sentences([f"{label} {when(value)}" if when(value) else None for label, value in moments], "; ")


def temporal_text(e: AnimeEntry) -> str | None:
    season = e.season.value.capitalize() if e.season else None
    aired = e.aired_dates
    aired_text = None
    if aired:
        aired_text = clean(aired.string) or _sentences(
            [
                f"from {when(aired.from_)}" if when(aired.from_) else None,
                f"to {when(aired.to)}" if when(aired.to) else None,
            ]
        )
    b = e.broadcast
    broadcast = None
    if b:
        broadcast = clean(b.string) or _sentences(
            [
                f"{b.day.rstrip('s')}s" if b.day else None,
                f"at {b.time}" if b.time else None,
                f"({b.timezone})" if b.timezone else None,
            ]
        )
    schedule = e.broadcast_schedule
    schedule_text = (
        _dated([("Japan", schedule.jpn_time), ("subtitled", schedule.sub_time), ("dubbed", schedule.dub_time)])
        if schedule
        else ""
    )
    premiere = e.premiere_dates
    premiere_text = (
        _dated([("original", premiere.original), ("subtitled", premiere.sub), ("dubbed", premiere.dub)])
        if premiere
        else ""
    )
    delay = describe_mapping(e.delay_information)
    return (
        _sentences(
            [
                f"Season: {season} {e.year}." if season and e.year else (f"Season: {season}." if season else None),
                f"Year: {e.year} ({e.year // 10 * 10}s)." if e.year else None,
                f"Premiere month: {e.month}." if e.month else None,
                f"Aired: {aired_text}." if aired_text else None,
                f"Broadcast: {broadcast}." if broadcast else None,
                f"Broadcast schedule: {schedule_text}." if schedule_text else None,
                f"Premiere dates: {premiere_text}." if premiere_text else None,
                f"Delay information: {delay}." if delay else None,
            ]
        )
        or None
    )


def streaming_text(e: AnimeEntry) -> str | None:
    services = []
    for s in e.streaming_info:
        details = _sentences(
            [
                f"region {s.region}" if s.region else None,
                "free" if s.free else None,
                "premium required" if s.premium_required else None,
                f"subtitles: {', '.join(s.subtitle_languages)}" if s.subtitle_languages else None,
                f"dubbed: {', '.join(s.dub_languages)}" if s.dub_languages else None,
            ],
            "; ",
        )
        services.append(f"{s.platform} ({details})" if details else s.platform)
    return (
        _sentences(
            [
                _label("Streaming on", services, "; "),
                _label("Streaming licenses", e.streaming_licenses),
            ]
        )
        or None
    )
