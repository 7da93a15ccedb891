"""Query vectors through ONNX Runtime and the `tokenizers` library: a search can be answered without
importing torch, sentence-transformers or transformers (~3.5 s of CPU at start on a small machine).

Serves an export made by onnx_export.py (same model, same weights, checked against torch). Queries are
chunked exactly like the torch encoder's (chunking.py); the graph holds the model's own pooling and
normalisation. Import cost: onnxruntime + tokenizers ~0.15 s, the MiniLM session ~0.3 s.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding.chunking import Chunks, check_texts, embed_chunked, split
from index.embedding.errors import TextModelUnavailable
from index.embedding.onnx_cache import META_FILE, MODEL_FILE, TOKENIZER_FILE, export_folder, failed_reason, is_complete
from index.embedding.profiles import ResolvedModels
from index.settings import EmbeddingSettings

logger = logging.getLogger(__name__)


class OnnxQueryEncoder:
    """Queries only (documents stay with the torch encoder); float32; thread-safe (ONNX Runtime sessions
    and Rust tokenizers may be called from several threads)."""

    precision = "float32"

    def __init__(
        self,
        folder: Path,
        model_name: str,
        *,
        threads: int,
        batch_size: int,
        chunk_overlap_tokens: int = 32,
        meta: dict[str, Any] | None = None,
    ) -> None:
        # onnxruntime + tokenizers: only when an export is served (the torch path needs neither)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = meta or json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        self.model_name = model_name  # as configured: the collection's meta compares it
        self.folder = folder
        self.dim = int(meta["dim"])
        self.window = int(meta["window"])
        self.query_prompt = str(meta["query_prompt"] or "")
        self.query_threads = threads
        self.batch_size = batch_size
        self.overlap = max(0, chunk_overlap_tokens)
        self._inputs = list(meta["inputs"])
        self._pad_id = int(meta["pad_id"])
        self._counter = Tokenizer.from_file(str(folder / TOKENIZER_FILE))  # no truncation: finds long texts
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(self.window)  # a safety net: chunks already fit
        specials = len(self._counter.encode("", add_special_tokens=True).ids)
        prompt = len(self._counter.encode(self.query_prompt, add_special_tokens=False).ids) if self.query_prompt else 0
        self._budget = self.window - specials - prompt
        if self._budget < 8:
            raise TextModelUnavailable(f"token window {self.window} leaves {self._budget} tokens for text")
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about unused initialisers are noise to a user
        self._session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """(n, dim) unit vectors of search queries, long ones chunked and pooled."""
        texts = check_texts(texts, "query")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return embed_chunked(self._split(texts, self._budget), len(texts), self.dim, self.batch_size, self._encode)

    def token_count(self, text: str) -> int:
        """Content tokens of a text (no special tokens)."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def _split(self, texts: list[str], budget: int) -> Chunks:
        return split(texts, budget, self._offsets, self.overlap)

    def _offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        return [e.offsets for e in self._counter.encode_batch(texts, add_special_tokens=False)]

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch([self.query_prompt + t for t in texts])
        width = max(len(e.ids) for e in encodings)
        arrays = {name: np.zeros((len(texts), width), dtype=np.int64) for name in self._inputs}
        arrays["input_ids"].fill(self._pad_id)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            arrays["input_ids"][row, :n] = e.ids
            arrays["attention_mask"][row, :n] = e.attention_mask
            if "token_type_ids" in arrays:
                arrays["token_type_ids"][row, :n] = e.type_ids
        (vectors,) = self._session.run(["sentence_embedding"], arrays)
        return np.asarray(vectors, dtype=np.float32)


def open_onnx_queries(settings: EmbeddingSettings, models: ResolvedModels) -> tuple[OnnxQueryEncoder | None, bool]:
    """(the ONNX query encoder, or None for the torch one; whether to export the model in the background).

    `query_runtime`: auto uses an export when one exists and asks for one otherwise; onnx exports now when
    missing (waits for torch once); torch never uses ONNX. GPUs and MPS always use torch (fp16 there)."""
    if settings.query_runtime == "torch" or models.device != "cpu":
        return None, False
    folder = export_folder(settings.onnx_cache_dir, models.text_model, settings.max_seq_length)
    if folder is None:
        logger.info("queries use torch: text model %s is not on this machine as files to export", models.text_model)
        return None, False
    if not is_complete(folder):
        reason = failed_reason(folder)
        if reason is not None:
            logger.info("queries use torch: %s was not exported to ONNX (%s)", models.text_model, reason)
            return None, False
        if settings.query_runtime == "auto":
            logger.info(
                "queries use torch: no ONNX export of %s yet; it is made in the background after the first query "
                "(or 10 s into a longer command such as indexing) and used from the next start",
                models.text_model,
            )
            return None, True
        # torch + onnx: only when an export must be made now (ANIME_MCP_QUERY_RUNTIME=onnx)
        from index.embedding.onnx_export import export_query_model

        if export_query_model(models.text_model, settings.onnx_cache_dir, settings.max_seq_length) is None:
            return None, False
    try:
        encoder = OnnxQueryEncoder(
            folder,
            models.text_model,
            threads=models.query_threads,
            batch_size=models.text_batch_size,
            chunk_overlap_tokens=settings.chunk_overlap_tokens,
        )
    except Exception as exc:  # onnxruntime missing or a damaged file: torch still works
        logger.warning(
            "queries use torch: the ONNX export in %s cannot be used (%s: %s)", folder, type(exc).__name__, exc
        )
        return None, False
    logger.info("queries use ONNX Runtime (%s)", folder)
    return encoder, False
