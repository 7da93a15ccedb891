"""Fuzzing every tool through the MCP protocol (in-process client, real 1,822-entry index):
any JSON-ish input gives a valid result or a tool error, never a crash, a hang, a traceback or
an 'unexpected' failure, and the server still answers a normal call afterwards."""

from __future__ import annotations

import base64

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.anyio
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
CALL_TIMEOUT = 30

scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=40)
json_ish = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
filter_keys = [
    "genres",
    "exclude_genres",
    "year_min",
    "year_max",
    "types",
    "score_min",
    "include_nsfw",
    "status",
    "studios",
    "tags",
    "episodes_min",
    "episodes_max",
    "season",
]
filters = st.one_of(json_ish, st.dictionaries(st.sampled_from(filter_keys), json_ish, max_size=4))
closed_port_urls = st.sampled_from(
    [
        "http://127.0.0.1:1/a.png",
        "http://localhost:9/x.jpg",
        "http://[::1]:1/",
        "http://10.0.0.1/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "https://0.0.0.0:1/i.png",
        "file:///etc/passwd",
        "/etc/passwd",
        "../../../../etc/passwd",
        "ftp://127.0.0.1/x",
        "data:image/png;base64,AAAA",
        "data:,hello",
        "gopher://x",
    ]
)
junk_b64 = st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())
png_header = st.binary(max_size=80).map(lambda b: base64.b64encode(b"\x89PNG\r\n\x1a\n" + b).decode())
images = st.one_of(closed_port_urls, junk_b64, png_header, st.text(max_size=60), json_ish)
ids = st.one_of(
    st.sampled_from(["mal-1", "mal-1535", "Death Note", "mal-0", "anilist-1", "", "mal-"]),
    st.text(max_size=30),
    json_ish,
)


def args_for(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Known keys with fuzzed values (each may be missing), sometimes plus an unknown key."""
    known = st.fixed_dictionaries({}, optional={k: v | json_ish for k, v in fields.items()})
    return st.one_of(
        known, st.builds(lambda a, b: {**a, **b}, known, st.dictionaries(st.text(max_size=8), json_ish, max_size=2))
    )


common = {"filters": filters, "limit": st.integers(-5, 80), "offset": st.integers(-5, 2000)}
TOOLS = {
    "search_anime": args_for(
        {
            "query": st.text(max_size=200),
            "aspects": st.lists(
                st.sampled_from(["story", "characters", "genre", "staff", "visual", "nope"]), max_size=4
            ),
            "explain": st.booleans(),
            "diversify": st.booleans(),
            **common,
        }
    ),
    "search_anime_by_image": args_for({"image": images, **common}),
    "search_anime_multimodal": args_for(
        {"query": st.text(max_size=100), "image": images, "text_weight": st.floats(-1, 2), **common}
    ),
    "find_similar_anime": args_for(
        {"anime": ids, "aspect": st.sampled_from(["story", "visual", "x"]), "diversify": st.booleans(), **common}
    ),
    "recommend_anime": args_for(
        {
            "liked": st.lists(ids, max_size=4),
            "disliked": st.lists(ids, max_size=3),
            "diversify": st.booleans(),
            **common,
        }
    ),
    "get_anime": args_for({"anime": ids}),
    "browse_anime": args_for(
        {
            "sort_by": st.sampled_from(["score", "year", "popularity", "title", "nope"]),
            "facets": st.lists(st.sampled_from(["genres", "type", "year", "bogus"]), max_size=3),
            **common,
        }
    ),
    "anime_database_stats": args_for({}),
}


def check(result, name, args) -> None:
    text = "\n".join(getattr(c, "text", "") for c in result.content)
    assert "Traceback" not in text and 'File "/' not in text, (name, args, text)
    assert "failed unexpectedly" not in text, (name, args, text)  # an unhandled bug, not a tool error
    if not result.is_error:
        assert result.structured_content is not None, (name, args)


def examples(strategy: st.SearchStrategy) -> list:
    """Hypothesis draws the inputs (deterministic); the calls then run on the test's event loop."""
    drawn: list = []

    @FUZZ
    @given(args=strategy)
    def collect(args):
        drawn.append(args)

    collect()
    return drawn


@pytest.mark.parametrize("name", sorted(TOOLS))
async def test_tool_survives_fuzzed_input(client, name):
    cases = examples(TOOLS[name])
    assert len(cases) >= 20
    for args in cases:
        with anyio.fail_after(CALL_TIMEOUT):  # a hang fails the test instead of stalling CI
            result = await client.call_tool(name, args)
        check(result, name, args)
    alive = await client.call_tool("search_anime", {"query": "giant robots", "limit": 2})
    assert not alive.is_error and alive.structured_content["results"]
