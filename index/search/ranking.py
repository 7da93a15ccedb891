"""Ranking beyond word match: priors, title matches and what the query's words asked for.

The fused vector score says how well an entry matches the words; among entries that match about
as well, people mean the one most people watch, the main series before its recaps and specials,
and the one whose title they typed. These signals are added to the fused score by a Qdrant score
formula (FormulaQuery), so filters, paging and both backends work unchanged. Weights live in
SearchSettings and are chosen by bench/relevance.py.
"""

from __future__ import annotations

from typing import Any

from qdrant_client import models

from index.search.intent import QueryReading
from index.search.resolve import TitleMatches
from index.search.tuning import SearchSettings

# Entries that are rarely what a bare title or idea means: side stories, recaps, music videos, promos.
SIDE_TYPES = ["OVA", "SPECIAL", "MUSIC", "PV", "CM"]
# Variable defaults: a missing value counts as neutral (a middling score) or absent (no popularity, no year).
DEFAULTS: dict[str, Any] = {"$score": 0.0, "popularity": 0.0, "score_avg": 6.0, "year": 0}
# Order of the candidates when a query holds only facts ("top rated movies"): the wished key.
WISH_ORDER = {"score": "score_avg", "hidden_gems": "score_avg", "popularity": "popularity", None: "popularity"}
RECENT_SCALE_YEARS = 6


def _times(weight: float, expr: Any) -> models.MultExpression:
    return models.MultExpression(mult=[weight, expr])


def _condition(field: str, values: list[Any]) -> models.FieldCondition:
    return models.FieldCondition(key=field, match=models.MatchAny(any=values))


def prior_terms(settings: SearchSettings, short_query: bool = False) -> list[Any]:
    """Popularity, quality and main-entry priors (each off at weight 0), stronger for a short query."""
    scale = settings.short_query_prior_scale if short_query else 1.0
    terms: list[Any] = []
    if settings.popularity_prior:
        terms.append(_times(settings.popularity_prior * scale, "popularity"))
    if settings.quality_prior:
        terms.append(_times(settings.quality_prior * scale / 10, "score_avg"))
    if settings.main_entry_prior:
        terms.append(_times(settings.main_entry_prior * scale,
                            models.Filter(must_not=[_condition("type", SIDE_TYPES)])))
    return terms


def reading_terms(settings: SearchSettings, reading: QueryReading | None, latest_year: int) -> list[Any]:
    """The wished order, the recency wish and the soft facts of a long query."""
    if reading is None:
        return []
    terms: list[Any] = []
    w = settings.wish_weight
    if reading.sort == "score":
        terms.append(_times(w / 10, "score_avg"))
    elif reading.sort == "popularity":
        terms.append(_times(w, "popularity"))
    elif reading.sort == "hidden_gems":
        terms += [_times(w / 10, "score_avg"), _times(-w / 2, "popularity")]
    if reading.recency == "recent":
        terms.append(_times(settings.fact_boost * 2, models.ExpDecayExpression(exp_decay=models.DecayParamsExpression(
            x="year", target=latest_year, scale=RECENT_SCALE_YEARS))))
    elif reading.recency == "old":
        terms.append(_times(settings.fact_boost * 2, models.Filter(must=[
            models.FieldCondition(key="year", range=models.Range(gte=1900, lt=2000))])))
    for boost in reading.boosts:
        terms.append(_times(settings.fact_boost, _condition(boost.field, boost.values)))
    return terms


def title_terms(settings: SearchSettings, titles: TitleMatches | None) -> list[Any]:
    """The typed title dominates: exact, then word-prefix, then close spellings scaled by closeness."""
    if titles is None:
        return []
    terms: list[Any] = []
    if titles.exact and settings.title_exact_boost:
        terms.append(_times(settings.title_exact_boost, models.HasIdCondition(has_id=titles.exact)))
    if titles.prefix and settings.title_prefix_boost:
        # The entries whose title starts with the typed words ("initial d" -> First ... Fourth Stage, Battle
        # Stage) all match the words equally; word-match noise must not order them, the priors do (main
        # series before OVAs and specials, the most watched first). So their fused score is replaced.
        prefix = models.HasIdCondition(has_id=titles.prefix)
        terms += [_times(settings.title_prefix_boost, prefix), models.MultExpression(mult=[-1.0, "$score", prefix])]
    if titles.fuzzy and settings.title_fuzzy_boost:
        for pid, closeness in sorted(titles.fuzzy.items(), key=lambda kv: -kv[1])[:10]:
            terms.append(_times(round(settings.title_fuzzy_boost * closeness, 4), models.HasIdCondition(has_id=[pid])))
    return terms


def ranking_formula(terms: list[Any], *, with_score: bool = True) -> models.FormulaQuery | None:
    """The fused score plus the terms; None when there is nothing to add (the plain fusion is kept)."""
    if not terms:
        return None
    parts = ["$score", *terms] if with_score else terms
    return models.FormulaQuery(formula=models.SumExpression(sum=parts), defaults=dict(DEFAULTS))
