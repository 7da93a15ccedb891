"""Read anime files into AnimeEntry objects, one at a time.

Formats are detected, not declared: our enveloped JSON ``{"data": [...]}``, the
anime-offline-database release JSON (same envelope, camelCase entries), its JSONL
release (metadata on the first line, one entry per line) and a plain JSON list.
JSON is streamed with ijson so a 40,000-entry file is never held twice; a bad entry
becomes an ``ImportResult`` with an error and the rest of the file still imports.
What the offline database's fields mean is mapped in index.offline_db.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeAlias

import ijson
from pydantic import ValidationError

from index.identity import entry_id, source_ids

# title_from_url is re-exported: code and tests import it from here
from index.offline_db import normalise_raw, title_from_url  # noqa: F401
from index.schema import AnimeEntry

log = logging.getLogger(__name__)

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_SNIFF_BYTES = 64 * 1024


class ImportFileError(ValueError):
    """The file as a whole cannot be read (missing, not JSON, unknown shape)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    """One entry of a file: either ``entry`` or ``error`` is set, never both."""

    index: int  # 0-based position among the file's entries
    label: str  # id, title or first source of the raw entry, for messages
    entry: AnimeEntry | None = None
    error: str | None = None
    line: int | None = None  # 1-based line number (JSONL only)
    id_hints: tuple[str, ...] = ()  # ids a rejected entry may be stored under (kept by a prune)

    @property
    def ok(self) -> bool:
        return self.entry is not None


@dataclass(frozen=True, slots=True)
class RawItem:
    """One raw entry as read from the file, before validation."""

    index: int
    data: Any
    line: int | None = None
    error: str | None = None  # set when the item could not even be parsed (bad JSONL line)


# ----------------------------------------------------------------------------- public API
def iter_entries(source: str | Path | IO[bytes]) -> Iterator[ImportResult]:
    """Yield every entry of ``source`` (a path or a binary file) as an ImportResult.

    Entries without an id get the stable one from ``index.identity.entry_id``; an id
    seen twice in one file is reported as an error on its second occurrence.
    """
    name = _name_of(source)
    seen: set[str] = set()
    for item in iter_raw(source):
        label = raw_label(item.data, item.index)
        where = f"entry #{item.index}" + (f" (line {item.line})" if item.line else "")
        if item.error:
            yield ImportResult(item.index, label, error=f"{name}: {where}: {item.error}", line=item.line)
            continue
        try:
            entry = parse_entry(item.data)
        except (ValidationError, ValueError, TypeError) as exc:
            message = f"{name}: {where} {label!r} rejected: {_describe_error(exc)}"
            log.warning(message)
            yield ImportResult(item.index, label, error=message, line=item.line, id_hints=raw_id_hints(item.data))
            continue
        if entry.id in seen:
            message = f"{name}: {where} {label!r} rejected: duplicate id {entry.id!r} (an earlier entry has it)"
            log.warning(message)
            yield ImportResult(item.index, label, error=message, line=item.line)
            continue
        seen.add(entry.id)
        yield ImportResult(item.index, label, entry=entry, line=item.line)


def load_entries(source: str | Path | IO[bytes], *, strict: bool = False) -> list[AnimeEntry]:
    """All valid entries of ``source``; with ``strict`` the first bad entry raises instead."""
    out: list[AnimeEntry] = []
    for result in iter_entries(source):
        if result.entry is not None:
            out.append(result.entry)
        elif strict:
            raise ImportFileError(result.error)
    return out


def count_entries(source: str | Path) -> int:
    """How many entries a file holds (valid or not), for progress bars; reads it once, streaming."""
    return sum(1 for _ in iter_raw(source))


def parse_entry(data: Any) -> AnimeEntry:
    """Validate one raw entry of any supported dialect; the id is always filled in."""
    if not isinstance(data, dict):
        raise TypeError(f"an entry must be a JSON object, got {type(data).__name__}")
    entry = AnimeEntry.model_validate(normalise_raw(data))
    if not entry.id:
        entry.id = entry_id(entry)
    return entry


def raw_label(data: Any, index: int) -> str:
    """A short name for a raw entry in messages: its id, else title, else first source."""
    if isinstance(data, dict):
        for key in ("id", "title"):
            value = data.get(key)
            if isinstance(value, (str, int)) and str(value).strip():
                return str(value).strip()
        sources = data.get("sources")
        if isinstance(sources, list) and sources and isinstance(sources[0], str):
            return sources[0]
    return f"entry #{index}"


def raw_id_hints(data: Any) -> tuple[str, ...]:
    """Ids a raw entry that failed validation may be indexed under: its ``id``, else one per source site."""
    if not isinstance(data, dict):
        return ()
    own = data.get("id")
    if isinstance(own, (str, int)) and not isinstance(own, bool) and str(own).strip():
        return (str(own).strip(),)
    sources = data.get("sources")
    urls = [s for s in sources if isinstance(s, str)] if isinstance(sources, list) else []
    return tuple(f"{key}-{value}" for key, value in source_ids(urls).items())


# ----------------------------------------------------------------------------- reading files
def iter_raw(source: str | Path | IO[bytes]) -> Iterator[RawItem]:
    """Yield the raw entries of a file of any supported format, streaming."""
    name = _name_of(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ImportFileError(f"cannot import {path}: no such file")
        if path.is_dir():
            raise ImportFileError(f"cannot import {path}: it is a folder, give a .json or .jsonl file")
        try:
            raw = path.open("rb")
        except OSError as exc:
            raise ImportFileError(f"cannot import {path}: {exc.strerror or exc}") from exc
        with raw:
            yield from _iter_stream(raw, name, jsonl=path.name.lower().endswith(JSONL_SUFFIXES))
    else:
        yield from _iter_stream(source, name, jsonl=name.lower().endswith(JSONL_SUFFIXES))


# The binary streams read here: the caller's file behind a _Prefixed (bytes already read, then the rest), or a
# GzipFile over one.
_Stream: TypeAlias = "io.RawIOBase | io.BufferedIOBase"


def _name_of(source: str | Path | IO[bytes]) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    return str(getattr(source, "name", "<stream>"))


def _iter_stream(raw: IO[bytes], name: str, *, jsonl: bool) -> Iterator[RawItem]:
    head = raw.read(2)
    if isinstance(head, str):
        raise ImportFileError(f"cannot import {name}: open the file in binary mode ('rb')")
    stream: _Stream = _Prefixed(head, raw)
    if head == b"\x1f\x8b":  # gzip magic
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    head, stream = _skip_space(stream)
    if not head:
        raise ImportFileError(f"cannot import {name}: the file is empty")
    if head not in (b"{", b"["):
        raise ImportFileError(
            f"cannot import {name}: not JSON or JSONL (starts with {head!r}); expected an "
            'anime-offline-database file, an enveloped {"data": [...]} file or a JSON list'
        )
    if not jsonl and head == b"{":
        jsonl, stream = _looks_like_jsonl(stream)
    if jsonl:
        yield from _iter_jsonl(stream, name)
    else:
        yield from _iter_json(stream, name)


def _skip_space(stream: _Stream) -> tuple[bytes, _Stream]:
    """First meaningful byte (after a BOM and whitespace) and a stream that still starts with it."""
    while True:
        chunk = stream.read(1)
        if chunk in (b" ", b"\t", b"\r", b"\n"):
            continue
        if chunk == b"\xef":  # UTF-8 byte order mark
            stream.read(2)
            continue
        return chunk, _Prefixed(chunk, stream)


def _looks_like_jsonl(stream: _Stream) -> tuple[bool, _Stream]:
    """JSONL if the first line is a whole JSON object and the next line starts another one."""
    buf = b""
    while b"\n" not in buf and len(buf) < _SNIFF_BYTES:
        chunk = stream.read(4096)
        if not chunk:
            break
        buf += chunk
    rest = _Prefixed(buf, stream)
    first, sep, after = buf.partition(b"\n")
    if not sep or not after.lstrip().startswith(b"{"):
        return False, rest
    try:
        return isinstance(json.loads(first), dict), rest
    except ValueError:
        return False, rest


def _iter_jsonl(stream: _Stream, name: str) -> Iterator[RawItem]:
    """One entry per line; a metadata first line is skipped, a broken line is reported."""
    index = 0
    # typeshed wants a buffered stream with read1; TextIOWrapper falls back to read(), which _Prefixed provides
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline=None)  # type: ignore[type-var]
    for number, line in enumerate(text, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            yield RawItem(index, None, number, error=f"line is not valid JSON: {exc}")
            index += 1
            continue
        if number == 1 and _is_metadata(data):
            continue
        yield RawItem(index, data, number)
        index += 1


def _iter_json(stream: _Stream, name: str) -> Iterator[RawItem]:
    """Entries of ``{"data": [...]}``, ``[...]`` or lone entry objects, built one at a time."""
    events = ijson.parse(stream, use_float=True, multiple_values=True)
    index = 0
    found_container = False
    try:
        for prefix, event, _value in events:
            if prefix != "":
                continue
            if event == "start_array":
                found_container = True
                for data in _array_items(events, "item"):
                    yield RawItem(index, data)
                    index += 1
            elif event == "start_map":
                top: dict[str, Any] = {}
                for key, data in _top_object(events):
                    if key is None:  # an item of the "data" array
                        found_container = True
                        yield RawItem(index, data)
                        index += 1
                    else:
                        top[key] = data
                if "data" not in top and not _is_metadata(top):
                    found_container = True  # a file (or stream) of lone entry objects
                    yield RawItem(index, top)
                    index += 1
                elif "data" in top and top["data"] is not None:
                    raise ImportFileError(f'cannot import {name}: "data" must be a list of entries')
            else:
                raise ImportFileError(f"cannot import {name}: top-level value is a {event}, not an object or list")
    except ijson.JSONError as exc:
        raise ImportFileError(
            f"cannot import {name}: invalid JSON after {index} entries ({exc}); fix the file or export it again"
        ) from exc
    if not found_container:
        raise ImportFileError(
            f'cannot import {name}: no entries found; expected {{"data": [...]}}, a JSON list '
            "of entries or an anime-offline-database release"
        )


def _top_object(events: Iterator[tuple[str, str, Any]]) -> Iterator[tuple[str | None, Any]]:
    """Walk one top-level object: yield (None, item) per ``data`` item, (key, value) otherwise."""
    for prefix, event, value in events:
        if prefix == "" and event == "end_map":
            return
        if prefix == "" and event == "map_key":
            key = value
            prefix2, event2, value2 = next(events)
            if key == "data" and event2 == "start_array":
                for item in _array_items(events, "data.item"):
                    yield None, item
                yield "data", None
            else:
                yield key, _build(event2, value2, events)


def _array_items(events: Iterator[tuple[str, str, Any]], item_prefix: str) -> Iterator[Any]:
    """Build each element of the array just opened, until it closes."""
    for prefix, event, value in events:
        if prefix != item_prefix and event == "end_array":
            return
        yield _build(event, value, events)


def _build(event: str, value: Any, events: Iterator[tuple[str, str, Any]]) -> Any:
    """Assemble one JSON value starting at ``event`` from the event stream."""
    if event not in ("start_map", "start_array"):
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for _prefix, ev, val in events:
        builder.event(ev, val)
        if ev in ("start_map", "start_array"):
            depth += 1
        elif ev in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                break
    return builder.value


def _is_metadata(data: Any) -> bool:
    """The envelope/first JSONL line: no title or sources, but license/repository-like keys."""
    if not isinstance(data, dict):
        return False
    if "title" in data or "sources" in data:
        return False
    return bool({"license", "repository", "lastUpdate", "$schema", "scoreRange"} & data.keys()) or not data


def _describe_error(exc: Exception) -> str:
    """Pydantic's errors in one line: ``title: Field required; sources: ...``."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err.get("loc", ()))
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}" if loc else msg)
        return "; ".join(parts)
    return str(exc)


class _Prefixed(io.RawIOBase):
    """A binary stream that first returns already-read bytes, then the rest of ``raw``."""

    def __init__(self, prefix: bytes, raw: IO[bytes] | _Stream) -> None:
        self._prefix = prefix
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        if self._prefix:
            n = min(size, len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._raw.read(size)
        n = len(data)
        buffer[:n] = data
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data = self._prefix + self._raw.read()
            self._prefix = b""
            return data
        if self._prefix:
            data = self._prefix[:size]
            self._prefix = self._prefix[size:]
            return data
        return self._raw.read(size)
