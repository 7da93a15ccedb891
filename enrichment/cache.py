"""Disk cache of API responses, keyed by sha256(method, URL, body).

Why: re-running an enrichment (resuming, re-indexing, tests) must not hit the
public APIs again, and when a source is down an old answer is better than none,
so entries past their TTL are still served on failure, marked ``stale``.
One JSON file per response, written atomically (temp file + rename), sharded by
the first two hex digits so no folder grows huge.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_KEPT_HEADERS = ("content-type", "x-ratelimit-limit", "x-ratelimit-remaining")


def cache_key(method: str, url: str, body: bytes | str | None = None) -> str:
    """Stable key of a request; the body matters for GraphQL POSTs."""
    digest = hashlib.sha256()
    digest.update(method.upper().encode())
    digest.update(b"\n")
    digest.update(url.encode())
    digest.update(b"\n")
    if body:
        digest.update(body.encode() if isinstance(body, str) else body)
    return digest.hexdigest()


@dataclass(slots=True)
class CachedResponse:
    status: int
    text: str
    url: str
    stored_at: float
    headers: dict[str, str] = field(default_factory=dict)

    def age(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.stored_at


class ResponseCache:
    """Files under ``root``; ``ttl`` seconds decide fresh versus stale."""

    def __init__(self, root: Path, ttl: float, *, enabled: bool = True) -> None:
        self.root = Path(root).expanduser()
        self.ttl = float(ttl)
        self.enabled = enabled

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> CachedResponse | None:
        """The stored response (fresh or not) or None; a corrupt file counts as missing."""
        if not self.enabled:
            return None
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return CachedResponse(
                status=int(data["status"]),
                text=data["text"],
                url=data["url"],
                stored_at=float(data["stored_at"]),
                headers=dict(data.get("headers") or {}),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable cache file %s: %s", path, exc)
            return None

    def is_fresh(self, item: CachedResponse, now: float | None = None) -> bool:
        return item.age(now) <= self.ttl

    def put(self, key: str, *, status: int, text: str, url: str, headers: dict[str, str] | None = None) -> None:
        """Store one response; disk errors are logged, never raised (the cache is an optimisation)."""
        if not self.enabled:
            return
        path = self._path(key)
        kept = {k: v for k, v in (headers or {}).items() if k.lower() in _KEPT_HEADERS}
        payload = {"status": status, "url": url, "stored_at": time.time(), "headers": kept, "text": text}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, ensure_ascii=False)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("could not write cache file %s: %s", path, exc)

    def clear(self) -> int:
        """Delete every cached response; returns how many files went."""
        count = 0
        if self.root.is_dir():
            for path in self.root.glob("*/*.json"):
                path.unlink(missing_ok=True)
                count += 1
        return count
