"""Latency of every search tool at every layer, interleaved: bare work, engine, MCP in-process, stdio, HTTP.

Why interleaved: these machines are noisy (a 2-core VM with neighbours). Short blocks of calls of one case
run at every layer back to back, in an order that rotates from block to block, so drift lands on all
layers alike and the ratios to 'bare' are stable where one long loop per layer was not.

'bare' is the least work that answers the same question: query encoding (text and/or picture) plus the
raw store calls with the same request the engine sends; for similar/recommend the stored vectors are
read and queried; for get_anime one retrieve; for browse one ordered query and one count.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from qdrant_client import models

from index.identity import point_id
from index.runtime import IndexRuntime
from index.search.browse import SORT_KEYS
from index.search.filters import SearchFilters, build_filter
from index.search.inputs import SearchInputError
from index.search.legs import image_vector, text_legs
from index.search.queries import Leg, fused_request
from index.search.results import HIT_PAYLOAD
from index.vectors import IMAGE

LAYERS = ("bare", "engine", "mcp in-process", "stdio", "http")
FILTERS = {"year_min": 1995, "types": ["TV"]}
BROWSE = {"genres": ["Action"]}

Call = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass
class Case:
    """One tool with a fixed argument shape; `args(i)` varies the query/anime/picture per round."""

    name: str
    tool: str
    args: Callable[[int], dict[str, Any]]
    engine: Callable[[IndexRuntime, dict[str, Any]], Awaitable[Any]]
    bare: Callable[[IndexRuntime, dict[str, Any]], Awaitable[Any]]
    image: bool = False
    samples: dict[str, list[float]] = field(default_factory=lambda: {layer: [] for layer in LAYERS})


async def _query(rt: IndexRuntime, legs: list[Leg], qfilter: models.Filter | None, diversify=None) -> Any:
    return await rt.store.query(
        fused_request(
            legs,
            settings=rt.engine.settings,
            query_filter=qfilter,
            limit=10,
            with_payload=HIT_PAYLOAD,
            diversify_anchor=diversify,
        )
    )


def _stored_vectors(rt: IndexRuntime, ids: list[str]) -> Awaitable[list[models.Record]]:
    return rt.store.retrieve(
        [point_id(i) for i in ids], with_payload=False, with_vectors=list(rt.engine.settings.similar_weights)
    )


async def _bare_similar(rt: IndexRuntime, a: dict[str, Any]) -> Any:
    (record,) = await _stored_vectors(rt, [a["anime"]])
    legs = [
        Leg(n, list(record.vector[n]), w)
        for n, w in rt.engine.settings.similar_weights.items()
        if record.vector.get(n) is not None
    ]
    return await _query(rt, legs, build_filter(None, exclude_point_ids=[str(record.id)]))


async def _bare_recommend(rt: IndexRuntime, a: dict[str, Any]) -> Any:
    records = await _stored_vectors(rt, a["liked"])
    legs = [
        Leg(
            n,
            models.RecommendQuery(
                recommend=models.RecommendInput(
                    positive=[list(r.vector[n]) for r in records], strategy=models.RecommendStrategy.AVERAGE_VECTOR
                )
            ),
            w,
        )
        for n, w in rt.engine.settings.similar_weights.items()
        if all(r.vector.get(n) is not None for r in records)
    ]
    return await _query(rt, legs, build_filter(None, exclude_point_ids=[str(r.id) for r in records]))


async def _bare_browse(rt: IndexRuntime, a: dict[str, Any]) -> Any:
    qfilter = build_filter(SearchFilters(**a["filters"]))
    key, direction = SORT_KEYS[a["sort_by"]]
    await rt.store.query(
        models.QueryRequest(
            query=models.OrderByQuery(order_by=models.OrderBy(key=key, direction=direction)),
            filter=qfilter,
            limit=10,
            with_payload=HIT_PAYLOAD,
        )
    )
    return await rt.store.count(qfilter)


def cases(texts: list[str], ids: list[str], pictures: list[str]) -> list[Case]:
    """The tools an assistant calls to search, each with its engine call and its bare reference."""
    q = lambda i: texts[i % len(texts)]  # noqa: E731
    pic = lambda i: pictures[i % len(pictures)]  # noqa: E731
    anime = lambda i: ids[i % len(ids)]  # noqa: E731
    tv_filter = build_filter(SearchFilters(**FILTERS))

    async def bare_text(rt, a, qfilter=None):
        return await _query(rt, await text_legs(rt.engine.embedder, rt.engine.settings, a["query"], None), qfilter)

    async def bare_image(rt, a):
        return await _query(
            rt, [Leg(IMAGE, await image_vector(rt.engine.embedder, rt.engine.image_fetcher, a["image"]), 1.0)], None
        )

    async def bare_multimodal(rt, a):
        legs = await text_legs(rt.engine.embedder, rt.engine.settings, a["query"], None, scale=0.5)
        return await _query(
            rt,
            [*legs, Leg(IMAGE, await image_vector(rt.engine.embedder, rt.engine.image_fetcher, a["image"]), 0.5)],
            None,
        )

    return [
        Case(
            "search_anime",
            "search_anime",
            lambda i: {"query": q(i), "limit": 10},
            lambda rt, a: rt.engine.search_text(a["query"], limit=10),
            bare_text,
        ),
        Case(
            "search_anime +filters",
            "search_anime",
            lambda i: {"query": q(i), "filters": FILTERS, "limit": 10},
            lambda rt, a: rt.engine.search_text(a["query"], filters=SearchFilters(**FILTERS), limit=10),
            lambda rt, a: bare_text(rt, a, tv_filter),
        ),
        Case(
            "search_anime_by_image",
            "search_anime_by_image",
            lambda i: {"image": pic(i), "limit": 10},
            lambda rt, a: rt.engine.search_image(a["image"], limit=10),
            bare_image,
            image=True,
        ),
        Case(
            "search_anime_multimodal",
            "search_anime_multimodal",
            lambda i: {"query": q(i), "image": pic(i), "limit": 10},
            lambda rt, a: rt.engine.search_multimodal(a["query"], a["image"], limit=10),
            bare_multimodal,
            image=True,
        ),
        Case(
            "find_similar_anime",
            "find_similar_anime",
            lambda i: {"anime": anime(i), "limit": 10},
            lambda rt, a: rt.engine.find_similar(a["anime"], limit=10),
            _bare_similar,
        ),
        Case(
            "recommend_anime",
            "recommend_anime",
            lambda i: {"liked": [anime(i), anime(i + 7)], "limit": 10},
            lambda rt, a: rt.engine.recommend(a["liked"], limit=10),
            _bare_recommend,
        ),
        Case(
            "browse_anime",
            "browse_anime",
            lambda i: {"filters": BROWSE, "sort_by": "score", "limit": 10},
            lambda rt, a: rt.engine.browse(SearchFilters(**BROWSE), sort_by="score", limit=10),
            _bare_browse,
        ),
        Case(
            "get_anime",
            "get_anime",
            lambda i: {"anime": anime(i)},
            lambda rt, a: rt.engine.get_entry(a["anime"]),
            lambda rt, a: rt.store.retrieve([point_id(a["anime"])], with_payload=True),
        ),
    ]


def _checked(client: Any, tool: str) -> Call:
    async def call(args: dict[str, Any]) -> None:
        result = await client.call_tool(tool, args)
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {result.content}")

    return call


async def image_search_error(rt: IndexRuntime, picture: str) -> str | None:
    """None when image search works here, else why not (the image cases are then left out)."""
    try:
        await rt.engine.search_image(picture, limit=1)
    except SearchInputError as exc:
        return str(exc)
    return None


async def interleaved(
    all_cases: list[Case], rt: IndexRuntime, clients: dict[str, Any], rounds: int, block: int = 10
) -> None:
    """Time `rounds` calls of every case at every layer, in blocks of `block` calls per layer, the layer
    order rotating from block to block. Each block starts with one untimed call: the layers live in three
    processes (this one, the stdio and the HTTP server), and a process that just sat idle while the
    others ran starts with cold caches, which is not what its layer costs."""
    layers: dict[str, Callable[[Case], Call]] = {
        "bare": lambda c: lambda a: c.bare(rt, a),
        "engine": lambda c: lambda a: c.engine(rt, a),
        **{name: (lambda cl: lambda c: _checked(cl, c.tool))(client) for name, client in clients.items()},
    }
    for b, first in enumerate(range(0, rounds, block)):
        for case in all_cases:
            start = b % len(LAYERS)
            for layer in LAYERS[start:] + LAYERS[:start]:
                call = layers[layer](case)
                await call(case.args(first + block))  # untimed: wakes this layer's process up
                for i in range(first, min(first + block, rounds)):
                    args = case.args(i)
                    t0 = time.perf_counter()
                    await call(args)
                    case.samples[layer].append((time.perf_counter() - t0) * 1000)
