"""Query families of the relevance benchmark (issue 12): loading, checking and scoring.

Why: one overall MRR hides what people actually type. Each family (titles, short ideas, intents, people,
vague memories, Japanese, other languages) is scored on its own, against judgements written before tuning.
Judgements are checked against the data at load and the benchmark fails loudly when one is wrong: an
unknown id, an intent rule that matches fewer than 5 entries, or a "vague memory" that repeats the
synopsis (family f must share fewer than a quarter of its content words with its target).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent


@dataclass(frozen=True)
class Family:
    key: str
    name: str
    kind: str  # "known" (MRR, Recall@1/@10), "intent" (precision@5/@10 by a rule) or "resolve" (the one entry
    # the resolver behind get_anime picks: resolved@1)
    target: tuple[str, float] | None  # (metric, minimum) from issue 12, for the 1,822-entry set
    multilingual_only: bool = False


FAMILIES: dict[str, Family] = {
    f.key: f
    for f in (
        Family("a", "long descriptions (bench/queries.json)", "known", ("mrr", 0.867)),
        Family("b", "bare, partial, misspelled and English titles", "known", ("mrr", 0.85)),
        Family("c", "short ideas (2-6 words)", "known", ("mrr", 0.85)),
        Family("d", "intents: facts and wishes", "intent", ("p@5", 0.80)),
        Family("e", "people and characters (enriched entries)", "known", None),
        Family("f", "vague memories in other words", "known", ("mrr", 0.50)),
        Family("g", "Japanese titles: kana/kanji and romanisations", "known", None),
        Family("h", "descriptions in other languages", "known", None, multilingual_only=True),
        Family("i", "requests as people phrase them to an assistant", "known", ("mrr", 0.85)),
        Family("j", "names in lookups, through the resolver", "resolve", ("resolved@1", 0.90)),
    )
}

# A text model is taken as multilingual when its name says so (bge-m3 is the `full` profile's model).
MULTILINGUAL_MARKERS = ("bge-m3", "multilingual", "labse", "xlm", "e5-", "gte-multi", "jina-embeddings-v3")

# Family f's check: a vague memory must share < VAGUE_MAX_SHARE of its content words with the target's titles+synopsis.
VAGUE_MAX_SHARE = 0.25
# Intent rules must match at least this many entries of the corpus, or precision@5 could not reach 1.
RULE_MIN_MATCHES = 5

# English function words, plus the filler people put around a memory ("that anime I watched"): not content.
STOPWORDS = frozenset(
    """
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each even ever few for from further get got had has have
having he her here hers herself him himself his how i if in into is it its itself just like me more most my
myself no nor not now of off on once only or other our ours out over own same she should so some such than that
the their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves one ones
something someone somebody thing things kind sort lot really pretty maybe think thought remember remembered
forget forgot watched watch saw seen called name named anime show series cartoon episode episodes im dont
wasnt isnt theres thats whats was were
""".split()
)

_WORD = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    """Crude suffix stripping (ing/ed/ly, es after s/x/z/ch/sh, else s), enough to match "brothers" with "brother"."""
    if word.endswith(("ses", "xes", "zes", "ches", "shes")) and len(word) > 5:
        return word[:-2]
    for suf, keep in (("ing", 3), ("ed", 3), ("ly", 4), ("s", 3)):
        if word.endswith(suf) and len(word) - len(suf) >= keep and not word.endswith(("ss", "us", "is")):
            return word[: -len(suf)]
    return word


def content_words(text: str) -> set[str]:
    """Lower-cased, stopwords removed, stemmed words of a text."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


# ---------------------------------------------------------------- the data the judgements are checked against


def _mal(e: dict[str, Any]) -> dict[str, Any]:
    return ((e.get("statistics") or {}).get("mal") or {}) if isinstance(e.get("statistics"), dict) else {}


def entry_titles(e: dict[str, Any]) -> list[str]:
    return [
        t for t in [e.get("title"), e.get("title_english"), e.get("title_japanese"), *(e.get("synonyms") or [])] if t
    ]


def entry_studios(e: dict[str, Any]) -> list[str]:
    return [s.get("name", "") for s in ((e.get("staff_data") or {}).get("studios") or []) if isinstance(s, dict)]


def entry_people(e: dict[str, Any]) -> str:
    """Every character, nickname, voice actor and staff name of an entry, for checking family e."""
    names: list[str] = []
    for c in e.get("characters") or []:
        names += [c.get("name") or "", c.get("name_native") or "", *(c.get("nicknames") or [])]
        names += [v.get("name") or "" for v in c.get("voice_actors") or []]
    staff = e.get("staff_data") or {}
    for people in (staff.get("production_staff") or {}).values():
        names += [p.get("name") or "" for p in people if isinstance(p, dict)]
    for key in ("studios", "producers", "licensors"):
        names += [p.get("name") or "" for p in staff.get(key) or [] if isinstance(p, dict)]
    return " | ".join(names)


@lru_cache(maxsize=4)
def load_entries(paths: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """id -> raw entry, from the shared data files a query file names (paths relative to the repo root)."""
    out: dict[str, dict[str, Any]] = {}
    for p in paths:
        doc = json.loads((REPO / p).read_text(encoding="utf-8"))
        for e in doc["data"] if isinstance(doc, dict) else doc:
            out[str(e["id"])] = e
    return out


# ---------------------------------------------------------------- intent rules

RULE_KEYS = {
    "genres_any",
    "genres_all",
    "genres_none",
    "types",
    "year_min",
    "year_max",
    "studios_any",
    "score_min",
    "members_min",
    "synopsis_any",
    "synopsis_none",
    "episodes_min",
    "episodes_max",
}


def _word_hit(patterns: list[str], text: str) -> bool:
    # whole words, plural allowed: "robot" matches "robots" but "mecha" does not match "mechanical"
    return any(re.search(r"\b" + re.escape(p.lower()) + r"(?:s|es)?\b", text) for p in patterns)


def rule_matches(rule: dict[str, Any], e: dict[str, Any]) -> bool:
    """Whether an entry satisfies an intent rule. Fields are ANDed; a missing value fails its condition."""
    genres = {g.lower() for g in e.get("genres") or []}
    if "genres_any" in rule and not genres & {g.lower() for g in rule["genres_any"]}:
        return False
    if "genres_all" in rule and not {g.lower() for g in rule["genres_all"]} <= genres:
        return False
    if "genres_none" in rule and genres & {g.lower() for g in rule["genres_none"]}:
        return False
    if "types" in rule and str(e.get("type", "")).upper() not in rule["types"]:
        return False
    year = e.get("year")
    if "year_min" in rule and (year is None or int(year) < rule["year_min"]):
        return False
    if "year_max" in rule and (year is None or int(year) > rule["year_max"]):
        return False
    if "studios_any" in rule:
        studios = {s.lower() for s in entry_studios(e)}
        if not studios & {s.lower() for s in rule["studios_any"]}:
            return False
    mal = _mal(e)
    if "score_min" in rule and (mal.get("score") is None or mal["score"] < rule["score_min"]):
        return False
    if "members_min" in rule and (mal.get("members") is None or mal["members"] < rule["members_min"]):
        return False
    eps = e.get("episodes")
    if "episodes_min" in rule and (eps is None or int(eps) < rule["episodes_min"]):
        return False
    if "episodes_max" in rule and (eps is None or int(eps) > rule["episodes_max"]):
        return False
    text = " ".join([*entry_titles(e), e.get("synopsis") or ""]).lower()
    if "synopsis_any" in rule and not _word_hit(rule["synopsis_any"], text):
        return False
    if "synopsis_none" in rule and _word_hit(rule["synopsis_none"], text):
        return False
    return True


# ---------------------------------------------------------------- loading and checking a query file


@dataclass
class QuerySet:
    corpus: str  # "mal_1822" or "catalogue_24901"
    label: str
    datasets: tuple[str, ...]
    queries: list[dict[str, Any]]
    entries: dict[str, dict[str, Any]]


class JudgementError(ValueError):
    """A written judgement does not hold on the data; the message names the query and what to change."""


def check_queries(qs: QuerySet) -> None:
    """Fail loudly on judgements the data contradicts (see the module docstring)."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for q in qs.queries:
        fam, text = q.get("family"), q.get("query", "")
        if fam not in FAMILIES:
            problems.append(f"{text!r}: unknown family {fam!r}")
            continue
        if (fam, text) in seen:
            problems.append(f"{text!r}: duplicate in family {fam}")
        seen.add((fam, text))
        if FAMILIES[fam].kind == "intent":
            rule = q.get("rule")
            if not isinstance(rule, dict) or not rule or set(rule) - RULE_KEYS:
                problems.append(f"{text!r}: intent needs a rule with keys from {sorted(RULE_KEYS)}")
                continue
            n = sum(rule_matches(rule, e) for e in qs.entries.values())
            q["rule_matches"] = n
            if n < RULE_MIN_MATCHES:
                problems.append(f"{text!r}: rule {rule} matches {n} entries (< {RULE_MIN_MATCHES})")
            continue
        rel = q.get("relevant") or []
        if not rel:
            problems.append(f"{text!r}: no relevant ids")
        missing = [r for r in rel if r not in qs.entries]
        if missing:
            problems.append(f"{text!r}: ids not in {qs.datasets}: {missing}")
            continue
        if fam == "e":
            who = (q.get("person") or "").lower()
            naming = {i for i, e in qs.entries.items() if who and who in entry_people(e).lower()}
            if not who or naming != set(rel):
                problems.append(
                    f"{text!r}: person {q.get('person')!r} is named by {sorted(naming)}, relevant lists {sorted(rel)}"
                )
        if fam == "f":
            words = content_words(text)
            for r in rel:
                e = qs.entries[r]
                shared = words & content_words(" ".join([*entry_titles(e), e.get("synopsis") or ""]))
                if not words or len(shared) / len(words) >= VAGUE_MAX_SHARE:
                    problems.append(
                        f"{text!r}: shares {len(shared)}/{len(words)} content words with {r} "
                        f"({sorted(shared)}); rephrase (limit {VAGUE_MAX_SHARE:.0%})"
                    )
    if problems:
        raise JudgementError(f"{len(problems)} bad judgement(s) in the {qs.label} queries:\n  " + "\n  ".join(problems))


MAL_1822 = ("../shared/data/anime_mal_1822.json", "../shared/data/enriched_sample_28.json")


def load_query_set(path: Path, family: str | None = None) -> QuerySet:
    """Read a query file ({corpus, datasets, notes, queries}) and check it against its datasets."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    queries = [dict(q) for q in doc["queries"]]
    if family:  # bench/queries.json predates families: all of it is family a, on the 1,822 entries
        for q in queries:
            q.setdefault("family", family)
    datasets = tuple(doc.get("datasets") or MAL_1822)
    qs = QuerySet(doc.get("corpus", "mal_1822"), path.name, datasets, queries, load_entries(datasets))
    check_queries(qs)
    return qs


# ---------------------------------------------------------------- scoring


def score_known(ranked: list[list[str]], queries: list[dict[str, Any]]) -> dict[str, float]:
    """Recall@k = share of the relevant ids in the top k (capped at k); MRR = mean 1/rank of the first relevant."""
    r1 = r10 = mrr = 0.0
    for ids, q in zip(ranked, queries, strict=True):
        rel = set(q["relevant"])
        r1 += len(rel & set(ids[:1])) / min(1, len(rel))
        r10 += len(rel & set(ids[:10])) / min(10, len(rel))
        mrr += next((1.0 / (i + 1) for i, x in enumerate(ids) if x in rel), 0.0)
    n = max(len(queries), 1)
    return {"recall@1": r1 / n, "recall@10": r10 / n, "mrr": mrr / n, "n": len(queries)}


def precision_at(ids: list[str], rule: dict[str, Any], entries: dict[str, dict[str, Any]], k: int) -> float:
    """Share of the k first results that satisfy the rule; a short page counts its missing places as misses."""
    return sum(1 for i in ids[:k] if i in entries and rule_matches(rule, entries[i])) / k


def score_intent(
    ranked: list[list[str]], queries: list[dict[str, Any]], entries: dict[str, dict[str, Any]]
) -> dict[str, float]:
    n = max(len(queries), 1)
    p5 = sum(precision_at(ids, q["rule"], entries, 5) for ids, q in zip(ranked, queries, strict=True))
    p10 = sum(precision_at(ids, q["rule"], entries, 10) for ids, q in zip(ranked, queries, strict=True))
    # what a random page would score: the share of the corpus that satisfies each rule
    base = sum(q.get("rule_matches", 0) / max(len(entries), 1) for q in queries)
    return {"p@5": p5 / n, "p@10": p10 / n, "random_p": base / n, "n": len(queries)}


def per_query(ids: list[str], q: dict[str, Any], entries: dict[str, dict[str, Any]]) -> float:
    """One query's main metric (reciprocal rank, or precision@5 for intents), for listing the worst queries."""
    if FAMILIES[q["family"]].kind == "intent":
        return precision_at(ids, q["rule"], entries, 5)
    rel = set(q["relevant"])
    return next((1.0 / (i + 1) for i, x in enumerate(ids) if x in rel), 0.0)


def main_metric(family: str) -> str:
    return {"intent": "p@5", "resolve": "resolved@1"}.get(FAMILIES[family].kind, "mrr")


def is_multilingual(model_name: str) -> bool:
    return any(m in model_name.lower() for m in MULTILINGUAL_MARKERS)
