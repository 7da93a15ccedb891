"""Long texts chunked instead of cut, shared by the torch and the ONNX Runtime text encoders.

A text longer than the model's token window is split into overlapping token windows, each embedded,
and the chunk vectors averaged (weighted by their token counts) and re-normalised, so that the end of
a long synopsis still counts. Both encoders chunk through this one code, so a query embedded through
ONNX Runtime is cut exactly where the torch encoder would cut it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

#: texts -> per text, the (start, end) character offsets of its tokens, special tokens left out
Offsets = Callable[[list[str]], list[list[tuple[int, int]]]]


@dataclass
class Chunks:
    """Chunk texts ready for the encoder, with the text each came from and its weight."""

    texts: list[str]
    owners: list[int]
    weights: list[int]


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Row-wise unit length in float32 (zero rows stay zero instead of becoming NaN)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def check_texts(texts: list[str], what: str = "text") -> list[str]:
    """Refuse input that would give a meaningless vector, naming the bad item."""
    if isinstance(texts, str):
        raise TypeError(f"expected a list of {what}s, got one string: wrap it in a list")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{what} {i} is {type(text).__name__}, expected str")
        if not text.strip():
            raise ValueError(f"{what} {i} is empty: skip empty fields before embedding them")
    return texts


def split(texts: list[str], budget: int, offsets: Offsets, overlap: int) -> Chunks:
    """Texts within the budget pass as they are; longer ones become overlapping windows."""
    out = Chunks([], [], [])
    for i, (text, spans) in enumerate(zip(texts, offsets(texts), strict=True)):
        if len(spans) <= budget:
            out.texts.append(text)
            out.owners.append(i)
            out.weights.append(max(1, len(spans)))
            continue
        pieces = list(_windows(text, spans, budget, offsets, overlap))
        logger.debug("text %d has %d tokens: embedded as %d chunks", i, len(spans), len(pieces))
        for piece, n_tokens in pieces:
            out.texts.append(piece)
            out.owners.append(i)
            out.weights.append(n_tokens)
    return out


def _windows(
    text: str, spans: list[tuple[int, int]], budget: int, offsets: Offsets, overlap: int
) -> Iterator[tuple[str, int]]:
    """Yield (chunk text, tokens) covering every token; the text is sliced by character offsets
    so nothing is altered, and each slice is re-checked so the encoder never has to cut it."""
    n = len(spans)
    start = 0
    while start < n:
        end = min(start + budget, n)
        while True:
            piece = text[spans[start][0] : spans[end - 1][1]]
            n_tokens = len(offsets([piece])[0])
            if n_tokens <= budget or end - start <= 1:
                break
            end = max(start + 1, end - (n_tokens - budget))  # re-tokenising a slice can add a token or two
        if piece.strip():
            yield piece, n_tokens
        if end >= n:
            break
        start = max(start + 1, end - min(overlap, (end - start) // 2))


def embed_chunked(
    chunks: Chunks, n_texts: int, dim: int, batch_size: int, encode: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    """(n_texts, dim) unit vectors: chunks encoded `batch_size` at a time, longest first (little padding),
    then pooled per text. `encode(texts)` returns one row per text."""
    order = np.argsort(-np.asarray(chunks.weights), kind="stable")
    vectors = np.empty((len(chunks.texts), dim), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        vectors[rows] = np.asarray(encode([chunks.texts[i] for i in rows]), dtype=np.float32)
    if len(chunks.texts) == n_texts:
        return l2_normalise(vectors)
    return pool(vectors, chunks, n_texts)


def pool(vectors: np.ndarray, chunks: Chunks, n_texts: int) -> np.ndarray:
    """Token-weighted mean of each text's chunk vectors, re-normalised."""
    out = np.zeros((n_texts, vectors.shape[1]), dtype=np.float32)
    weights = np.asarray(chunks.weights, dtype=np.float32)[:, None]
    np.add.at(out, np.asarray(chunks.owners), vectors * weights)
    return l2_normalise(out)
