"""Build demo/anime_demo.json: the slice `make run` indexes (classics, modern hits, enriched entries).

Chosen from ../shared/data/anime_catalogue_24901.json (every title of the 2023 MyAnimeList snapshot)
plus ../shared/data/enriched_sample_28.json, by what each part really has:

- classics: the ``--classics`` full entries (year, studios, synopsis, MAL statistics) with the most
  MyAnimeList members; members exist only for these 1,822 entries (MAL ids 1-2000, mostly before 2009);
- modern: the ``--modern`` catalogue-only entries with a synopsis, TV, movie, ONA or not yet typed
  (airing in 2023, e.g. Frieren), by MyAnimeList score, else the cross-site score. Outside the full
  entries the catalogue has no member counts, year or studios, so score is the one popularity signal
  there; nothing is invented (no year, no studio, no members);
- all 28 fully enriched entries (characters, staff, episodes...).

Limits: at most 5 MB, and first-run indexing within 2 minutes on 2 CPU cores (lite profile; measured
in bench/results/catalogue-indexing.md). Deterministic: the same shared files always give the same
bytes, one entry per line so diffs stay readable.

    .venv/bin/python bench/make_demo.py [--classics 400] [--modern 1100] [--out demo/anime_demo.json]
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
CATALOGUE_FILE = SHARED / "anime_catalogue_24901.json"
ENRICHED_FILE = SHARED / "enriched_sample_28.json"
DEFAULT_OUT = ROOT / "demo" / "anime_demo.json"
MAX_BYTES = 5 * 1024 * 1024
CLASSICS, MODERN = 400, 1100
# Types people ask for by name; specials, OVAs and music videos of a show are found through the show.
MODERN_TYPES = frozenset({"TV", "MOVIE", "ONA", "UNKNOWN"})


def members(raw: dict) -> int:
    return int(((raw.get("statistics") or {}).get("mal") or {}).get("members") or 0)


def score(raw: dict) -> float:
    """MyAnimeList score, else the cross-site arithmetic-geometric mean, else 0."""
    mal = ((raw.get("statistics") or {}).get("mal") or {}).get("score")
    if mal:
        return float(mal)
    return float((raw.get("score") or {}).get("arithmetic_geometric_mean") or 0.0)


def _valid(path: Path) -> list[dict]:
    """Raw entries of a file that import cleanly (a bad one stops the build: the demo must be clean)."""
    out = []
    for item in iter_raw(path):
        parse_entry(item.data)  # raises with the entry named if it does not import
        out.append(item.data)
    return out


def build(classics: int = CLASSICS, modern: int = MODERN) -> tuple[dict, list[dict]]:
    catalogue = _valid(CATALOGUE_FILE)
    full = [e for e in catalogue if members(e) > 0]
    others = [e for e in catalogue if members(e) == 0 and e.get("synopsis") and e.get("type") in MODERN_TYPES]
    top_classics = sorted(full, key=lambda e: (-members(e), str(e["id"])))[:classics]
    top_modern = sorted(others, key=lambda e: (-score(e), str(e["id"])))[:modern]
    enriched = _valid(ENRICHED_FILE)
    chosen = top_classics + top_modern
    seen = {e["id"] for e in chosen}
    entries = chosen + [e for e in enriched if e["id"] not in seen]
    head = {
        "license": {
            "name": "see ../shared/data/README.md (MyAnimeList anime-dataset-2023; anime-offline-database "
            "ids, ODbL-1.0; modb-extension synopses, AGPL-3.0; anime-mcp-server sample, MIT)"
        },
        "repository": f"demo slice: the {classics} full entries with the most MyAnimeList members, the {modern} "
        "best-scored catalogue entries with a synopsis (TV, movie, ONA, untyped) of "
        "anime_catalogue_24901.json, and all of enriched_sample_28.json",
        "lastUpdate": "2024-06-22",
    }
    return head, entries


def dumps(head: dict, entries: list[dict]) -> str:
    """Envelope with one entry per line."""
    lines = [json.dumps(e, ensure_ascii=False, sort_keys=False, separators=(",", ":")) for e in entries]
    meta = json.dumps(head, ensure_ascii=False)[:-1]  # drop the closing brace, "data" follows
    return meta + ', "data": [\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classics", type=int, default=CLASSICS, help="full entries, most MyAnimeList members first")
    parser.add_argument(
        "--modern", type=int, default=MODERN, help="catalogue entries with a synopsis, best score first"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    head, entries = build(args.classics, args.modern)
    text = dumps(head, entries)
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        print(
            f"error: the demo would be {size} bytes (limit {MAX_BYTES}); lower --classics or --modern", file=sys.stderr
        )
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(entries)} entries, {size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
