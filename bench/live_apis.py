"""Live check of the public APIs behind where_to_watch, airing_schedule, identify_scene and
recommend_anime(from_list): calls the real AniList, Kitsu and trace.moe for a few titles and says, per
call, whether the answer still has the documented shape our readers expect (enrichment/live_parse.py).

Runs only when asked, on a machine with internet (tests never call it):

    .venv/bin/python -m bench.live_apis                      # AniList + Kitsu for Cowboy Bebop, Evangelion, FMA:B
    .venv/bin/python -m bench.live_apis --anilist-user NAME --kitsu-user NAME --image screenshot.jpg

Writes bench/results/live-apis.md and .json. Exit status 1 when a call failed or an answer lost its shape.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

from enrichment.live import LiveApis
from enrichment.settings import EnrichmentSettings

RESULTS = Path(__file__).parent / "results"
TITLES = {1: "Cowboy Bebop", 30: "Neon Genesis Evangelion", 5114: "Fullmetal Alchemist: Brotherhood"}


async def check(name: str, call: Any, expect: Any) -> dict[str, Any]:
    """Run one call; ``expect(result)`` says whether the answer has what the tools read."""
    started = time.perf_counter()
    try:
        result = await call
        ok, detail = bool(expect(result)), summary(result)
    except Exception as exc:  # a live check reports every failure and goes on
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    row = {"check": name, "ok": ok, "ms": round((time.perf_counter() - started) * 1000), "detail": detail[:300]}
    print(f"{'ok  ' if ok else 'FAIL'} {name} ({row['ms']} ms): {row['detail']}", file=sys.stderr)
    return row


def summary(result: Any) -> str:
    if isinstance(result, tuple):
        return "; ".join(summary(r) for r in result)
    if isinstance(result, list):
        return f"{len(result)} items" + (f", first: {result[0]}" if result else "")
    return str(result)


def jpeg(path: str) -> bytes:
    from PIL import Image

    with Image.open(path) as image:
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=90)
        return out.getvalue()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anilist-user", help="A public AniList user whose list to read.")
    parser.add_argument("--kitsu-user", help="A public Kitsu user (profile slug) whose library to read.")
    parser.add_argument("--image", help="A screenshot file to send to trace.moe (one of its monthly searches).")
    args = parser.parse_args()

    settings = EnrichmentSettings(live_apis_enabled=True, cache_enabled=False)
    live = LiveApis(settings)
    rows = []
    try:
        for mal, title in TITLES.items():
            rows.append(await check(f"AniList links: {title}", live.anilist_links(mal, None), lambda r: r))
            rows.append(await check(f"Kitsu links: {title}", live.kitsu_links(mal, None), lambda r: True))
            rows.append(await check(f"AniList airing: {title}", live.airing(mal, None), lambda r: r[0]))
        now = int(time.time())
        rows.append(await check("AniList schedule: next 24 h", live.schedule(now, now + 86400, pages=1), bool))
        if args.anilist_user:
            rows.append(await check("AniList list", live.user_list("anilist", args.anilist_user), bool))
        if args.kitsu_user:
            rows.append(await check("Kitsu library", live.user_list("kitsu", args.kitsu_user), bool))
        if args.image:
            rows.append(await check("trace.moe search", live.identify(jpeg(args.image)), bool))
    finally:
        await live.aclose()

    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (RESULTS / "live-apis.json").write_text(json.dumps({"when": stamp, "checks": rows}, indent=2) + "\n")
    lines = [f"# Live API check ({stamp})", "", "| check | ok | ms | detail |", "| --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['check']} | {'yes' if r['ok'] else 'NO'} | {r['ms']} | {r['detail'].replace('|', '/')} |")
    (RESULTS / "live-apis.md").write_text("\n".join(lines) + "\n")
    failed = [r for r in rows if not r["ok"]]
    print(f"{len(rows) - len(failed)}/{len(rows)} checks passed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
