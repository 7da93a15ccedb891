"""Build demo/anime_demo.json: the slice `make run` indexes.

The ~300 most popular MyAnimeList entries (by members) plus all 28 fully enriched
entries, as raw entries in our envelope, one entry per line so diffs stay readable.
Deterministic: the same shared files always give the same bytes.

    .venv/bin/python bench/make_demo.py [--top 300] [--out demo/anime_demo.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.importers import iter_raw, parse_entry  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
MAL_FILE = SHARED / "anime_mal_1822.json"
ENRICHED_FILE = SHARED / "enriched_sample_28.json"
DEFAULT_OUT = ROOT / "demo" / "anime_demo.json"
MAX_BYTES = 2 * 1024 * 1024


def _members(raw: dict) -> int:
    stats = (raw.get("statistics") or {}).get("mal") or {}
    return int(stats.get("members") or 0)


def _valid(path: Path) -> list[dict]:
    """Raw entries of a file that import cleanly (a bad one stops the build: the demo must be clean)."""
    out = []
    for item in iter_raw(path):
        parse_entry(item.data)  # raises with the entry named if it does not import
        out.append(item.data)
    return out


def build(top: int = 300) -> tuple[dict, list[dict]]:
    mal = _valid(MAL_FILE)
    popular = sorted(mal, key=lambda e: (-_members(e), str(e.get("id"))))[:top]
    enriched = _valid(ENRICHED_FILE)
    seen = {e["id"] for e in popular}
    entries = popular + [e for e in enriched if e["id"] not in seen]
    head = {
        "license": {"name": "see ../shared/data/README.md (MyAnimeList anime-dataset-2023; anime-mcp-server sample, MIT)"},
        "repository": f"demo slice: the {top} most popular entries of anime_mal_1822.json and all of enriched_sample_28.json",
        "lastUpdate": "2025-07-31",
    }
    return head, entries


def dumps(head: dict, entries: list[dict]) -> str:
    """Envelope with one entry per line."""
    lines = [json.dumps(e, ensure_ascii=False, sort_keys=False, separators=(",", ":")) for e in entries]
    meta = json.dumps(head, ensure_ascii=False)[:-1]  # drop the closing brace, "data" follows
    return meta + ', "data": [\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=300, help="MyAnimeList entries to take, most members first")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    head, entries = build(args.top)
    text = dumps(head, entries)
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        print(f"error: the demo would be {size} bytes (limit {MAX_BYTES}); lower --top", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(entries)} entries, {size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
