"""The storage layer on both backends: embedded Qdrant Edge and a Qdrant server.

The server backend runs against qdrant-client's in-process stand-in
(``location=":memory:"``) and, when ``ANIME_MCP_TEST_QDRANT_URL`` is set, against that
real server too (optional ``ANIME_MCP_TEST_QDRANT_API_KEY``). Vectors are small and
random (text 8-d, image 4-d); payloads use the real payload keys.
"""

from __future__ import annotations

import math

import os
import uuid
from collections import Counter
from pathlib import Path

import anyio
import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from index.settings import StorageSettings
from index.storage import qdrant_server as server_mod
from index.storage.base import CollectionSpec, IncompatibleCollectionError, StoreError, VectorStore
from index.storage.collection import prepare_request, vector_layouts
from index.storage.edge import EdgeStore
from index.storage.factory import open_store
from index.storage.lexical import lexical_document, lexical_query
from index.storage.qdrant_server import ServerStore, safe_url
from index.vectors import CHARACTER, DENSE_VECTORS, GENRE, IMAGE, LEXICAL, STAFF, TEXT_VECTORS, TITLE

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Payload indexes have no effect"),
    pytest.mark.filterwarnings("ignore:Local mode performs exact"),
    pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection"),
]

TEXT_DIM, IMAGE_DIM = 8, 4
SPEC = CollectionSpec(text_dim=TEXT_DIM, image_dim=IMAGE_DIM, meta={"text_model": "test-text", "image_model": "test-image"})
N = 40
REAL_URL = os.environ.get("ANIME_MCP_TEST_QDRANT_URL")
BACKENDS = ["edge", "server"] + (["real-server"] if REAL_URL else [])

TITLES = ["Cowboy Bebop", "Trigun", "Monster", "Mushishi"]
TYPES = ["TV", "MOVIE", "OVA"]
GENRE_SETS = [["action", "sci-fi"], ["drama"], ["action", "drama"], ["comedy"], ["mystery", "drama"]]


def pid(i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"anime-{i}"))


def unit(v: np.ndarray) -> list[float]:
    return (v / np.linalg.norm(v)).astype(np.float32).tolist()


def payload_of(i: int) -> dict:
    payload = {
        "anime_id": f"a{i}",
        "title": f"{TITLES[i % 4]} {i}",
        "titles_norm": [f"{TITLES[i % 4].lower()} {i}"],
        "type": TYPES[i % 3],
        "status": "FINISHED",
        "year": 1990 + i % 7,
        "genres": GENRE_SETS[i % 5],
        "nsfw": i % 4 == 0,
        "score": round(5.0 + (i * 37 % 50) / 10, 1),
        "members": 1000 + 10 * i,
        "title_sort": f"{TITLES[i % 4].lower()} {i:03d}",
    }
    if i % 5:
        payload["studios"] = ["sunrise"] if i % 2 else ["madhouse"]
    return payload


def make_points(seed: int = 7) -> tuple[list[models.PointStruct], dict[str, dict[str, np.ndarray]]]:
    """N points; character_vector missing on every 6th. Returns points and raw dense vectors."""
    rng = np.random.default_rng(seed)
    points, raw = [], {}
    for i in range(N):
        vectors: dict = {}
        raw[pid(i)] = {}
        for name in DENSE_VECTORS:
            if name == CHARACTER and i % 6 == 0:
                continue
            v = rng.normal(size=IMAGE_DIM if name == IMAGE else TEXT_DIM)
            raw[pid(i)][name] = v
            vectors[name] = unit(v)
        p = payload_of(i)
        vectors[LEXICAL] = lexical_document(f"{p['title']} {' '.join(p['genres'])}")
        points.append(models.PointStruct(id=pid(i), vector=vectors, payload=p))
    return points, raw


async def make_store(kind: str, path: Path, client: AsyncQdrantClient | None = None) -> VectorStore:
    if kind == "edge":
        return EdgeStore(path / "anime")
    if kind == "server":
        return ServerStore(StorageSettings(collection_name="anime_test"), client=client)
    settings = StorageSettings(
        qdrant_url=REAL_URL,
        qdrant_api_key=os.environ.get("ANIME_MCP_TEST_QDRANT_API_KEY"),
        collection_name=f"anime_mcp_test_{path.name[-12:].replace('-', '_')}",
    )
    return ServerStore(settings)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
async def factory(backend, tmp_path):
    """Builds stores on one location (same folder / same in-process client); cleans up after."""
    client = AsyncQdrantClient(location=":memory:") if backend == "server" else None
    made: list[VectorStore] = []

    async def build() -> VectorStore:
        store = await make_store(backend, tmp_path, client)
        made.append(store)
        return store

    yield build
    for store in made:
        await store.close()
    if backend == "real-server":
        cleanup = await make_store(backend, tmp_path)
        await cleanup._client.delete_collection(cleanup.collection_name)
        await cleanup.close()
    if client is not None:
        await client.close()


@pytest.fixture
async def store(factory):
    s = await factory()
    await s.open(SPEC)
    return s


@pytest.fixture
async def filled(store):
    points, raw = make_points()
    await store.upsert(points)
    return store, points, raw


def ids_of(results) -> list[str]:
    return [str(r.id) for r in results]


# ---------------------------------------------------------------------------- writes and reads


async def test_upsert_retrieve_round_trip(filled):
    store, points, raw = filled
    got = await store.retrieve([pid(3), pid(6)], with_payload=True, with_vectors=True)
    by_id = {str(r.id): r for r in got}
    assert set(by_id) == {pid(3), pid(6)}
    assert by_id[pid(3)].payload == payload_of(3)
    for name in DENSE_VECTORS:
        np.testing.assert_allclose(by_id[pid(3)].vector[name], unit(raw[pid(3)][name]), atol=1e-5)
    sparse = by_id[pid(3)].vector[LEXICAL]
    expected = points[3].vector[LEXICAL]
    assert dict(zip(sparse.indices, sparse.values)) == pytest.approx(dict(zip(expected.indices, expected.values)))
    # A named vector may be missing for a point.
    assert CHARACTER not in by_id[pid(6)].vector and TITLE in by_id[pid(6)].vector
    only = await store.retrieve([pid(3)], with_payload=["title", "year"], with_vectors=[TITLE])
    assert only[0].payload == {"title": "Mushishi 3", "year": 1993}
    assert set(only[0].vector) == {TITLE}
    assert await store.retrieve([str(uuid.uuid4())]) == []


async def test_missing_vector_is_not_searched_and_counted(filled):
    store, _, _ = filled
    hits = await store.query(models.QueryRequest(query=[1.0] * TEXT_DIM, using=CHARACTER, limit=100))
    assert len(hits) == N - len(range(0, N, 6))
    assert not {pid(i) for i in range(0, N, 6)} & set(ids_of(hits))
    info = await store.info()
    assert info.points == N
    assert info.vectors_present[CHARACTER] == N - len(range(0, N, 6))
    assert info.vectors_present[TITLE] == N and info.vectors_present[LEXICAL] == N
    assert info.meta["text_dim"] == TEXT_DIM and info.meta["text_model"] == "test-text"
    if info.backend == "edge":
        assert info.disk_bytes and info.disk_bytes > 0


async def test_update_vectors_changes_only_those(filled):
    store, _, raw = filled
    new_title = unit(np.arange(1, TEXT_DIM + 1, dtype=float))
    await store.update_vectors([models.PointVectors(id=pid(5), vector={TITLE: new_title})])
    rec = (await store.retrieve([pid(5)], with_vectors=True))[0]
    np.testing.assert_allclose(rec.vector[TITLE], new_title, atol=1e-5)
    np.testing.assert_allclose(rec.vector[GENRE], unit(raw[pid(5)][GENRE]), atol=1e-5)
    assert LEXICAL in rec.vector and rec.payload == payload_of(5)


async def test_delete_vectors_and_points_and_set_payload(filled):
    store, _, _ = filled
    await store.delete_vectors([pid(1), pid(2)], [STAFF])
    rec = (await store.retrieve([pid(1)], with_vectors=True))[0]
    assert STAFF not in rec.vector and TITLE in rec.vector
    assert (await store.info()).vectors_present[STAFF] == N - 2
    await store.set_payload(pid(1), {"anime_id": "a1", "year": 2024})
    assert (await store.retrieve([pid(1)]))[0].payload == {"anime_id": "a1", "year": 2024}
    await store.delete([pid(1), pid(2)])
    assert await store.count() == N - 2
    assert await store.retrieve([pid(1)]) == []


async def test_wrong_dimension_is_a_store_error(store):
    bad = models.PointStruct(id=pid(0), vector={TITLE: [0.1] * (TEXT_DIM + 1)}, payload={})
    with pytest.raises(StoreError):
        await store.upsert([bad])


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
                models.Filter(must=[
                    models.FieldCondition(key="year", range=models.Range(gte=1995)),
                    models.FieldCondition(key="genres", match=models.MatchValue(value="drama")),
                ]),
            ],
            must_not=[models.HasIdCondition(has_id=[pid(1), pid(4)])],
        ),
        lambda p: (p["type"] == "MOVIE" or (p["year"] >= 1995 and "drama" in p["genres"]))
        and p["anime_id"] not in ("a1", "a4"),
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
    fused = await store.query(models.QueryRequest(
        prefetch=[models.Prefetch(query=[0.5] * TEXT_DIM, using=TITLE, filter=flt, limit=100),
                  models.Prefetch(query=lexical_query("drama action"), using=LEXICAL, filter=flt, limit=100)],
        query=models.FusionQuery(fusion=models.Fusion.RRF), filter=flt, limit=100))
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
    for fusion in (models.FusionQuery(fusion=models.Fusion.RRF), models.FusionQuery(fusion=models.Fusion.DBSF),
                   models.RrfQuery(rrf=models.Rrf(k=60, weights=[1.0, 0.5, 2.0]))):
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
    fused = models.Prefetch(prefetch=[models.Prefetch(query=q, using=TITLE, limit=30),
                                      models.Prefetch(query=lexical_query("title"), using=LEXICAL, limit=30)],
                            query=models.RrfQuery(rrf=models.Rrf(k=2, weights=[1.0, 1.0])), limit=30)
    base = await store.query(models.QueryRequest(prefetch=[fused], query=models.FormulaQuery(
        formula=models.SumExpression(sum=["$score"])), limit=30))
    boosted_id = ids_of(base)[-1]
    formula = models.SumExpression(sum=[
        "$score",
        models.MultExpression(mult=[0.01, "members"]),
        models.MultExpression(mult=[5.0, models.HasIdCondition(has_id=[boosted_id])]),
        models.MultExpression(mult=[-0.5, models.FieldCondition(key="type", match=models.MatchAny(any=["OVA"]))]),
        models.MultExpression(mult=[0.1, models.ExpDecayExpression(exp_decay=models.DecayParamsExpression(
            x="year", target=2000, scale=10))]),
    ])
    hits = await store.query(models.QueryRequest(prefetch=[fused], query=models.FormulaQuery(
        formula=formula, defaults={"members": 0, "year": 1900}), limit=30, with_payload=True))
    assert hits and ids_of(hits)[0] == boosted_id
    base_score = {str(p.id): p.score for p in base}
    for hit in hits:
        p = hit.payload or {}
        decay = math.exp(math.log(0.5) * abs(p.get("year", 1900) - 2000) / 10)
        expected = (base_score[str(hit.id)] + 0.01 * p.get("members", 0) + 5.0 * (str(hit.id) == boosted_id)
                    - 0.5 * (p.get("type") == "OVA") + 0.1 * decay)
        assert hit.score == pytest.approx(expected, rel=1e-4, abs=1e-4)


async def test_recommend_by_ids_excludes_examples(filled):
    store, _, raw = filled
    pos, neg = [pid(2), pid(9)], [pid(4)]
    hits = await store.query(models.QueryRequest(
        query=models.RecommendQuery(recommend=models.RecommendInput(positive=pos, negative=neg)),
        using=GENRE, limit=N, params=models.SearchParams(exact=True)))
    assert not set(pos + neg) & set(ids_of(hits))
    assert len(hits) == N - 3
    norm = {k: np.asarray(unit(v[GENRE])) for k, v in raw.items()}
    target = 2 * np.mean([norm[p] for p in pos], axis=0) - norm[neg[0]]
    ranked = sorted((k for k in norm if k not in pos + neg), key=lambda k: -float(norm[k] @ target / np.linalg.norm(target)))
    assert ids_of(hits)[:3] == ranked[:3]
    best = await store.query(models.QueryRequest(
        query=models.RecommendQuery(recommend=models.RecommendInput(
            positive=pos, negative=neg, strategy=models.RecommendStrategy.BEST_SCORE)), using=GENRE, limit=N))
    assert not set(pos + neg) & set(ids_of(best)) and best
    by_id = await store.query(models.QueryRequest(query=models.NearestQuery(nearest=pid(2)), using=TITLE, limit=3))
    assert pid(2) not in ids_of(by_id) and len(by_id) == 3


async def test_mmr_diversifies(store):
    rng = np.random.default_rng(3)
    base = np.eye(TEXT_DIM)[0]
    points = []
    for i in range(5):  # near-duplicates of the query
        points.append(models.PointStruct(id=pid(100 + i), vector={TITLE: unit(base + 0.01 * rng.normal(size=TEXT_DIM))},
                                         payload={"anime_id": f"dup{i}"}))
    for j in range(1, TEXT_DIM):  # less relevant, but different from each other
        points.append(models.PointStruct(id=pid(200 + j), vector={TITLE: unit(np.eye(TEXT_DIM)[j] + 0.3 * base)},
                                         payload={"anime_id": f"far{j}"}))
    await store.upsert(points)
    dups = {pid(100 + i) for i in range(5)}
    plain = await store.query(models.QueryRequest(query=unit(base), using=TITLE, limit=3))
    assert set(ids_of(plain)) <= dups
    mmr = await store.query(models.QueryRequest(
        query=models.NearestQuery(nearest=unit(base), mmr=models.Mmr(diversity=0.9, candidates_limit=12)),
        using=TITLE, limit=3))
    assert len(mmr) == 3 and len(set(ids_of(mmr)) & dups) == 1
    assert ids_of(mmr)[0] == ids_of(plain)[0]


async def test_query_batch_and_order_by_query(filled):
    store, _, raw = filled
    requests = [models.QueryRequest(query=unit(raw[pid(i)][TITLE]), using=TITLE, limit=1) for i in (3, 8)]
    results = await store.query_batch(requests)
    assert [ids_of(r) for r in results] == [[pid(3)], [pid(8)]]
    ordered = await store.query(models.QueryRequest(
        query=models.OrderByQuery(order_by=models.OrderBy(key="members", direction=models.Direction.DESC)),
        limit=5, offset=2, with_payload=["members"]))
    assert [p.payload["members"] for p in ordered] == [1000 + 10 * i for i in (37, 36, 35, 34, 33)]


async def test_order_by_keyword_is_refused(filled):
    store, _, _ = filled
    with pytest.raises(StoreError, match="order"):
        await store.scroll(order_by=models.OrderBy(key="title_sort"))
    with pytest.raises(StoreError, match="order"):
        await store.query(models.QueryRequest(query=models.OrderByQuery(order_by="title_sort"), limit=3))


# ---------------------------------------------------------------------------- scroll, count, facet


async def _scroll_all(store, **kwargs) -> list[models.Record]:
    out, offset, pages = [], None, 0
    while True:
        page, offset = await store.scroll(offset=offset, **kwargs)
        out += page
        pages += 1
        assert pages < 100, "scroll does not end"
        if offset is None:
            return out


@pytest.mark.parametrize("key,direction", [("year", models.Direction.DESC), ("score", models.Direction.ASC)])
async def test_ordered_scroll_pages_never_repeat(filled, key, direction):
    store, _, _ = filled
    flt = models.Filter(must_not=[models.FieldCondition(key="type", match=models.MatchValue(value="OVA"))])
    records = await _scroll_all(store, limit=4, order_by=models.OrderBy(key=key, direction=direction),
                                scroll_filter=flt, with_payload=[key, "type"])
    expected = {pid(i) for i in range(N) if payload_of(i)["type"] != "OVA"}
    assert len(records) == len(expected) and set(ids_of(records)) == expected
    values = [r.payload[key] for r in records]
    assert values == sorted(values, reverse=direction == models.Direction.DESC)
    assert all(r.payload["type"] != "OVA" for r in records)


async def test_plain_scroll_visits_every_point_once(filled):
    store, _, _ = filled
    records = await _scroll_all(store, limit=7, with_payload=False)
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


# ---------------------------------------------------------------------------- lifecycle, meta


async def test_meta_mismatch_raises_and_recreate_fixes(factory):
    first = await factory()
    await first.open(SPEC)
    await first.upsert(make_points()[0][:3])
    assert (await first.meta())["text_model"] == "test-text"
    await first.close()
    other = CollectionSpec(text_dim=TEXT_DIM, image_dim=IMAGE_DIM, meta={"text_model": "other", "image_model": "test-image"})
    second = await factory()
    with pytest.raises(IncompatibleCollectionError, match="--recreate") as err:
        await second.open(other)
    assert "test-text" in str(err.value) and "other" in str(err.value)
    wider = CollectionSpec(text_dim=16, image_dim=IMAGE_DIM, meta=SPEC.meta)
    with pytest.raises(IncompatibleCollectionError, match="text_dim"):
        await second.open(wider)
    await second.open(other, recreate=True)
    assert await second.count() == 0
    assert (await second.meta())["text_model"] == "other"


async def test_create_false_on_missing_collection(factory):
    store = await factory()
    assert await store.meta() is None
    with pytest.raises(StoreError, match="anime-mcp index"):
        await store.open(SPEC, create=False)


async def test_reopen_keeps_data(factory, backend):
    store = await factory()
    await store.open(SPEC)
    points, _ = make_points()
    await store.upsert(points)
    await store.close()
    again = await factory()
    await again.open(SPEC, create=False)
    assert await again.count() == N
    assert (await again.retrieve([pid(11)]))[0].payload == payload_of(11)
    hits = await again.query(models.QueryRequest(query=lexical_query("mushishi"), using=LEXICAL, limit=N))
    assert {str(h.id) for h in hits} == {pid(i) for i in range(N) if i % 4 == 3}


async def test_concurrent_reads_and_writes(filled):
    store, points, _ = filled
    results: list[int] = []

    async def reader() -> None:
        for _ in range(5):
            results.append(len(await store.query(models.QueryRequest(query=[0.3] * TEXT_DIM, using=TITLE, limit=5))))

    async def writer() -> None:
        for p in points[:10]:
            await store.set_payload(str(p.id), {**p.payload, "members": 1})

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(reader)
        tg.start_soon(writer)
    assert results == [5] * 20
    assert await store.count(models.Filter(must=[models.FieldCondition(key="members", match=models.MatchValue(value=1))])) == 10


# ---------------------------------------------------------------------------- edge only


async def test_edge_unsupported_constructs_raise(tmp_path):
    store = EdgeStore(tmp_path / "anime")
    await store.open(SPEC)
    await store.upsert(make_points()[0][:5])
    geo = models.Filter(must=[models.FieldCondition(
        key="where", geo_radius=models.GeoRadius(center=models.GeoPoint(lon=0, lat=0), radius=10))])
    bad_requests = [
        models.QueryRequest(query=[0.1] * TEXT_DIM, using=TITLE, filter=geo),
        models.QueryRequest(query=[0.1] * TEXT_DIM, using=TITLE, lookup_from=models.LookupLocation(collection="x")),
        models.QueryRequest(query=models.Document(text="hi", model="m"), using=TITLE),
        models.QueryRequest(query=models.DiscoverQuery(discover=models.DiscoverInput(target=pid(1), context=[])), using=TITLE),
    ]
    for request in bad_requests:
        with pytest.raises(StoreError, match="does not support"):
            await store.query(request)
    with pytest.raises(StoreError, match="does not exist or has no"):
        await store.query(models.QueryRequest(query=str(uuid.uuid4()), using=TITLE))
    await store.close()


async def test_edge_second_process_and_bad_folders(tmp_path):
    first = EdgeStore(tmp_path / "anime")
    await first.open(SPEC)
    second = EdgeStore(tmp_path / "anime")
    with pytest.raises(StoreError, match="in use"):
        await second.open(SPEC)
    await first.close()
    (tmp_path / "anime" / "shard" / "segments").mkdir(exist_ok=True)
    corrupt = tmp_path / "anime" / "shard"
    for child in corrupt.rglob("*"):
        if child.is_file():
            child.write_bytes(b"garbage")
    with pytest.raises(StoreError, match="--recreate"):
        await EdgeStore(tmp_path / "anime").open(SPEC)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="ANIME_MCP_DATA_DIR"):
        await EdgeStore(blocker / "anime").open(SPEC)
    foreign = tmp_path / "mine"
    (foreign / "shard").mkdir(parents=True)
    (foreign / "shard" / "x").write_text("x")
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(StoreError, match="will not delete"):
        await EdgeStore(foreign).open(SPEC, recreate=True)
    assert (foreign / "notes.txt").exists()


async def test_edge_optimize_keeps_answers(tmp_path):
    store = EdgeStore(tmp_path / "anime")
    await store.open(SPEC)
    points, raw = make_points()
    await store.upsert(points)
    before = ids_of(await store.query(models.QueryRequest(query=unit(raw[pid(5)][TITLE]), using=TITLE, limit=5)))
    await store.optimize()
    after = ids_of(await store.query(models.QueryRequest(query=unit(raw[pid(5)][TITLE]), using=TITLE, limit=5)))
    assert before[0] == after[0] == pid(5)
    await store.close()


# ---------------------------------------------------------------------------- server only


class FlakyClient:
    """Fails the first ``failures`` calls of collection_exists with a transient error."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def collection_exists(self, name: str) -> bool:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return False

    async def close(self) -> None:
        pass


async def test_server_retries_transient_errors_only(monkeypatch):
    monkeypatch.setattr(server_mod, "backoff_delay", lambda attempt, exc=None: 0.0)
    settings = StorageSettings(qdrant_retries=3, collection_name="c")
    flaky = FlakyClient(2, ResponseHandlingException(ConnectionError("refused")))
    store = ServerStore(settings, client=flaky)
    assert await store.meta() is None and flaky.calls == 3
    busy = FlakyClient(10, UnexpectedResponse(503, "Service Unavailable", b"", None))
    with pytest.raises(StoreError, match="did not answer"):
        await ServerStore(settings, client=busy).meta()
    assert busy.calls == 4
    bad = FlakyClient(10, UnexpectedResponse(400, "Bad Request", b'{"status":{"error":"nope"}}', None))
    with pytest.raises(StoreError, match="nope"):
        await ServerStore(settings, client=bad).meta()
    assert bad.calls == 1


async def test_server_refuses_collection_without_meta():
    client = AsyncQdrantClient(location=":memory:")
    await client.create_collection("foreign", vectors_config={TITLE: models.VectorParams(size=TEXT_DIM, distance=models.Distance.COSINE)})
    store = ServerStore(StorageSettings(collection_name="foreign"), client=client)
    with pytest.raises(IncompatibleCollectionError, match="no anime-mcp meta record"):
        await store.open(SPEC)
    await client.close()


def test_default_search_params_per_priority():
    layouts = vector_layouts(SPEC)
    request = models.QueryRequest(
        prefetch=[models.Prefetch(query=[0.1] * TEXT_DIM, using=TITLE, limit=5),
                  models.Prefetch(query=[0.1] * TEXT_DIM, using="streaming_vector", limit=5,
                                  params=models.SearchParams(exact=True)),
                  models.Prefetch(query=lexical_query("x"), using=LEXICAL, limit=5)],
        query=models.FusionQuery(fusion=models.Fusion.RRF), limit=3)
    prepared = prepare_request(request, layouts)
    title, streaming, lexical = prepared.prefetch
    assert title.params.quantization.rescore and title.params.quantization.oversampling == layouts[TITLE].oversampling
    assert streaming.params == models.SearchParams(exact=True)  # explicit params are kept
    assert lexical.params is None and prepared.params is None
    assert request.prefetch[0].params is None  # the caller's request is not changed
    assert title.params.acorn is None  # unfiltered: the plain graph walk


def test_filtered_graph_searches_use_acorn():
    """A broad filter walks the HNSW graph with ACORN (plain graph walks lost half the true top 10
    at 100,000 points, see collection.py); vectors without a graph are scanned and need none."""
    layouts = vector_layouts(SPEC)
    movies = models.Filter(must=[models.FieldCondition(key="type", match=models.MatchValue(value="MOVIE"))])
    request = models.QueryRequest(
        prefetch=[models.Prefetch(query=[0.1] * TEXT_DIM, using=TITLE, filter=movies, limit=5),
                  models.Prefetch(query=[0.1] * TEXT_DIM, using="streaming_vector", filter=movies, limit=5)],
        query=models.FusionQuery(fusion=models.Fusion.RRF), filter=movies, limit=3)
    title, streaming = prepare_request(request, layouts).prefetch
    assert title.params.acorn.enable and 0 < title.params.acorn.max_selectivity < 1
    assert layouts["streaming_vector"].hnsw_m == 0 and streaming.params.acorn is None


def test_backoff_grows_with_jitter():
    delays = [server_mod.backoff_delay(a) for a in range(4)]
    for attempt, d in enumerate(delays):
        step = min(server_mod.BACKOFF_CAP_S, server_mod.BACKOFF_BASE_S * 2**attempt)
        assert step / 2 <= d <= step


async def test_server_unreachable_hides_api_key(monkeypatch):
    monkeypatch.setattr(server_mod, "backoff_delay", lambda attempt, exc=None: 0.0)
    secret = "s3cr3t-key"
    settings = StorageSettings(qdrant_url="http://user:pw@127.0.0.1:9/?k=v", qdrant_api_key=secret,
                               qdrant_retries=1, qdrant_timeout=2)
    store = ServerStore(settings)
    assert store.location == "http://127.0.0.1:9/"
    with pytest.raises(StoreError) as err:
        await store.open(SPEC)
    assert secret not in str(err.value) and "pw" not in str(err.value)
    assert "ANIME_MCP_QDRANT_URL" in str(err.value)
    await store.close()


def test_safe_url_strips_credentials():
    assert safe_url("https://me:pw@q.example.com:6333/base?api_key=x#f") == "https://q.example.com:6333/base"


# ---------------------------------------------------------------------------- factory, lexical


def test_factory_picks_backend(tmp_path):
    edge = open_store(StorageSettings(data_dir=tmp_path, collection_name="col"))
    assert isinstance(edge, EdgeStore) and edge.directory == tmp_path / "col"
    server = open_store(StorageSettings(qdrant_url="https://q.example.com:6333", qdrant_api_key="k"))
    assert isinstance(server, ServerStore) and server.location == "https://q.example.com:6333"
    with pytest.raises(StoreError, match="plain folder name"):
        open_store(StorageSettings(data_dir=tmp_path, collection_name="../x"))


def test_lexical_tokens_match_between_documents_and_queries():
    doc = lexical_document("Shingeki no Kyojin 進撃の巨人: the Attacks on Titan, Pokémon")
    for query in ("attack", "titan", "pokemon", "巨人", "KYOJIN"):
        q = lexical_query(query)
        assert q.indices and set(q.indices) <= set(doc.indices), query
        assert q.values == [1.0] * len(q.indices)
    assert lexical_query("").indices == [] and lexical_query("the on no").indices == []
