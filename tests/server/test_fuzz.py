"""Property-based fuzz through the protocol (issue 21): a few hundred tool calls whose arguments come
from each tool's own input schema (tools/list) and mutations of them (wrong types, huge values, odd
Unicode, NUL, lone surrogates), over streamable HTTP to the real server on the shared index. No answer
may be an HTTP 5xx, "failed unexpectedly", a traceback or a server path. Arguments JSON cannot carry
(lone surrogates) go through an in-process client instead. bench/fuzz.py runs thousands."""

from __future__ import annotations

import json

import anyio
import pytest

from bench.fuzz_cases import encodable, generate, verdict
from tests.server.http_harness import client_of, open_session, rpc, running_app, session_headers, tool_call

pytestmark = pytest.mark.anyio
CALLS = 300


async def test_fuzzed_tool_calls_never_crash(edge_runtime):
    async def loader():
        return edge_runtime

    failures: list[str] = []
    async with running_app(loader, rate_limit_per_minute=0) as app, client_of(app) as client:
        headers = session_headers(await open_session(client))
        listed = rpc(
            await client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=headers)
        )
        cases = generate(listed["result"]["tools"], CALLS)
        with anyio.fail_after(120):
            for i, (name, args, kind) in enumerate(cases):
                if not encodable(args):
                    continue
                response = await client.post("/mcp", json=tool_call(name, args, 100 + i), headers=headers)
                problem = verdict(response.status_code, response.text)
                if problem is None and response.status_code == 200:
                    answer = rpc(response)
                    if "result" not in answer and "error" not in answer:
                        problem = "no result or error"
                if problem:
                    failures.append(f"{name} {kind} {json.dumps(args)[:200]}: {problem}")
    assert len(cases) >= CALLS * 0.9
    assert not failures, "\n".join(failures[:20])


async def test_arguments_json_cannot_carry_still_get_a_clear_answer(client):
    """Lone surrogates reach a tool only from an in-process client (a JSON parser refuses them)."""
    from mcp import MCPError

    calls = [
        ("get_anime", {"anime": "\ud800"}),
        ("search_anime", {"query": "x\udfffy"}),
        ("search_anime", {"query": "mecha", "filters": {"tags": ["\ud800"]}}),
        ("recommend_anime", {"liked": ["\udfff"]}),
        ("find_similar_anime", {"anime": "mal-1\x00"}),
        ("browse_anime", {"filters": {"genres": ["\ud800\x00"]}}),
    ]
    failures = []
    for name, args in calls:
        try:
            result = await client.call_tool(name, args)
            text = json.dumps([c.model_dump() for c in result.content], ensure_ascii=True)
        except MCPError as exc:  # a JSON-RPC error (invalid params) is a clear answer too
            text = str(exc)
        problem = verdict(None, text)
        if problem:
            failures.append(f"{name} {args!r}: {problem} {text[:200]}")
    assert not failures, "\n".join(failures)
