"""What an assistant pays to know the server: the size of `tools/list` (and `prompts/list`) in compact JSON.

Budget (issue 20): the whole `tools/list` result at most 36,000 characters, its model-facing part (each tool's
name, description and input schema: what a client puts in the model's context) at most 16,000. Sizes are
deterministic (no index, no model: listing needs neither), so a test asserts the budget too
(tests/tools/test_tool_list.py).

The server is listed in process through the SDK's client in both protocol eras (2025-11-25 and 2026-07-28), with
image search on (the largest list: its two tools are listed only when image search can run) and off, and with the
enrichment tools offered. Prints totals and per-tool sizes; writes bench/results/tool-list-size.md and .json.

    .venv/bin/python -m bench.tool_list_size
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
TOTAL_BUDGET = 36_000
MODEL_BUDGET = 16_000
ERAS = {"legacy": "2025-11-25", "auto": "2026-07-28"}


def compact(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def model_facing(tool: dict[str, Any]) -> dict[str, Any]:
    """What a client hands the model for one tool."""
    return {k: tool[k] for k in ("name", "description", "inputSchema") if k in tool}


async def list_everything(images: bool, enrichment: bool, mode: str) -> dict[str, Any]:
    """The wire form of tools/list and prompts/list for one configuration."""
    from mcp import Client

    from server.app import build_server
    from server.state import AppState

    async def no_index():  # listing needs no index; a loaded one only says whether image search runs
        raise RuntimeError("not needed")

    state = AppState(loader=no_index)
    if images:  # what a loaded runtime whose image model is ready looks like to the listing
        state.runtime = SimpleNamespace(embedder=SimpleNamespace(image_status="ready"))  # type: ignore[assignment]
    settings = None
    if enrichment:
        from enrichment.settings import EnrichmentSettings

        settings = EnrichmentSettings(_env_file=None)
    async with Client(build_server(state, enrichment=settings), mode=mode) as client:
        tools = (await client.list_tools()).model_dump(mode="json", by_alias=True, exclude_none=True)
        prompts = (await client.list_prompts()).model_dump(mode="json", by_alias=True, exclude_none=True)
        era = client.protocol_version
    return {"era": era, "tools": tools, "prompts": prompts}


def measure(listing: dict[str, Any]) -> dict[str, Any]:
    tools = listing["tools"]["tools"]
    return {
        "era": listing["era"],
        "tools": len(tools),
        "tools_list_chars": compact(listing["tools"]),
        "model_facing_chars": compact([model_facing(t) for t in tools]),
        "prompts_list_chars": compact(listing["prompts"]),
        "per_tool": {
            t["name"]: {
                "description": len(t.get("description") or ""),
                "input_schema": compact(t.get("inputSchema", {})),
                "output_schema": compact(t.get("outputSchema", {})) if "outputSchema" in t else 0,
                "icons": compact(t["icons"]) if "icons" in t else 0,
                "total": compact(t),
            }
            for t in tools
        },
    }


async def run() -> dict[str, Any]:
    configs = {
        "images on": (True, False),
        "images off": (False, False),
        "images on + enrichment": (True, True),
    }
    out: dict[str, Any] = {}
    for label, (images, enrichment) in configs.items():
        for mode in ERAS:
            out[f"{label}, {ERAS[mode]}"] = measure(await list_everything(images, enrichment, mode))
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# tools/list size",
        "",
        f"Compact JSON characters (`json.dumps(separators=(',', ':'))`), in-process SDK client. Budget: tools/list "
        f"<= {TOTAL_BUDGET:,}, model-facing part (name, description, input schema) <= {MODEL_BUDGET:,}. "
        "Before issue 20: 73,059 and 28,912 (8 tools, 2025-11-25).",
        "",
        "`.venv/bin/python -m bench.tool_list_size`",
        "",
        "| configuration | tools | tools/list | model-facing | prompts/list | within budget |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, r in results.items():
        ok = r["tools_list_chars"] <= TOTAL_BUDGET and r["model_facing_chars"] <= MODEL_BUDGET
        lines.append(
            f"| {label} | {r['tools']} | {r['tools_list_chars']:,} | {r['model_facing_chars']:,} | "
            f"{r['prompts_list_chars']:,} | {'yes' if ok else 'no'} |"
        )
    widest = max(results.values(), key=lambda r: r["tools"])
    lines += [
        "",
        f"Per tool ({widest['era']}, every tool listed):",
        "",
        "| tool | description | input schema | output schema | icons | total |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, t in sorted(widest["per_tool"].items()):
        lines.append(
            f"| {name} | {t['description']:,} | {t['input_schema']:,} | {t['output_schema']:,} | {t['icons']:,} | "
            f"{t['total']:,} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    import logging

    logging.disable(logging.ERROR)  # the stand-in loader's failure is expected
    results = anyio.run(run)
    for label, r in results.items():
        print(
            f"{label:40s} tools {r['tools']:2d}  tools/list {r['tools_list_chars']:7,d}  "
            f"model-facing {r['model_facing_chars']:7,d}  prompts/list {r['prompts_list_chars']:6,d}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tool-list-size.json").write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / "tool-list-size.md").write_text(markdown(results))
    print(f"wrote {RESULTS / 'tool-list-size.md'}")


if __name__ == "__main__":
    main()
