"""What an embedded index should hold, recorded with every completed write and checked when it opens.

A truncated or lost shard file can leave an index that opens without complaint yet holds a fraction of
its entries (a truncated id tracker: 56 of 1,528), and a search would answer from it as if it were whole.
So the store keeps, in its own file beside the shard, the number of points its last completed write left
and the format of the record; a write that may change that number first records the range it may end in
(a process killed mid-write leaves a count inside it). Opening compares the shard's exact count, which
costs well under a millisecond, with the record: outside the range, the index is damaged.

The record is apart from ``meta.json`` (the models and dimensions, written once when the index is made)
because it changes with every write; both are replaced atomically (temporary file + rename).
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path

from index.storage.base import DiskFullError, IndexDamagedError, StoreError

INTEGRITY_FILE = "integrity.json"
#: The record's format; a newer one (an index written by a newer anime-mcp) is not second-guessed.
INTEGRITY_FORMAT = 1
REBUILD_ADVICE = "rebuild it with `anime-mcp index FILE... --recreate`"


@dataclass(frozen=True)
class Expected:
    """The number of points the index may hold: one number after a completed write, a range during one."""

    points_min: int
    points_max: int

    @classmethod
    def exactly(cls, points: int) -> Expected:
        return cls(points, points)

    def admits(self, points: int) -> bool:
        return self.points_min <= points <= self.points_max

    def describe(self) -> str:
        if self.points_min == self.points_max:
            return f"{self.points_min}"
        return f"between {self.points_min} and {self.points_max}"


def read_expected(directory: Path) -> Expected | None:
    """The recorded expectation, or None when there is none to check (an index made before records, or a
    record of a newer format). An unreadable record is itself damage."""
    path = directory / INTEGRITY_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexDamagedError(
            f"the index at {directory} is damaged: its integrity record cannot be read ({exc}); "
            f"`anime-mcp check` lists what else is wrong; {REBUILD_ADVICE}"
        ) from exc
    try:
        if int(record.get("format", 0)) > INTEGRITY_FORMAT:
            return None
        return Expected(int(record["points_min"]), int(record["points_max"]))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise IndexDamagedError(
            f"the index at {directory} is damaged: its integrity record is malformed; {REBUILD_ADVICE}"
        ) from exc


def write_expected(directory: Path, expected: Expected) -> None:
    """Replace the record atomically; a full disk is a DiskFullError, the old record stays."""
    path = directory / INTEGRITY_FILE
    tmp = path.with_name(INTEGRITY_FILE + ".tmp")
    record = {"format": INTEGRITY_FORMAT, "points_min": expected.points_min, "points_max": expected.points_max}
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(
                f"the disk holding the index at {directory} is full; nothing indexed is lost: free space, "
                "then run the command again"
            ) from exc
        raise StoreError(
            f"cannot write the integrity record of the index at {directory}: {exc.strerror or exc}"
        ) from exc


def damaged(directory: Path, points: int, expected: Expected) -> IndexDamagedError:
    """The error for an index whose count is outside what its last write recorded."""
    return IndexDamagedError(
        f"the index at {directory} is damaged: it holds {points} entries where its last completed write "
        f"left {expected.describe()} (a file of it was truncated or lost); `anime-mcp check` lists the "
        f"problems; {REBUILD_ADVICE}"
    )
