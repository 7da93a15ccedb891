"""Searching on both backends: filters never leak, fusion, formulas, recommend, MMR,
batches, ordered and plain scrolls, counts and facets.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter

import numpy as np
import pytest
from qdrant_client import models

from index.storage.base import StoreError
from index.storage.lexical import lexical_document, lexical_query
from index.vectors import GENRE, LEXICAL, TITLE
from tests.index.storage.helpers import (  # noqa: F401  (fixtures)
    STORAGE_MARKS,
    TEXT_DIM,
    N,
    backend,
    factory,
    filled,
    ids_of,
    payload_of,
    pid,
    scroll_all,
    store,
    unit,
)

pytestmark = STORAGE_MARKS


# ---------------------------------------------------------------------------- filters

FILTERS = {
    "genres any": (
        models.Filter(must=[models.FieldCondition(key="genres", match=models.MatchAny(any=["comedy", "mystery"]))]),
        lambda p: bool({"comedy", "mystery"} & set(p["genres"])),
    ),
    "genres none": (
        models.Filter(must_not=[models.FieldCondition(key="genres", match=models.MatchAny(any=["drama"]))]),
        lambda p: "drama" not in p["genres"],
    ),
    "type except": (
        models.Filter(must=[models.FieldCondition(key="type", match=models.MatchExcept(**{"except": ["TV", "OVA"]}))]),
        lambda p: p["type"] not in ("TV", "OVA"),
    ),
    "year range": (
        models.Filter(must=[models.FieldCondition(key="year", range=models.Range(gte=1992, lte=1994))]),
        lambda p: 1992 <= p["year"] <= 1994,
    ),
    "score above": (
        models.Filter(must=[models.FieldCondition(key="score", range=models.Range(gt=7.5))]),
        lambda p: p["score"] > 7.5,
    ),
    "nsfw true": (
        models.Filter(must=[models.FieldCondition(key="nsfw", match=models.MatchValue(value=True))]),
        lambda p: p["nsfw"] is True,
    ),
    "nsfw false": (
        models.Filter(must=[models.FieldCondition(key="nsfw", match=models.MatchValue(value=False))]),
        lambda p: p["nsfw"] is False,
    ),
    "title text": (
        models.Filter(must=[models.FieldCondition(key="title", match=models.MatchText(text="Bebop"))]),
        lambda p: "Bebop" in p["title"],
    ),
    "bool tree": (
        models.Filter(
            should=[
                models.FieldCondition(key="type", match=models.MatchValue(value="MOVIE")),
                models.Filter(
                    must=[
                        models.FieldCondition(key="year", range=models.Range(gte=1995)),
                        models.FieldCondition(key="genres", match=models.MatchValue(value="drama")),
                    ]
                ),
            ],
            must_not=[models.HasIdCondition(has_id=[pid(1), pid(4)])],
        ),
        lambda p: (
            (p["type"] == "MOVIE" or (p["year"] >= 1995 and "drama" in p["genres"]))
            and p["anime_id"] not in ("a1", "a4")
        ),
    ),
    "studios empty": (
        models.Filter(must=[models.IsEmptyCondition(is_empty=models.PayloadField(key="studios"))]),
        lambda p: "studios" not in p,
    ),
    "has ids": (
        models.Filter(must=[models.HasIdCondition(has_id=[pid(2), pid(3), str(uuid.uuid4())])]),
        lambda p: p["anime_id"] in ("a2", "a3"),
    ),
}


@pytest.mark.parametrize("name", list(FILTERS))
async def test_filters_never_leak(filled, name):
    store, _, _ = filled
    flt, keep = FILTERS[name]
    expected = {pid(i) for i in range(N) if keep(payload_of(i))}
    assert expected, "a filter case must match something"
    hits = await store.query(models.QueryRequest(query=[0.5] * TEXT_DIM, using=TITLE, filter=flt, limit=100))
    assert set(ids_of(hits)) == expected
    assert await store.count(flt) == len(expected)
    fused = await store.query(
        models.QueryRequest(
            prefetch=[
                models.Prefetch(query=[0.5] * TEXT_DIM, using=TITLE, filter=flt, limit=100),
                models.Prefetch(query=lexical_query("drama action"), using=LEXICAL, filter=flt, limit=100),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            filter=flt,
            limit=100,
        )
    )
    assert set(ids_of(fused)) <= expected


# ---------------------------------------------------------------------------- queries


async def test_prefetch_rrf_over_dense_and_lexical(filled):
    store, _, raw = filled
    target = pid(7)
    q_title = unit(raw[target][TITLE])
    q_genre = unit(raw[target][GENRE])
    await store.update_vectors([models.PointVectors(id=target, vector={LEXICAL: lexical_document("zanzibar odyssey")})])
    legs = [
        models.Prefetch(query=q_title, using=TITLE, limit=20),
        models.Prefetch(query=q_genre, using=GENRE, limit=20),
        models.Prefetch(query=lexical_query("Zanzibar"), using=LEXICAL, limit=20),
    ]
    for fusion in (
        models.FusionQuery(fusion=models.Fusion.RRF),
        models.FusionQuery(fusion=models.Fusion.DBSF),
        models.RrfQuery(rrf=models.Rrf(k=60, weights=[1.0, 0.5, 2.0])),
    ):
        hits = await store.query(models.QueryRequest(prefetch=legs, query=fusion, limit=5, with_payload=["anime_id"]))
        assert ids_of(hits)[0] == target, fusion
        assert hits[0].payload == {"anime_id": "a7"}
        assert len(set(ids_of(hits))) == len(hits)
    lexical_only = await store.query(models.QueryRequest(query=lexical_query("zanzibar"), using=LEXICAL, limit=5))
    assert ids_of(lexical_only) == [target]


async def test_formula_adds_priors_to_fused_scores(filled):
    """Ranking priors ride on the fused score inside the engine: both backends give the same order and scores,
    conditions count 1 or 0, and a point without the variable takes its default."""
    store, _, raw = filled
    q = unit(raw[pid(7)][TITLE])
    fused = models.Prefetch(
        prefetch=[
            models.Prefetch(query=q, using=TITLE, limit=30),
            models.Prefetch(query=lexical_query("title"), using=LEXICAL, limit=30),
        ],
        query=models.RrfQuery(rrf=models.Rrf(k=2, weights=[1.0, 1.0])),
        limit=30,
    )
    base = await store.query(
        models.QueryRequest(
            prefetch=[fused], query=models.FormulaQuery(formula=models.SumExpression(sum=["$score"])), limit=30
        )
    )
    boosted_id = ids_of(base)[-1]
    formula = models.SumExpression(
        sum=[
            "$score",
            models.MultExpression(mult=[0.01, "members"]),
            models.MultExpression(mult=[5.0, models.HasIdCondition(has_id=[boosted_id])]),
            models.MultExpression(mult=[-0.5, models.FieldCondition(key="type", match=models.MatchAny(any=["OVA"]))]),
            models.MultExpression(
                mult=[
                    0.1,
                    models.ExpDecayExpression(exp_decay=models.DecayParamsExpression(x="year", target=2000, scale=10)),
                ]
            ),
        ]
    )
    hits = await store.query(
        models.QueryRequest(
            prefetch=[fused],
            query=models.FormulaQuery(formula=formula, defaults={"members": 0, "year": 1900}),
            limit=30,
            with_payload=True,
        )
    )
    assert hits and ids_of(hits)[0] == boosted_id
    base_score = {str(p.id): p.score for p in base}
    for hit in hits:
        p = hit.payload or {}
        decay = math.exp(math.log(0.5) * abs(p.get("year", 1900) - 2000) / 10)
        expected = (
            base_score[str(hit.id)]
            + 0.01 * p.get("members", 0)
            + 5.0 * (str(hit.id) == boosted_id)
            - 0.5 * (p.get("type") == "OVA")
            + 0.1 * decay
        )
        assert hit.score == pytest.approx(expected, rel=1e-4, abs=1e-4)


async def test_recommend_by_ids_excludes_examples(filled):
    store, _, raw = filled
    pos, neg = [pid(2), pid(9)], [pid(4)]
    hits = await store.query(
        models.QueryRequest(
            query=models.RecommendQuery(recommend=models.RecommendInput(positive=pos, negative=neg)),
            using=GENRE,
            limit=N,
            params=models.SearchParams(exact=True),
        )
    )
    assert not set(pos + neg) & set(ids_of(hits))
    assert len(hits) == N - 3
    norm = {k: np.asarray(unit(v[GENRE])) for k, v in raw.items()}
    target = 2 * np.mean([norm[p] for p in pos], axis=0) - norm[neg[0]]
    ranked = sorted(
        (k for k in norm if k not in pos + neg), key=lambda k: -float(norm[k] @ target / np.linalg.norm(target))
    )
    assert ids_of(hits)[:3] == ranked[:3]
    best = await store.query(
        models.QueryRequest(
            query=models.RecommendQuery(
                recommend=models.RecommendInput(
                    positive=pos, negative=neg, strategy=models.RecommendStrategy.BEST_SCORE
                )
            ),
            using=GENRE,
            limit=N,
        )
    )
    assert not set(pos + neg) & set(ids_of(best)) and best
    by_id = await store.query(models.QueryRequest(query=models.NearestQuery(nearest=pid(2)), using=TITLE, limit=3))
    assert pid(2) not in ids_of(by_id) and len(by_id) == 3


async def test_mmr_diversifies(store):
    rng = np.random.default_rng(3)
    base = np.eye(TEXT_DIM)[0]
    points = []
    for i in range(5):  # near-duplicates of the query
        points.append(
            models.PointStruct(
                id=pid(100 + i),
                vector={TITLE: unit(base + 0.01 * rng.normal(size=TEXT_DIM))},
                payload={"anime_id": f"dup{i}"},
            )
        )
    for j in range(1, TEXT_DIM):  # less relevant, but different from each other
        points.append(
            models.PointStruct(
                id=pid(200 + j), vector={TITLE: unit(np.eye(TEXT_DIM)[j] + 0.3 * base)}, payload={"anime_id": f"far{j}"}
            )
        )
    await store.upsert(points)
    dups = {pid(100 + i) for i in range(5)}
    plain = await store.query(models.QueryRequest(query=unit(base), using=TITLE, limit=3))
    assert set(ids_of(plain)) <= dups
    mmr = await store.query(
        models.QueryRequest(
            query=models.NearestQuery(nearest=unit(base), mmr=models.Mmr(diversity=0.9, candidates_limit=12)),
            using=TITLE,
            limit=3,
        )
    )
    assert len(mmr) == 3 and len(set(ids_of(mmr)) & dups) == 1
    assert ids_of(mmr)[0] == ids_of(plain)[0]


async def test_query_batch_and_order_by_query(filled):
    store, _, raw = filled
    requests = [models.QueryRequest(query=unit(raw[pid(i)][TITLE]), using=TITLE, limit=1) for i in (3, 8)]
    results = await store.query_batch(requests)
    assert [ids_of(r) for r in results] == [[pid(3)], [pid(8)]]
    ordered = await store.query(
        models.QueryRequest(
            query=models.OrderByQuery(order_by=models.OrderBy(key="members", direction=models.Direction.DESC)),
            limit=5,
            offset=2,
            with_payload=["members"],
        )
    )
    assert [p.payload["members"] for p in ordered] == [1000 + 10 * i for i in (37, 36, 35, 34, 33)]


async def test_order_by_keyword_is_refused(filled):
    store, _, _ = filled
    with pytest.raises(StoreError, match="order"):
        await store.scroll(order_by=models.OrderBy(key="title_sort"))
    with pytest.raises(StoreError, match="order"):
        await store.query(models.QueryRequest(query=models.OrderByQuery(order_by="title_sort"), limit=3))


# ---------------------------------------------------------------------------- scroll, count, facet


@pytest.mark.parametrize("key,direction", [("year", models.Direction.DESC), ("score", models.Direction.ASC)])
async def test_ordered_scroll_pages_never_repeat(filled, key, direction):
    store, _, _ = filled
    flt = models.Filter(must_not=[models.FieldCondition(key="type", match=models.MatchValue(value="OVA"))])
    records = await scroll_all(
        store,
        limit=4,
        order_by=models.OrderBy(key=key, direction=direction),
        scroll_filter=flt,
        with_payload=[key, "type"],
    )
    expected = {pid(i) for i in range(N) if payload_of(i)["type"] != "OVA"}
    assert len(records) == len(expected) and set(ids_of(records)) == expected
    values = [r.payload[key] for r in records]
    assert values == sorted(values, reverse=direction == models.Direction.DESC)
    assert all(r.payload["type"] != "OVA" for r in records)


async def test_plain_scroll_visits_every_point_once(filled):
    store, _, _ = filled
    records = await scroll_all(store, limit=7, with_payload=False)
    assert sorted(ids_of(records)) == sorted(pid(i) for i in range(N))
    with pytest.raises(StoreError):
        await store.scroll(offset="ord1:bad", limit=3)


async def test_count_and_facets(filled):
    store, _, _ = filled
    assert await store.count() == N
    expected = Counter(g for i in range(N) for g in payload_of(i)["genres"])
    assert dict(await store.facet("genres", limit=50)) == dict(expected)
    movies = models.Filter(must=[models.FieldCondition(key="type", match=models.MatchValue(value="MOVIE"))])
    expected_years = Counter(payload_of(i)["year"] for i in range(N) if payload_of(i)["type"] == "MOVIE")
    assert dict(await store.facet("year", facet_filter=movies)) == dict(expected_years)
    top = await store.facet("genres", limit=2)
    assert [v for v, _ in top] == [v for v, _ in expected.most_common(2)]
    assert dict(await store.facet("nsfw")) == {True: 10, False: 30}
    with pytest.raises(StoreError, match="facet keys"):
        await store.facet("score")
