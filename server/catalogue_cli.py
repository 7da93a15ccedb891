"""`anime-mcp catalogue download [--to DIR] [--format jsonl|json]`: fetch the latest catalogue release.

stdout gets the downloaded file's path and nothing else, so scripts (and `make catalogue`) can pass
it to `anime-mcp index`; the report goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_catalogue_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("catalogue", help="The whole anime catalogue (anime-offline-database releases).")
    actions = p.add_subparsers(dest="catalogue_command", required=True)
    d = actions.add_parser(
        "download",
        help="Download the latest release, verify it, keep the previous file "
        "(the only command that uses the network for the catalogue).",
    )
    d.add_argument("--to", type=Path, help="Folder to put it in (default: ANIME_MCP_CATALOGUE_DIR).")
    d.add_argument(
        "--format",
        choices=["jsonl", "json"],
        default="jsonl",
        help="anime-offline-database.jsonl (default) or anime-offline-database-minified.json.",
    )


def run_catalogue(args: argparse.Namespace) -> int:
    # index.catalogue (httpx, the importers: ~0.15 s): every `anime-mcp` command imports this module for its parser
    from index.catalogue import CatalogueError, download_catalogue

    try:
        got = download_catalogue(to=args.to, fmt=args.format)
    except CatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    checksum = "sha256 verified" if got.checksum_verified else "no checksum published, size and shape verified"
    if got.unchanged:
        print(f"catalogue {got.release}: {got.path} is already this release ({got.entries} entries)", file=sys.stderr)
    else:
        kept = f"; previous file kept as {got.previous}" if got.previous else ""
        print(
            f"catalogue {got.release}: {got.entries} entries, {got.size / 1e6:.1f} MB, {checksum}{kept}",
            file=sys.stderr,
        )
    print(f"index it with: anime-mcp index {got.path} --prune", file=sys.stderr)
    print(got.path)
    return 0
