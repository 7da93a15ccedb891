"""Filter correctness of the relevance benchmark: random filter combinations must never be violated or short.

Why: filters run inside the vector search (payload indexes); a page must be full whenever enough entries match.
"""

from __future__ import annotations

import inspect
import random
from typing import Any

from index.search.engine import SearchEngine
from index.search.filters import SearchFilters

GENRES = [
    "Action",
    "Adventure",
    "Comedy",
    "Drama",
    "Fantasy",
    "Romance",
    "Sci-Fi",
    "Supernatural",
    "Horror",
    "Mystery",
    "Sports",
    "Slice of Life",
    "Ecchi",
    "Suspense",
]
TYPES = ["TV", "MOVIE", "OVA", "SPECIAL", "ONA"]
FILTER_QUERIES = [
    "a story about friendship",
    "war and giant robots",
    "a girl with magic powers",
    "funny school life",
    "a dark mystery",
    "sports team",
    "love triangle",
    "space adventure",
]


def random_filters(rng: random.Random, years: tuple[int, int]) -> dict[str, Any]:
    f: dict[str, Any] = {}
    if rng.random() < 0.6:
        f["genres"] = rng.sample(GENRES, rng.randint(1, 3))
        if rng.random() < 0.4:
            f["genres_mode"] = "all"
    if rng.random() < 0.3:
        f["exclude_genres"] = rng.sample([g for g in GENRES if g not in f.get("genres", [])], 1)
    if rng.random() < 0.5:
        f["types"] = rng.sample(TYPES, rng.randint(1, 2))
    if rng.random() < 0.5:
        f["year_min"] = rng.randint(years[0], years[1])
    if rng.random() < 0.5:
        f["year_max"] = rng.randint(f.get("year_min", years[0]), years[1])
    if rng.random() < 0.4:
        f["score_min"] = round(rng.uniform(5.0, 8.5), 1)
    return f


def violations(hit: Any, f: dict[str, Any]) -> list[str]:
    bad = []
    genres = set(hit.genres or [])
    if f.get("genres"):
        want = set(f["genres"])
        ok = want <= genres if f.get("genres_mode") == "all" else bool(want & genres)
        if not ok:
            bad.append(f"genres {sorted(genres)} vs {f['genres']} ({f.get('genres_mode', 'any')})")
    if set(f.get("exclude_genres", [])) & genres:
        bad.append(f"excluded genre in {sorted(genres)}")
    if f.get("types") and hit.type not in f["types"]:
        bad.append(f"type {hit.type}")
    if "year_min" in f and (hit.year is None or hit.year < f["year_min"]):
        bad.append(f"year {hit.year} < {f['year_min']}")
    if "year_max" in f and (hit.year is None or hit.year > f["year_max"]):
        bad.append(f"year {hit.year} > {f['year_max']}")
    if "score_min" in f and (hit.score is None or hit.score < f["score_min"]):
        bad.append(f"score {hit.score} < {f['score_min']}")
    return bad


async def filter_check(engine: SearchEngine, n: int, seed: int = 7) -> dict[str, Any]:
    """Random filter combinations: no hit may violate its filter; if k entries match, k must come back.

    Checked on the plain path (interpret=False): the words of a query may add filters of their own (a genre read
    from "sports team"), which would make "k entries match" ambiguous. With interpretation on, hits must still
    satisfy every explicit filter (they win field by field); those pages are checked for violations only.
    """
    rng = random.Random(seed)
    problems: list[str] = []
    checked = short = empty_ok = read_violations = 0
    can_plain = "interpret" in inspect.signature(engine.search_text).parameters
    for _ in range(n):
        f = random_filters(rng, (1975, 2008))
        filters = SearchFilters(**f)
        k = rng.choice([5, 10, 20])
        query = rng.choice(FILTER_QUERIES)
        total = (await engine.browse(filters, limit=1)).total
        plain = {"interpret": False} if can_plain else {}
        page = await engine.search_text(query, filters=filters, limit=k, **plain)
        checked += 1
        for hit in page.results:
            for b in violations(hit, f):
                problems.append(f"{query!r} {f}: {hit.id} {b}")
        if len(page.results) != min(k, total):
            short += 1
            problems.append(f"{query!r} {f}: {len(page.results)} results for limit {k}, {total} entries match")
        if total == 0:
            empty_ok += 1
        if can_plain:
            read = await engine.search_text(query, filters=filters, limit=k)
            for hit in read.results:
                for b in violations(hit, f):
                    read_violations += 1
                    problems.append(f"{query!r} {f} (words read): {hit.id} {b}")
    return {
        "combinations": checked,
        "violations_or_short": len(problems),
        "short_pages": short,
        "no_match_combinations": empty_ok,
        "violations_with_words_read": read_violations,
        "examples": problems[:10],
    }
