"""`anime-mcp check`: read every point of an index and say, one line each, what is wrong with it.

Opening checks an index cheaply (the count its last write recorded, one point readable); this reads it
all: every page of points with its payload and vectors, each entry parsed as get_anime would, each point
id mapped back from its entry id, no entry twice, and the count the store reports against the points read
and against the integrity record. The spec comes from the index's own meta record, so the check needs
no model and works whatever the settings say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from index.identity import point_id
from index.payload_fields import ENTRY_KEY
from index.schema import AnimeEntry
from index.settings import StorageSettings
from index.storage.base import CollectionSpec, StoreError, VectorStore
from index.storage.collection import META_OWN_KEYS
from index.storage.edge import EdgeStore
from index.storage.factory import open_store
from index.storage.integrity import read_expected

PAGE = 256
MAX_LISTED = 50  # problems of one kind past this are counted, not listed


@dataclass
class CheckReport:
    points_read: int = 0
    problems: list[str] = field(default_factory=list)
    _omitted: int = 0

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_LISTED:
            self.problems.append(problem)
        else:
            self._omitted += 1

    def lines(self) -> list[str]:
        extra = [f"... and {self._omitted} more problems"] if self._omitted else []
        return self.problems + extra

    @property
    def ok(self) -> bool:
        return not self.problems


def spec_of(meta: dict[str, Any]) -> CollectionSpec:
    """The spec the index was built with, read back from its meta record."""
    own = {k: v for k, v in meta.items() if k not in META_OWN_KEYS}
    return CollectionSpec(text_dim=int(meta["text_dim"]), image_dim=int(meta["image_dim"]), meta=own)


async def check_index(settings: StorageSettings) -> CheckReport:
    """Open the configured index without the check at open, read it all, close it."""
    report = CheckReport()
    store = open_store(settings)
    try:
        meta = await store.meta()
    except StoreError as exc:
        report.add(f"meta record: {exc}")
        return report
    if meta is None:
        report.add("no index here: run `anime-mcp index FILE...` first (or set ANIME_MCP_DATA_DIR)")
        return report
    try:
        spec = spec_of(meta)
    except (KeyError, TypeError, ValueError):
        report.add("meta record: it lacks the vector sizes (text_dim, image_dim); the index is damaged")
        return report
    if isinstance(store, EdgeStore):
        store.verify_on_open = False  # the check reports what opening would refuse, and more
    try:
        await store.open(spec, create=False)
    except StoreError as exc:
        report.add(f"open: {exc}")
        return report
    try:
        await _check_points(store, report)
        if isinstance(store, EdgeStore):
            counted = await store.count()
            expected = read_expected(store.directory)
            if expected is not None and not expected.admits(counted):
                report.add(
                    f"count: the index holds {counted} entries, its last completed write left {expected.describe()}"
                )
    except StoreError as exc:
        report.add(f"read: {exc}")
    finally:
        await store.close()
    return report


async def _check_points(store: VectorStore, report: CheckReport) -> None:
    counted = await store.count()
    seen: dict[str, str] = {}  # entry id -> point id
    offset: str | None = None
    while True:
        try:
            records, offset = await store.scroll(limit=PAGE, offset=offset, with_payload=True)
        except StoreError as exc:
            report.add(f"points after {report.points_read} read: unreadable ({exc}); the rest was not checked")
            return
        if records:
            try:
                await store.retrieve([str(r.id) for r in records], with_payload=False, with_vectors=True)
            except StoreError as exc:
                report.add(f"vectors of {len(records)} points after {report.points_read} read: unreadable ({exc})")
        for record in records:
            _check_point(str(record.id), record.payload or {}, seen, report)
        report.points_read += len(records)
        if offset is None:
            break
    if report.points_read != counted:
        report.add(f"count: the store reports {counted} entries but {report.points_read} could be read")


def _check_point(pid: str, payload: dict[str, Any], seen: dict[str, str], report: CheckReport) -> None:
    anime_id = payload.get("anime_id")
    if not isinstance(anime_id, str) or not anime_id:
        report.add(f"point {pid}: no entry id in its payload")
        return
    if point_id(anime_id) != pid:
        report.add(f"point {pid}: its entry id {anime_id!r} does not map back to it")
    if anime_id in seen:
        report.add(f"entry {anime_id}: stored twice (points {seen[anime_id]} and {pid})")
    seen[anime_id] = pid
    try:
        AnimeEntry.model_validate(payload[ENTRY_KEY])
    except KeyError:
        report.add(f"entry {anime_id}: its stored entry is missing")
    except ValueError as exc:
        report.add(f"entry {anime_id}: its stored entry does not parse ({str(exc).splitlines()[0]})")
