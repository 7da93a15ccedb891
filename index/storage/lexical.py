"""BM25 sparse vectors for the ``lexical`` named vector.

Both backends use qdrant-edge's BM25 tokenizer for documents *and* queries, so the
tokens a query produces always match the tokens stored at indexing time, whichever
backend holds the index. The collection applies the IDF modifier at query time;
documents carry BM25 term-frequency weights, queries weight each unique token 1.0.

Tokenisation (measured with qdrant-edge 0.9): the ``Multilingual`` tokenizer splits
Japanese into words (進撃の巨人 -> 進撃 / の / 巨人) but picks one script per text, so
in mixed text ("Attack on Titan 進撃の巨人") a Japanese run stays one token. Each run of
CJK characters is therefore tokenised on its own and the rest as Latin text; the
term counts are merged and weighted here with the usual BM25 formula
(k=1.2, b=0.75, average length 256 tokens). English stemming and stopwords keep
"attacks" ~ "attack"; ASCII folding makes "Pokémon" ~ "pokemon". Changing any of
this changes token ids, so ``LEXICAL_SIGNATURE`` is part of the collection meta and
an index built with another tokenisation must be rebuilt.
"""

from __future__ import annotations

import re
from functools import lru_cache

from qdrant_client import models
from qdrant_edge import Bm25, Bm25Config, TokenizerType

LEXICAL_SIGNATURE = "bm25:multilingual+cjk-runs:english:fold:romaji-long-vowels:k1.2:b0.75:avg256:v2"
K1, B, AVG_LEN = 1.2, 0.75, 256.0

# Japanese, Chinese and Korean scripts (kana, kanji, hangul, half-width katakana): written without spaces
CJK_RUN = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3131-\u318e\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]+"
)


@lru_cache(maxsize=1)
def _counter() -> Bm25:
    """BM25 with b=0: a token's weight is tf*(k+1)/(tf+k), so its term count can be read back."""
    return Bm25(
        Bm25Config(
            k=K1,
            b=0.0,
            avg_len=AVG_LEN,
            tokenizer=TokenizerType.Multilingual,
            language="english",
            lowercase=True,
            ascii_folding=True,
        )
    )


# Romanised Japanese writes long vowels several ways: Shinichirou / Shinichiro / Shin'ichirō, Youko / Yoko,
# Satou / Sato / Satoh, Kyuubi / Kyubi. Folding "ou", "oh" (word-final), "oo" and "uu" to one vowel on both
# sides lets a user's spelling match the source's; ō/ū are folded to o/u by the tokenizer's ASCII folding.
_LONG_VOWEL = re.compile(r"(?<=[a-z])(?:ou|oo|oh\b|uu)", re.IGNORECASE)


def fold_romaji(text: str) -> str:
    return _LONG_VOWEL.sub(lambda m: m.group(0)[0], text)


def _parts(text: str) -> list[str]:
    runs = CJK_RUN.findall(text)
    if not runs:
        return [fold_romaji(text)]
    return [fold_romaji(CJK_RUN.sub(" ", text)), *runs]


def term_counts(text: str) -> dict[int, int]:
    """Token id -> number of occurrences, CJK runs tokenised separately from the rest."""
    counts: dict[int, int] = {}
    for part in _parts(text or ""):
        vec = _counter().embed_document(part)
        for index, weight in zip(vec.indices, vec.values, strict=True):
            counts[index] = counts.get(index, 0) + round(weight * K1 / (K1 + 1 - weight))
    return counts


def lexical_document(text: str) -> models.SparseVector:
    """Sparse vector of a document (BM25 term-frequency weights) for the ``lexical`` vector."""
    counts = term_counts(text)
    length = sum(counts.values())
    norm = K1 * (1 - B + B * length / AVG_LEN)
    indices = sorted(counts)
    return models.SparseVector(indices=indices, values=[counts[i] * (K1 + 1) / (counts[i] + norm) for i in indices])


def lexical_query(text: str) -> models.SparseVector:
    """Sparse vector of a query (1.0 per unique token); the collection applies IDF."""
    indices: set[int] = set()
    for part in _parts(text or ""):
        indices.update(_counter().embed_query(part).indices)
    ordered = sorted(indices)
    return models.SparseVector(indices=ordered, values=[1.0] * len(ordered))


def warm_lexical() -> None:
    """Load the tokenizer's Japanese and Chinese dictionaries now: each loads on its first use and
    would otherwise add ~130 ms (measured) to the first user query in that script."""
    lexical_query("warm-up デスノート 蟲師 한국어")
