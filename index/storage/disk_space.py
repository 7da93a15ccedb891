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
from pathlib import Path

from index.storage.base import DiskFullError

MIB = 1024 * 1024
#: A write-ahead log segment is a 32 MiB sparse map, and opening the shard may start a new one; twice that
#: covers the open and the log's growth through the first writes.
OPEN_RESERVE = 64 * MIB
#: Disk growth per point written, upper bound: the demo index (1,528 entries, 13 dense vectors of 384 floats,
#: payloads of ~3 kB) uses ~55 kB per entry optimized; the log holds each point once more until it is
#: truncated. Measured in bench/faults.py.
BYTES_PER_POINT = 128 * 1024


def disk_bytes(path: Path) -> int:
    """Blocks actually used under ``path`` (the engine's files are sparse: their sizes say little)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:
                continue
            blocks = getattr(st, "st_blocks", None)
            total += blocks * 512 if blocks is not None else st.st_size
    return total


def free_bytes(directory: Path) -> int:
    """Free space on the file system that holds (or will hold) ``directory``."""
    path = Path(directory)
    while not path.exists() and path.parent != path:
        path = path.parent
    return shutil.disk_usage(path).free


def require_free(directory: Path, needed: int, doing: str) -> None:
    """DiskFullError unless at least ``needed`` bytes (plus the log's reserve) are free for ``doing``."""
    free = free_bytes(directory)
    if free < needed + OPEN_RESERVE:
        raise DiskFullError(
            f"not enough free disk space to {doing}: {free / MIB:.0f} MiB free where about "
            f"{(needed + OPEN_RESERVE) / MIB:.0f} MiB are needed, on the disk holding the index at {directory}. "
            "Nothing indexed is lost: free space (or set ANIME_MCP_DATA_DIR to a larger disk), then run it again"
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
