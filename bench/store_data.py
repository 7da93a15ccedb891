"""Synthetic entries for the store benchmark: 13 dense vectors, BM25 text and a payload shaped like a real entry.

Why apart from bench/store_bench.py: the data (deterministic, generated batch by batch so a million entries
never sit in memory at once) changes for other reasons than what is measured on it.
"""

from __future__ import annotations

import uuid
from functools import lru_cache

import numpy as np
from qdrant_client import models

from index.storage.lexical import lexical_document
from index.vectors import DENSE_VECTORS, IMAGE, LEXICAL, PRIORITY, Priority

GENRES = ["action", "drama", "comedy", "romance", "sci-fi", "fantasy", "mystery", "horror", "sports", "slice of life"]
TYPES = ["TV", "MOVIE", "OVA", "ONA", "SPECIAL"]
WORDS = (
    "school girl boy magic robot war space love friend family city dark hero demon sword idol music "
    "detective murder time travel game world king princess dragon ninja pirate ghost cat dog train"
).split()


class Data:
    """Deterministic synthetic points, generated batch by batch (never all in memory)."""

    def __init__(self, n: int, text_dim: int, image_dim: int, batch: int, seed: int = 0):
        self.n, self.dims = n, {name: image_dim if name == IMAGE else text_dim for name in DENSE_VECTORS}
        self.batch = batch
        clusters = max(10, n // 10)  # ~10 close neighbours per point, like seasons of one franchise
        rng = np.random.default_rng(seed)
        self.centers = {name: rng.normal(size=(clusters, d)).astype(np.float32) for name, d in self.dims.items()}
        self.seed = seed

    @staticmethod
    def pid(i: int) -> str:
        return str(uuid.UUID(int=i + 1))

    def vector_of(self, i: int, name: str) -> np.ndarray:
        start = i - i % self.batch
        return self._batch_vectors(start)[name][i - start]

    @lru_cache(maxsize=2)  # noqa: B019  the generator lives exactly as long as the benchmark run
    def _batch_vectors(self, start: int) -> dict[str, np.ndarray]:
        return self.vectors(start, min(self.n, start + self.batch))

    def vectors(self, start: int, stop: int) -> dict[str, np.ndarray]:
        assert start % self.batch == 0, "vectors are generated per upsert batch"
        rng = np.random.default_rng((self.seed, start))
        out = {}
        for name, d in self.dims.items():
            centers = self.centers[name]
            pick = rng.integers(0, len(centers), size=stop - start)
            x = centers[pick] + 0.6 * rng.normal(size=(stop - start, d)).astype(np.float32)
            out[name] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out

    def points(self, start: int, stop: int) -> list[models.PointStruct]:
        rng = np.random.default_rng((self.seed, start, 1))
        vecs = self.vectors(start, stop)
        points = []
        for k, i in enumerate(range(start, stop)):
            words = " ".join(rng.choice(WORDS, size=60))
            genres = sorted(set(rng.choice(GENRES, size=int(rng.integers(1, 4)))))
            vector: dict = {
                name: vecs[name][k].tolist() for name in DENSE_VECTORS if PRIORITY[name] != Priority.LOW or i % 3
            }  # low vectors often empty
            vector[LEXICAL] = lexical_document(f"title {i} {words}")
            points.append(models.PointStruct(id=self.pid(i), vector=vector, payload=payload(i, words, genres, rng)))
        return points


def payload(i: int, words: str, genres: list[str], rng: np.random.Generator) -> dict:
    """Every indexed key of a real entry, and a ~1.5 KB entry blob."""
    return {
        "anime_id": f"a{i}",
        "title": f"Title {i} {words[:20]}",
        "titles_norm": [f"title {i}"],
        "type": TYPES[i % 5],
        "status": "FINISHED",
        "year": 1960 + i % 65,
        "season": "SPRING",
        "episodes": int(rng.integers(1, 100)),
        "duration": 1440,
        "rating": "PG-13",
        "source_material": "MANGA",
        "nsfw": bool(i % 50 == 0),
        "genres": genres,
        "tags": genres,
        "demographics": ["shounen"],
        "studios": [f"studio{i % 300}"],
        "score": round(float(rng.uniform(4, 9.5)), 2),
        "score_avg": 7.0,
        "members": int(rng.integers(0, 2_000_000)),
        "popularity_rank": i,
        "title_sort": f"title {i:06d}",
        "content_hash": uuid.uuid4().hex,
        "entry": {"synopsis": words * 4, "id": f"a{i}"},
    }
