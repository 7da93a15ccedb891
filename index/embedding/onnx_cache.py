"""Where the ONNX export of a text model lives on disk, keyed by the model's identity; no torch here.

An export belongs to one model folder and the exact bytes of its files (weights, tokenizer, pooling
config): the key hashes the folder's path and the SHA-256 of every file in it, plus the token window
and this export format's version. Hashing 90 MB (MiniLM) costs ~0.13 s and bge-m3's 2.2 GB ~3 s, so
each file's hash is remembered against its size and modification time in `hashes.json`: a start costs a
few `stat` calls, and a changed file is hashed again (and gets a new export).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

#: bump when the export's layout or meaning changes: older exports are then ignored
EXPORT_FORMAT = 1
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "meta.json"
#: written instead of an export when the model cannot be exported faithfully: not retried on every start
FAILED_FILE = "failed.json"
_HASHES_FILE = "hashes.json"


def local_model_dir(name_or_path: str) -> Path | None:
    """The folder holding a sentence-transformers model: the path itself, or a hub name's snapshot in the
    local Hugging Face cache (never downloaded here); None when neither exists."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path.resolve()
    if name_or_path.count("/") != 1 or path.exists():
        return None
    # huggingface_hub (~0.2 s): only for a model named by its hub id
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(name_or_path, "modules.json")
    return Path(found).parent.resolve() if isinstance(found, str) else None


def _file_hashes(folder: Path, cache_dir: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder` (relative name -> hex), remembered by (size, mtime)."""
    memo_path = cache_dir / _HASHES_FILE
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    out: dict[str, str] = {}
    changed = False
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts):
        stat = path.stat()
        key = str(path.resolve())
        stamp = [stat.st_size, stat.st_mtime_ns]
        known = memo.get(key)
        if not (isinstance(known, dict) and known.get("stamp") == stamp):
            with path.open("rb") as f:
                known = {"stamp": stamp, "sha256": hashlib.file_digest(f, "sha256").hexdigest()}
            memo[key] = known
            changed = True
        out[path.relative_to(folder).as_posix()] = known["sha256"]
    if changed:
        write_json(memo_path, memo)
    return out


def model_identity(folder: Path, cache_dir: Path, max_seq_length: int | None) -> tuple[str, dict[str, str]]:
    """(key, file hashes): the key names the export folder of this model, these bytes and this window."""
    hashes = _file_hashes(folder, cache_dir)
    blob = json.dumps([EXPORT_FORMAT, str(folder), max_seq_length, hashes], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32], hashes


def export_folder(cache_dir: Path, name_or_path: str, max_seq_length: int | None) -> Path | None:
    """The folder an export of this model goes to (it may not exist yet); None when the model is not on
    this machine as files (then there is nothing to export from)."""
    folder = local_model_dir(name_or_path)
    if folder is None:
        return None
    cache_dir = Path(cache_dir).expanduser()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        key, _ = model_identity(folder, cache_dir, max_seq_length)
    except OSError as exc:
        logger.warning("ONNX export cache %s unusable (%s): queries use torch", cache_dir, exc)
        return None
    return cache_dir / key


def is_complete(folder: Path) -> bool:
    """Whether `folder` holds a finished export (written last, so a crash mid-export leaves none)."""
    return (folder / META_FILE).is_file() and (folder / MODEL_FILE).is_file() and (folder / TOKENIZER_FILE).is_file()


def failed_reason(folder: Path) -> str | None:
    try:
        return str(json.loads((folder / FAILED_FILE).read_text(encoding="utf-8")).get("reason"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: object) -> None:
    """Write atomically: readers in other processes see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
