"""What the store benchmark asks: the query shapes the search code sends, their latency, and recall@10
of the default (quantized, HNSW) search against exact search, unfiltered and filtered.

Why apart from bench/store_bench.py: the queries and their scoring are the benchmark's questions; the
run (build, optimize, memory) is how the index they are asked of comes to be.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from qdrant_client import models

from bench.store_data import WORDS, Data
from index.storage.base import VectorStore
from index.storage.collection import VectorLayout
from index.storage.lexical import lexical_query
from index.vectors import DENSE_VECTORS, GENRE, LEXICAL, TITLE

#: The query shapes timed at every size (bench/store_curve.py follows the same names).
SHAPES = ("single_vector", "rrf_3_prefetch", "filtered_broad", "filtered_narrow", "recommend_ids", "low_vector")

BROAD = models.Filter(
    must=[
        models.FieldCondition(key="year", range=models.Range(gte=1990, lte=2010)),
        models.FieldCondition(key="genres", match=models.MatchAny(any=["drama", "romance"])),
    ]
)
NARROW = models.Filter(must=[models.FieldCondition(key="studios", match=models.MatchValue(value="studio7"))])

#: Filters of the filtered-recall check, with the share of points each keeps.
FILTERS = {
    "genres+year (broad)": BROAD,
    "type=MOVIE (20%)": models.Filter(must=[models.FieldCondition(key="type", match=models.MatchValue(value="MOVIE"))]),
    "year>=1976 (75%)": models.Filter(must=[models.FieldCondition(key="year", range=models.Range(gte=1976))]),
    "nsfw (2%)": models.Filter(must=[models.FieldCondition(key="nsfw", match=models.MatchValue(value=True))]),
    "studio (0.3%)": NARROW,
}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


async def timed(fn: Callable[[int], Awaitable[object]], n: int) -> list[float]:
    out = []
    for k in range(n):
        t = time.perf_counter()
        await fn(k)
        out.append(time.perf_counter() - t)
    return out


@dataclass
class Queries:
    """Query vectors near stored points (as a paraphrase would be), in random order, and BM25 texts."""

    sample: np.ndarray
    vectors: dict[str, list[list[float]]]
    texts: list[str]

    @classmethod
    def near(cls, data: Data, n: int, seed: int = 99) -> Queries:
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.integers(0, data.n, size=n))  # sorted: one batch regenerated at a time
        vectors: dict[str, list[list[float]]] = {name: [] for name in DENSE_VECTORS}
        for i in sample:
            for name in DENSE_VECTORS:
                v = data.vector_of(int(i), name)
                v = v + 0.3 * rng.normal(size=v.shape).astype(np.float32) / np.sqrt(v.shape[0])
                vectors[name].append((v / np.linalg.norm(v)).tolist())
        shuffle = rng.permutation(len(sample))
        vectors = {name: [rows[j] for j in shuffle] for name, rows in vectors.items()}
        texts = [" ".join(rng.choice(WORDS, size=3)) for _ in range(n)]
        return cls(sample[shuffle], vectors, texts)

    def shapes(self) -> dict[str, Callable[[int], models.QueryRequest]]:
        """One request builder per name in SHAPES."""
        q, sample = self.vectors, self.sample

        def fused(k: int) -> models.QueryRequest:
            return models.QueryRequest(
                prefetch=[
                    models.Prefetch(query=q[TITLE][k], using=TITLE, limit=50),
                    models.Prefetch(query=q[GENRE][k], using=GENRE, limit=50),
                    models.Prefetch(query=lexical_query(self.texts[k]), using=LEXICAL, limit=50),
                ],
                query=models.FusionQuery(fusion=models.Fusion.RRF),
                limit=10,
                with_payload=True,
            )

        def recommend(k: int) -> models.QueryRequest:
            ids = [Data.pid(int(sample[(k + j) % len(sample)])) for j in range(3)]
            return models.QueryRequest(
                query=models.RecommendQuery(recommend=models.RecommendInput(positive=ids[:2], negative=ids[2:])),
                using=TITLE,
                limit=10,
            )

        builders: dict[str, Callable[[int], models.QueryRequest]] = {
            "single_vector": lambda k: models.QueryRequest(
                query=q[TITLE][k], using=TITLE, limit=10, with_payload=["anime_id", "title"]
            ),
            "rrf_3_prefetch": fused,
            "filtered_broad": lambda k: models.QueryRequest(query=q[TITLE][k], using=TITLE, filter=BROAD, limit=10),
            "filtered_narrow": lambda k: models.QueryRequest(query=q[TITLE][k], using=TITLE, filter=NARROW, limit=10),
            "recommend_ids": recommend,
            "low_vector": lambda k: models.QueryRequest(
                query=q["streaming_vector"][k], using="streaming_vector", limit=10
            ),
        }
        assert tuple(builders) == SHAPES
        return builders


async def latency(store: VectorStore, queries: Queries, n: int) -> dict[str, dict[str, float]]:
    """p50/p99 of each shape over n queries (after one warm-up query each)."""
    out = {}
    for name, make in queries.shapes().items():
        await store.query(make(0))
        lat = await timed(lambda k, make=make: store.query(make(k)), n)
        out[name] = {"p50_ms": round(pct(lat, 50), 2), "p99_ms": round(pct(lat, 99), 2)}
    return out


def _variants(layout: VectorLayout, oversampling: list[float]) -> dict[str, models.SearchParams | None]:
    variants: dict[str, models.SearchParams | None] = {
        "default": None,
        "no_rescore": models.SearchParams(quantization=models.QuantizationSearchParams(rescore=False)),
    }
    for os_ in oversampling:
        variants[f"oversample_{os_:g}"] = models.SearchParams(
            hnsw_ef=layout.hnsw_ef, quantization=models.QuantizationSearchParams(rescore=True, oversampling=os_)
        )
    if layout.hnsw_m:
        variants["ef256_oversample_2"] = models.SearchParams(
            hnsw_ef=256, quantization=models.QuantizationSearchParams(rescore=True, oversampling=2.0)
        )
    return variants


async def recall(
    store: VectorStore, layouts: dict[str, VectorLayout], queries: Queries, n: int, oversampling: list[float] | None
) -> dict[str, dict]:
    """Recall@10 per vector of the default params (and, with ``oversampling``, of variants) vs exact float search."""
    exact = models.SearchParams(exact=True, quantization=models.QuantizationSearchParams(ignore=True))
    out: dict[str, dict] = {}
    for name in DENSE_VECTORS:
        lay, q = layouts[name], queries.vectors[name]
        variants = _variants(lay, oversampling) if oversampling is not None else {"default": None}
        truth = []
        for k in range(n):
            hits = await store.query(models.QueryRequest(query=q[k], using=name, limit=10, params=exact))
            truth.append({str(h.id) for h in hits})
        row = {}
        for label, params in variants.items():
            found, lat = 0, []
            for k in range(n):
                t = time.perf_counter()
                hits = await store.query(models.QueryRequest(query=q[k], using=name, limit=10, params=params))
                lat.append(time.perf_counter() - t)
                found += len(truth[k] & {str(h.id) for h in hits})
            total = max(1, sum(len(t) for t in truth))
            row[label] = {"recall": round(found / total, 4), "p50_ms": round(pct(lat, 50), 2)}
        out[f"{name} ({lay.priority.value})"] = row
    return out


async def filtered_recall(store: VectorStore, queries: Queries, n: int) -> dict[str, dict]:
    """Filtered title search with the default params (exact scan under FULL_SCAN_POINTS matches, ACORN
    above) against exact filtered search, per filter in FILTERS."""
    out: dict[str, dict] = {}
    for label, f in FILTERS.items():
        found = total = 0
        lat = []
        for k in range(n):
            q = queries.vectors[TITLE][k]
            exact = await store.query(
                models.QueryRequest(query=q, using=TITLE, filter=f, limit=10, params=models.SearchParams(exact=True))
            )
            t = time.perf_counter()
            hits = await store.query(models.QueryRequest(query=q, using=TITLE, filter=f, limit=10))
            lat.append(time.perf_counter() - t)
            total += len(exact)
            found += len({str(h.id) for h in exact} & {str(h.id) for h in hits})
        out[label] = {
            "recall": round(found / max(1, total), 4),
            "p50_ms": round(pct(lat, 50), 2),
            "p99_ms": round(pct(lat, 99), 2),
        }
    return out
