"""Protocol fuzz over real HTTP (issue 21): thousands of tool calls drawn from each tool's input schema and
mutations of it (bench/fuzz_cases.py), then malformed requests (deep nesting, wrong shapes, invalid UTF-8,
lone surrogates, oversized and truncated bodies, huge headers, random JSON), against `anime-mcp serve
--transport http` on a copy of the benchmark index. Counts cases, 5xx answers, "failed unexpectedly" /
traceback / path leaks, refusals without a JSON-RPC body, hangs (no answer in 30 s), and checks the server
is alive and healthy at the end. Writes bench/results/fuzz.md and fuzz.json.

    make .bench-index/.built
    .venv/bin/python -m bench.fuzz [--calls 3000] [--index .bench-index]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bench.fuzz_cases import encodable, generate, verdict
from bench.http_run import ROOT, message, open_session, rss_mb, server_on_copy

RESULTS = ROOT / "bench" / "results"
HANG_S = 30.0


def malformed_bodies() -> list[tuple[str, bytes]]:
    """(label, raw body) of requests no client library would send."""
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call"}
    fixed: list[tuple[str, Any]] = [
        ("array nested 1,000 deep", "[" * 1000 + "]" * 1000),
        ("object nested 1,000 deep", '{"a":' * 1000 + "1" + "}" * 1000),
        ("200,000 open brackets", "[" * 200_000),
        ("tool name is a list", {**call, "params": {"name": ["enrich_anime"], "arguments": {}}}),
        ("tool name is an object", {**call, "params": {"name": {"a": 1}, "arguments": {}}}),
        ("tool name is a number", {**call, "params": {"name": 5, "arguments": {}}}),
        ("params is a list", {**call, "params": [1, 2]}),
        ("params is null", {**call, "params": None}),
        ("arguments is a string", {**call, "params": {"name": "get_anime", "arguments": "mal-1"}}),
        ("method is null", {"jsonrpc": "2.0", "id": 1, "method": None}),
        ("unknown method", {"jsonrpc": "2.0", "id": 1, "method": "tools/explode"}),
        ("no jsonrpc field", {"id": 1, "method": "ping"}),
        ("id is an object", {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}),
        ("empty batch", []),
        ("batch of junk", [1, "x", None, {}]),
        (
            "batch of 200 tool calls",
            [{**call, "id": i, "params": {"name": "get_anime", "arguments": {}}} for i in range(200)],
        ),
        ("not JSON", "{nope"),
        ("empty body", ""),
        ("JSON null", "null"),
        ("invalid UTF-8", b"\xff\xfe\xfd"),
        (
            "lone surrogate escape",
            '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_anime","arguments":{"anime":"\\ud800"}}}',
        ),
        ("NUL in a string", {**call, "params": {"name": "get_anime", "arguments": {"anime": "mal-1\u0000"}}}),
        ("5 MB of JSON", '{"x":"' + "a" * 5_000_000 + '"}'),
    ]
    out = []
    for label, body in fixed:
        if isinstance(body, bytes):
            out.append((label, body))
        elif isinstance(body, str):
            out.append((label, body.encode("utf-8", "surrogatepass")))
        else:
            out.append((label, json.dumps(body).encode()))
    return out


def random_bodies(count: int) -> list[tuple[str, bytes]]:
    """Random JSON values, bare and inside a JSON-RPC envelope with a real or made-up method."""
    values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
        max_leaves=20,
    )
    methods = st.sampled_from(["tools/call", "tools/list", "resources/read", "prompts/get", "completion/complete", "x"])
    bodies: list[tuple[str, bytes]] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        if data.draw(st.booleans()):
            body: Any = data.draw(values)
        else:
            body = {
                "jsonrpc": "2.0",
                "id": data.draw(st.integers(0, 10**6)),
                "method": data.draw(methods),
                "params": data.draw(values),
            }
        bodies.append(("random JSON", json.dumps(body).encode()))

    draw()
    return bodies


async def truncated_body(base: str) -> str | None:
    """A declared 5 MB body with 10 bytes sent: the answer must come at once, not after a timeout."""
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    async with await anyio.connect_tcp(host, int(port)) as s:
        await s.send(
            b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b'accept: application/json, text/event-stream\r\ncontent-length: 5242880\r\n\r\n{"jsonrpc"'
        )
        answer = b""
        with anyio.move_on_after(10):
            try:
                while not answer.endswith(b"}"):
                    answer += await s.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                pass
    took = time.monotonic() - started
    if not answer.startswith(b"HTTP/1.1 413") or took > 2:
        return f"declared 5 MB, sent 10 bytes: {answer[:40]!r} after {took:.1f} s"
    return None


async def run(index: Path, calls: int, raw: int) -> dict[str, Any]:
    env = {"ANIME_MCP_RATE_LIMIT_PER_MINUTE": "0", "ANIME_MCP_LOG_LEVEL": "WARNING"}
    problems: list[str] = []
    statuses: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    hangs = 0
    started = time.monotonic()
    with server_on_copy(index, **env) as (base, server):
        rss_start = rss_mb(server)
        async with httpx.AsyncClient(timeout=HANG_S) as client:
            headers = await open_session(client, base)
            listed = message(
                await client.post(
                    f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=headers
                )
            )
            tools = (listed or {})["result"]["tools"]
            cases = [c for c in generate(tools, calls) if encodable(c[1])]
            for i, (name, args, kind) in enumerate(cases):
                body = {
                    "jsonrpc": "2.0",
                    "id": 10 + i,
                    "method": "tools/call",
                    "params": {"name": name, "arguments": args},
                }
                try:
                    response = await client.post(f"{base}/mcp", json=body, headers=headers)
                except httpx.TimeoutException:
                    hangs += 1
                    problems.append(f"{name} {kind} {json.dumps(args)[:160]}: no answer in {HANG_S:g} s")
                    continue
                statuses[response.status_code] += 1
                kinds[kind] += 1
                problem = verdict(response.status_code, response.text)
                if problem:
                    problems.append(f"{name} {kind} {json.dumps(args)[:160]}: {problem}")
            bodies = malformed_bodies() + random_bodies(raw)
            for label, content in bodies:
                try:
                    response = await client.post(f"{base}/mcp", content=content, headers=headers)
                except httpx.TimeoutException:
                    hangs += 1
                    problems.append(f"{label}: no answer in {HANG_S:g} s")
                    continue
                statuses[response.status_code] += 1
                kinds["malformed"] += 1
                problem = verdict(response.status_code, response.text)
                if problem is None and response.status_code >= 400 and "error" not in (message(response) or {}):
                    problem = f"HTTP {response.status_code} without a JSON-RPC error body"
                if problem:
                    problems.append(f"{label}: {problem}")
            truncated = await truncated_body(base)
            kinds["truncated body"] += 1
            if truncated:
                problems.append(truncated)
            health = (await client.get(f"{base}/health")).json()
        alive = server.is_running() and health.get("status") == "ok"
        rss_end = rss_mb(server)
    return {
        "cases": sum(kinds.values()),
        "by_kind": dict(kinds),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "http_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "problems": problems,
        "hangs": hangs,
        "server_alive_and_healthy": alive,
        "rss_mb": [round(rss_start, 1), round(rss_end, 1)],
        "seconds": round(time.monotonic() - started, 1),
    }


def markdown(result: dict[str, Any], command: str) -> str:
    lines = [
        "# Protocol fuzz (bench/fuzz.py)",
        "",
        f"Command: `{command}` (streamable HTTP on 127.0.0.1, the benchmark index, rate limit off).",
        "",
        "| cases | 5xx | unacceptable answers | hangs | alive and healthy at the end | RSS start -> end | time |",
        "|---|---|---|---|---|---|---|",
        f"| {result['cases']} | {result['http_5xx']} | {len(result['problems'])} | {result['hangs']} | "
        f"{'yes' if result['server_alive_and_healthy'] else 'NO'} | {result['rss_mb'][0]} -> {result['rss_mb'][1]} MB "
        f"| {result['seconds']} s |",
        "",
        f"Cases by kind: {', '.join(f'{k} {v}' for k, v in sorted(result['by_kind'].items()))}.",
        f"HTTP statuses: {', '.join(f'{k}: {v}' for k, v in result['statuses'].items())}.",
        "",
        "Tool calls: arguments drawn from each tool's input schema (valid), with one property replaced by a wrong "
        "type, a huge value or odd Unicode (NUL, direction overrides, combining marks), an unknown key (mutated), or "
        "arguments that are not an object (junk); lone surrogates cannot travel as JSON and are covered in-process by "
        "tests/server/test_fuzz.py. Malformed: 23 fixed requests (deep nesting, wrong shapes, invalid UTF-8, a 5 MB "
        "body, batches) and random JSON bodies; plus a declared 5 MB body of which 10 bytes are sent (413 at once). "
        "Unacceptable: an HTTP 5xx, 'failed unexpectedly', a traceback or a server path in the answer, a 4xx without "
        "a JSON-RPC error body, or no answer in 30 s.",
    ]
    if result["problems"]:
        lines += ["", "## Findings", ""] + [f"- {p}" for p in result["problems"][:50]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000, help="fuzzed tool calls (spread over the tools)")
    parser.add_argument("--raw", type=int, default=500, help="random JSON bodies")
    parser.add_argument("--index", type=Path, default=ROOT / ".bench-index")
    args = parser.parse_args()
    result = anyio.run(run, args.index, args.calls, args.raw)
    command = f".venv/bin/python -m bench.fuzz --calls {args.calls} --raw {args.raw}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    (RESULTS / "fuzz.md").write_text(markdown(result, command))
    print(markdown(result, command))


if __name__ == "__main__":
    main()
