"""The caller's words and pictures as query legs: one vector query per named vector, with its weight.

Which vectors a text query uses: the aspects asked for (plus the lexical vector for exact names), or
the description blend for a long query, or the default blend. Pictures go through the image fetcher
(size, type and address checks) before the image model sees them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from qdrant_client import models

from index.embedding.module import EmbeddingModule
from index.search.inputs import SearchInputError
from index.search.intent import WISH_LIST_MAX_WORDS
from index.search.intent_words import query_words
from index.search.known_values import KnownValues
from index.search.queries import Leg
from index.search.tuning import SearchSettings
from index.storage.lexical import lexical_query
from index.vectors import ASPECT_VECTOR, IMAGE, LEXICAL, TEXT_VECTORS, Aspect


async def require_images(embedder: EmbeddingModule) -> None:
    """Wait for the image model if it is loading; SearchInputError with the reason when image search is off."""
    if not await embedder.await_image():
        raise SearchInputError(f"Image search is not available on this server: {embedder.image_error}")


async def text_legs(
    embedder: EmbeddingModule,
    settings: SearchSettings,
    query: str,
    aspects: Sequence[Aspect | str] | None,
    scale: float = 1.0,
    known: KnownValues | None = None,
) -> list[Leg]:
    """The legs of a text query, each weight times ``scale``; SearchInputError for an unknown aspect. With the
    index's ``known`` values, a description whose words match no entry well is searched by meaning alone
    (vague_weights)."""
    sparse: models.SparseVector | None = None  # the BM25 query: tokenised once, for the check and the leg
    if aspects:
        try:
            chosen = [Aspect(a) for a in aspects]
        except ValueError as exc:
            raise SearchInputError(f"{exc}. Aspects: {', '.join(a.value for a in Aspect)}.") from None
        weights = {ASPECT_VECTOR[a]: 1.0 for a in chosen}
        if any(a is not Aspect.VISUAL for a in chosen) and settings.aspect_lexical_weight > 0:
            # exact words (a director's or a character's name) beat a pooled vector of a long cast list
            weights[LEXICAL] = settings.aspect_lexical_weight
    elif settings.description_weights and query_words(query) > WISH_LIST_MAX_WORDS:
        weights = dict(settings.description_weights)
        if settings.vague_weights and known is not None:
            sparse = lexical_query(query)
            if await words_match_weakly(known, sparse, settings):
                weights = dict(settings.vague_weights)
    else:
        weights = dict(settings.default_weights)
    legs: list[Leg] = []
    text_names = [n for n in weights if n in TEXT_VECTORS]
    if text_names:
        qvec = (await embedder.aembed_query(query)).tolist()
        legs += [Leg(n, qvec, weights[n] * scale) for n in text_names]
    if IMAGE in weights:
        await require_images(embedder)
        cvec = (await embedder.aembed_clip_text(query)).tolist()
        legs.append(Leg(IMAGE, cvec, weights[IMAGE] * scale))
    if LEXICAL in weights:
        sparse = sparse or lexical_query(query)
        if sparse.indices:
            legs.append(Leg(LEXICAL, sparse, weights[LEXICAL] * scale))
    return legs


async def words_match_weakly(known: KnownValues, sparse: models.SparseVector, settings: SearchSettings) -> bool:
    """Whether the BM25 query's best match is weak (see SearchSettings.weak_lexical_strength): one lexical
    search of one hit, ~1 ms. A query without a lexical token matches nothing by words."""
    if not sparse.indices:
        return True
    best = await known.store.query(models.QueryRequest(query=sparse, using=LEXICAL, limit=1, with_payload=False))
    entries = await known.entries()
    if not best or entries < 2:
        return True
    strength = best[0].score / (len(sparse.indices) * math.log(entries))
    return strength < settings.weak_lexical_strength


async def image_vector(embedder: EmbeddingModule, image_fetcher: Any, image: str | bytes) -> list[float]:
    """The picture's image vector. SearchInputError when image search is off or no fetcher is configured;
    ImageInputError (from the fetcher) for a picture that cannot be read or may not be fetched."""
    await require_images(embedder)
    if image_fetcher is None:
        raise SearchInputError("Image input is not configured on this server.")
    picture = await image_fetcher.fetch(image)
    return (await embedder.aembed_images([picture]))[0].tolist()
