"""Ranking beyond word match: priors, title matches and what the query's words asked for.

The fused vector score says how well an entry matches the words; among entries that match about
as well, people mean the one most people watch, the main series before its recaps and specials,
and the one whose title they typed. These signals are added to the fused score by a Qdrant score
formula (FormulaQuery), so filters, paging and both backends work unchanged. Weights live in
SearchSettings and are chosen by bench/relevance.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qdrant_client import models

from index.payload import normalise_title
from index.search.intent import QueryReading
from index.search.title_index import TitleMatches
from index.search.tuning import SearchSettings

# Entries that are rarely what a bare title or idea means: side stories, recaps, music videos, promos.
SIDE_TYPES = ["OVA", "SPECIAL", "MUSIC", "PV", "CM"]
# Variable defaults: a missing value counts as neutral (a middling score) or absent (no popularity, no year).
DEFAULTS: dict[str, Any] = {"$score": 0.0, "popularity": 0.0, "score_avg": 6.0, "year": 0}
# Order of the candidates when a query holds only facts ("top rated movies"): the wished key.
WISH_ORDER = {"score": "score_avg", "hidden_gems": "score_avg", "popularity": "popularity", None: "popularity"}
RECENT_SCALE_YEARS = 6
MAX_NAME_PHRASES = 60


def _times(weight: float, expr: Any) -> models.MultExpression:
    return models.MultExpression(mult=[weight, expr])


def _condition(field: str, values: list[Any]) -> models.FieldCondition:
    return models.FieldCondition(key=field, match=models.MatchAny(any=values))


def prior_factor(settings: SearchSettings, short_query: bool = False) -> list[Any]:
    """Terms of the prior factor (1 + popularity, quality and main-entry terms), stronger for a short query.

    The factor multiplies the word-match score, so it reorders entries that match about equally well and
    leaves a clearly better match ahead (a bare name of an obscure special still finds that special)."""
    scale = settings.short_query_prior_scale if short_query else 1.0
    terms: list[Any] = []
    if settings.popularity_prior:
        terms.append(_times(settings.popularity_prior * scale, "popularity"))
    if settings.quality_prior:
        terms.append(_times(settings.quality_prior * scale / 10, "score_avg"))
    if settings.main_entry_prior:
        terms.append(
            _times(settings.main_entry_prior * scale, models.Filter(must_not=[_condition("type", SIDE_TYPES)]))
        )
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
        terms.append(
            _times(
                settings.fact_boost * 2,
                models.ExpDecayExpression(
                    exp_decay=models.DecayParamsExpression(x="year", target=latest_year, scale=RECENT_SCALE_YEARS)
                ),
            )
        )
    elif reading.recency == "old":
        terms.append(
            _times(
                settings.fact_boost * 2,
                models.Filter(must=[models.FieldCondition(key="year", range=models.Range(gte=1900, lt=2000))]),
            )
        )
    for boost in reading.boosts:
        terms.append(_times(settings.fact_boost, _condition(boost.field, boost.values)))
    return terms


def ranking_formula(
    settings: SearchSettings,
    *,
    priors: list[Any],
    reading: Sequence[Any] = (),
    titles: TitleMatches | None = None,
    with_score: bool = True,
) -> models.FormulaQuery | None:
    """(fused score, or the prefix-title constant) x (1 + priors) + title boosts + the reading's wishes.

    Without ``with_score`` (a query of facts alone) the entries are ranked by priors and wishes only.
    None when nothing would change the plain fusion."""
    extra = list(reading)
    if not with_score:
        parts = [*priors, *extra]
        return models.FormulaQuery(formula=models.SumExpression(sum=parts or [0.0]), defaults=dict(DEFAULTS))
    if not priors and not extra and not (titles and titles.ids()):
        return None
    base = _title_base(settings, titles)
    scored = models.MultExpression(mult=[base, models.SumExpression(sum=[1.0, *priors])]) if priors else base
    return models.FormulaQuery(formula=models.SumExpression(sum=[scored, *extra]), defaults=dict(DEFAULTS))


def name_phrases(text: str) -> list[str]:
    """Word runs of the text that may be a person's or character's name: two to four words, or one
    distinctive word when the text is one or two words ("Milkit"), normalised like stored names."""
    words = normalise_title(text).split()
    runs = [" ".join(words[i : i + n]) for n in (2, 3, 4) for i in range(len(words) - n + 1)]
    if len(words) <= 2:
        runs += [w for w in words if len(w) >= 4]
    return list(dict.fromkeys(runs))[:MAX_NAME_PHRASES]


def people_terms(settings: SearchSettings, text: str) -> list[Any]:
    """Entries with a character, staff member or voice actor named in the words rank up ("Kanade Ayase")."""
    phrases = name_phrases(text) if settings.people_boost else []
    if not phrases:
        return []
    return [_times(settings.people_boost, _condition("people_norm", phrases))]


def _title_base(settings: SearchSettings, titles: TitleMatches | None) -> Any:
    """The word-match part of the score: the fused score, except for titles the words partly match.

    Entries whose title is the typed words ("one piece": the series and the films titled so too), or starts
    with or holds them ("initial d" -> First ... Fourth Stage, Battle Stage), match the words equally; word-match
    noise must not order them, the priors do (main series before films, OVAs and specials, the most watched
    first), so their fused score is replaced by one constant per group, the exact group's above any other
    score. A title within typos of the words gets at least a floor that grows with closeness ("berzerk")."""
    base: Any = "$score"
    if titles is None:
        return base
    replaced: list[Any] = []
    for ids, constant in ((titles.exact, settings.title_exact_boost), (titles.prefix, settings.title_prefix_boost)):
        if ids and constant:
            group = models.HasIdCondition(has_id=ids)
            replaced += [models.MultExpression(mult=[-1.0, "$score", group]), _times(constant, group)]
    if replaced:
        base = models.SumExpression(sum=["$score", *replaced])
    if titles.fuzzy and settings.title_fuzzy_boost:
        cutoff = settings.title_fuzzy_cutoff
        floors = [
            _times(round(settings.title_fuzzy_boost * (0.5 + 0.5 * closeness), 4), models.HasIdCondition(has_id=[pid]))
            for pid, closeness in sorted(
                ((pid, (ratio - cutoff) / (100 - cutoff)) for pid, ratio in titles.fuzzy.items()), key=lambda kv: -kv[1]
            )[:10]
        ]
        base = models.MaxExpression(max=[base, models.SumExpression(sum=floors)])
    return base
