"""The `anime-mcp` command: index, serve, texts, stats, search, enrich.

Logs and progress bars go to stderr; on stdio, stdout carries nothing but the protocol.
Each command imports what it runs inside its function: `serve` then loads neither the indexing
nor the enrichment code, and `--help`, `config`, `texts` answer without mcp and qdrant-client.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from pathlib import Path

import anyio

from server.catalogue_cli import add_catalogue_parser, run_catalogue
from server.client_config import add_config_parser, run_config
from server.version import package_version


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for noisy in ("httpx", "httpcore", "sentence_transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _storage(args: argparse.Namespace):
    from index.settings import StorageSettings  # per command (module docstring): pydantic-settings, ~0.1 s

    overrides = {"data_dir": args.data_dir} if getattr(args, "data_dir", None) else {}
    return StorageSettings(**overrides)


def _runtime(args: argparse.Namespace, *, recreate: bool = False, create: bool = True):
    from index.runtime import open_runtime  # qdrant-client, the engine: ~1 s

    return open_runtime(storage=_storage(args), recreate=recreate, create=create)


# ----- index ---------------------------------------------------------------------------------
async def _index(args: argparse.Namespace) -> int:
    # index only; at the top they would add ~0.1 s to `serve`
    from tqdm import tqdm

    from index.importers import count_entries
    from index.ingest import Ingestor

    paths = [Path(p) for p in args.paths]
    for p in paths:
        if not p.is_file():
            print(f"error: {p} is not a file", file=sys.stderr)
            return 2
    runtime = await _runtime(args, recreate=args.recreate)
    try:
        total = sum(count_entries(p) for p in paths)
        ingestor = Ingestor(
            runtime.store,
            runtime.embedder,
            runtime.fetcher,
            batch_size=args.batch_size,
            fetch_images=not args.no_images,
            merge=not getattr(args, "replace", False),
        )
        with tqdm(total=total, unit="entry", file=sys.stderr, dynamic_ncols=True, desc="indexing") as bar:
            summary = await ingestor.ingest_paths(paths, progress=bar.update, prune=getattr(args, "prune", False))
    finally:
        await runtime.close()
    print(f"indexed: {summary.line()}", file=sys.stderr)
    for label, reason in summary.failed[:50]:
        print(f"  failed {label}: {reason}", file=sys.stderr)
    if len(summary.failed) > 50:
        print(f"  ... and {len(summary.failed) - 50} more", file=sys.stderr)
    return 0


# ----- serve ---------------------------------------------------------------------------------
def _serve(args: argparse.Namespace) -> int:
    gc.disable()  # no cyclic GC while imports build what lives as long as the process: ~0.15 s CPU before initialize
    # serve only: mcp, qdrant-client, the tools (~2 s) that other commands never need
    from pydantic import ValidationError

    from index.runtime import open_runtime
    from server.app import build_server
    from server.settings import ServerSettings, TokensFileError, settings_error
    from server.state import AppState
    from server.transports import UnsafeBindError, serve

    overrides = {k: v for k, v in {"transport": args.transport, "host": args.host, "port": args.port}.items() if v}
    try:
        settings = ServerSettings(**overrides)
        storage = _storage(args)
    except ValidationError as exc:
        print(f"error: {settings_error(exc)}", file=sys.stderr)
        return 2

    async def loader():
        return await open_runtime(storage=storage)

    state = AppState(
        loader=loader,
        ready_timeout=settings.model_load_timeout,
        admin_tokens=settings.admin_token_values(),
        index_on_start=list(settings.index_on_start),
        max_concurrent_expensive=settings.max_concurrent_expensive,
        retry_max_seconds=settings.index_retry_max_seconds,
    )
    enrichment = None
    if settings.enrichment_enabled:
        from enrichment.settings import EnrichmentSettings  # off by default

        enrichment = EnrichmentSettings()
    server = build_server(state, enrichment=enrichment)
    gc.freeze()  # start-up objects are never garbage: later collections skip them (~0.2 s CPU to the first answer)
    gc.enable()
    try:
        serve(server, state, settings)
    except (UnsafeBindError, TokensFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        if state.runtime is not None:
            anyio.run(state.close)
    return 0


# ----- texts / stats / search -------------------------------------------------------------------
def _texts(args: argparse.Namespace) -> int:
    # texts only: the importers and text rendering (~0.15 s)
    from index.identity import entry_id
    from index.importers import iter_entries
    from index.texts import render_texts

    wanted = args.anime.strip().lower()
    for result in iter_entries(Path(args.file)):
        e = result.entry
        if e is not None and (entry_id(e).lower() == wanted or e.title.lower() == wanted):
            print(render_texts(e))
            return 0
    print(f"error: no entry {args.anime!r} in {args.file}", file=sys.stderr)
    return 1


async def _stats(args: argparse.Namespace) -> int:
    runtime = await _runtime(args, create=False)
    try:
        print(json.dumps((await runtime.engine.stats()).model_dump(mode="json"), indent=1))
    finally:
        await runtime.close()
    return 0


async def _check(args: argparse.Namespace) -> int:
    from index.storage.check import check_index  # check only: reads the index without the models

    report = await check_index(_storage(args))
    for line in report.lines():
        print(line)
    verdict = "ok" if report.ok else f"{len(report.lines())} problem line(s)"
    print(f"checked {report.points_read} entries: {verdict}", file=sys.stderr)
    return 0 if report.ok else 1


async def _search(args: argparse.Namespace) -> int:
    runtime = await _runtime(args, create=False)
    try:
        page = await runtime.engine.search_text(args.query, limit=args.limit, explain=args.explain)
        print(json.dumps(page.model_dump(mode="json"), indent=1, ensure_ascii=False))
    finally:
        await runtime.close()
    return 0


async def _enrich(args: argparse.Namespace) -> int:
    from enrichment.jobs import run_enrich_command  # enrich only: httpx clients, the sources (~0.25 s)

    summary = await run_enrich_command(
        ids=args.ids,
        file=Path(args.file) if args.file else None,
        sources=args.sources,
        concurrency=args.concurrency,
        output=Path(args.output),
    )
    print(f"enriched: {summary}", file=sys.stderr)
    if args.reindex:
        args.paths, args.recreate, args.no_images = [args.output], False, False
        return await _index(args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anime-mcp", description="Anime search MCP server on Qdrant.")
    parser.add_argument("--log-level", default=os.environ.get("ANIME_MCP_LOG_LEVEL", "INFO"))
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def data_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, help="Folder of the embedded index (ANIME_MCP_DATA_DIR).")

    p = sub.add_parser("index", help="Index anime files (JSON, JSONL, anime-offline-database).")
    p.add_argument("paths", nargs="+")
    p.add_argument("--recreate", action="store_true", help="Drop the collection first (needed after a model change).")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--no-images", action="store_true", help="Do not download images for the image vector.")
    p.add_argument("--prune", action="store_true", help="Delete indexed entries that these files no longer hold.")
    p.add_argument(
        "--replace",
        action="store_true",
        help="Store entries exactly as the files have them (default: keep stored fields they lack).",
    )
    data_dir(p)

    p = sub.add_parser("serve", help="Run the MCP server.")
    p.add_argument(
        "--transport",
        choices=["stdio", "sse", "http"],
        help="stdio (default; one local assistant), http (streamable HTTP at /mcp: the way to host), "
        "or sse (legacy HTTP+SSE at /sse, deprecated by the MCP spec; only for old clients).",
    )
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    data_dir(p)

    p = sub.add_parser("texts", help="Print the 13 vector texts of one entry of a file.")
    p.add_argument("anime", help="Entry id or exact title.")
    p.add_argument("--file", required=True)

    sub.add_parser("settings", help="Print every setting (environment variable), its default and meaning.")

    p = sub.add_parser("stats", help="Print index statistics.")
    data_dir(p)

    p = sub.add_parser("check", help="Read every entry of the index; print one line per problem (exit 1 if any).")
    data_dir(p)

    p = sub.add_parser("search", help="Search from the command line (same engine as the tools).")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--explain", action="store_true")
    data_dir(p)

    p = sub.add_parser("enrich", help="Enrich entries from public sources (network).")
    p.add_argument("--ids", nargs="*", help="MyAnimeList ids.")
    p.add_argument("--file", help="A file of entries to enrich.")
    p.add_argument("--sources", nargs="*", help="jikan anilist kitsu anidb animeschedule (default: all).")
    p.add_argument(
        "--concurrency", type=int, help="Entries enriched at once (default: ANIME_MCP_ENRICHMENT_CONCURRENCY, 2)."
    )
    p.add_argument("--output", default="enriched.json")
    p.add_argument("--reindex", action="store_true", help="Update the index with the enriched entries.")
    p.add_argument("--batch-size", type=int, default=64)
    data_dir(p)

    add_catalogue_parser(sub)
    add_config_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.log_level)
    if args.command == "serve":
        return _serve(args)
    if args.command == "texts":
        return _texts(args)
    if args.command == "catalogue":
        return run_catalogue(args)
    if args.command == "config":
        return run_config(args)
    if args.command == "settings":
        from server.settings_doc import settings_markdown  # every settings class: ~0.2 s, for this command only

        print(settings_markdown())
        return 0
    handler = {"index": _index, "stats": _stats, "check": _check, "search": _search, "enrich": _enrich}[args.command]
    try:
        return anyio.run(handler, args)
    except Exception as exc:  # a clear one-line error, the traceback only at DEBUG
        logging.getLogger(__name__).debug("command failed", exc_info=True)  # loggers are named by module
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
