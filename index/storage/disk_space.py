"""Free space before the embedded index writes, and a full disk turned into one clear line.

The engine keeps its files as sparse memory maps (write-ahead log segments, vector chunks, payload pages)
whose pages get their blocks only when first written: on a full disk that write is a SIGBUS that kills
the process with no message (exit 135), even for `stats`, which opens the log. A signal cannot be turned
into an error afterwards, so the store checks free space before anything that may grow those maps:
opening, each write (by an estimate per point) and each optimize (which writes a segment anew before it
drops the old one); and it reads the plain ENOSPC of an ordinary write as the same DiskFullError.
Nothing already written is lost: every earlier write was flushed before it returned.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from index.storage.base import DiskFullError

MIB = 1024 * 1024
#: A write-ahead log segment is a 32 MiB sparse map, and opening the shard may start a new one; twice that
#: covers the open and the log's growth through the first writes.
OPEN_RESERVE = 64 * MIB
#: Disk growth per point written, an upper bound: 176 demo entries (13 dense vectors of 384 floats, payloads of a
#: few kB) took 46 kB each on ext4, log and fixed files included (bench/faults.py); long texts take more.
BYTES_PER_POINT = 128 * 1024
#: File systems that keep files in memory: there, merely reading a hole of a memory-mapped file allocates it,
#: so the engine's sparse maps (761 MiB apparent for a fresh shard, 3 MiB on disk) take their whole size as the
#: shard opens and reads them: a 50 MB tmpfs died in `stats`, and a fresh shard took 149 MiB on creation.
MEMORY_FILE_SYSTEMS = frozenset({"tmpfs", "ramfs"})
FRESH_SHARD_BYTES = 761 * MIB  # apparent size of an empty shard (the engine's fixed-size maps)


def file_system_type(path: Path) -> str:
    """The type of the file system holding ``path`` from /proc/mounts ("" where unknown: not Linux)."""
    try:
        target = Path(path).resolve()
        best, kind = "", ""
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                parts = line.split()
                if len(parts) < 3:
                    continue
                point = parts[1].replace("\\040", " ")
                if (target == Path(point) or Path(point) in target.parents) and len(point) > len(best):
                    best, kind = point, parts[2]
        return kind
    except OSError:
        return ""


def _file_stats(path: Path) -> Iterator[os.stat_result]:
    """The stat of every file under ``path`` (one that vanishes meanwhile is skipped)."""
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                yield os.stat(os.path.join(root, name))
            except OSError:
                continue


def _allocated(st: os.stat_result) -> int:
    """Bytes the file system gave the file (its size where st_blocks is unknown: not POSIX)."""
    blocks = getattr(st, "st_blocks", None)
    return blocks * 512 if blocks is not None else st.st_size


def holes(path: Path) -> int:
    """Bytes of ``path``'s files that are not allocated yet (apparent size minus blocks)."""
    return sum(max(0, st.st_size - _allocated(st)) for st in _file_stats(path))


def reserve(directory: Path) -> int:
    """What the engine may allocate beyond the data it is given: the log's reserve, and on a file system
    that keeps files in memory every hole of its maps (or a fresh shard's whole size)."""
    if file_system_type(_existing(directory)) not in MEMORY_FILE_SYSTEMS:
        return OPEN_RESERVE
    shard = Path(directory) / "shard"
    return OPEN_RESERVE + (holes(shard) if shard.is_dir() and any(shard.iterdir()) else FRESH_SHARD_BYTES)


def _existing(path: Path) -> Path:
    path = Path(path)
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def disk_bytes(path: Path) -> int:
    """Blocks actually used under ``path`` (the engine's files are sparse: their sizes say little)."""
    return sum(_allocated(st) for st in _file_stats(path))


def free_bytes(directory: Path) -> int:
    """Free space on the file system that holds (or will hold) ``directory``."""
    return shutil.disk_usage(_existing(directory)).free


def require_free(directory: Path, needed: int, doing: str) -> None:
    """DiskFullError unless ``needed`` bytes plus the engine's reserve (see ``reserve``) are free for ``doing``."""
    free = free_bytes(directory)
    if free >= needed + OPEN_RESERVE:  # the common case decided without walking the shard's files
        total = needed + reserve(directory)
        if free >= total:
            return
    else:
        total = needed + OPEN_RESERVE
    raise DiskFullError(
        f"not enough free disk space to {doing}: {free / MIB:.0f} MiB free where about {total / MIB:.0f} MiB are "
        f"needed, on the disk holding the index at {directory}. Nothing indexed is lost: free space (or set "
        "ANIME_MCP_DATA_DIR to a larger disk), then run it again"
    )


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC as an OSError, or as the text of an engine error (the engine raises plain Exception)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc)
    return "No space left on device" in text or "os error 28" in text


def disk_full(directory: Path, doing: str) -> DiskFullError:
    return DiskFullError(
        f"the disk holding the index at {directory} filled up while trying to {doing}. Nothing indexed before "
        "is lost: free space (or set ANIME_MCP_DATA_DIR to a larger disk), then run it again"
    )
