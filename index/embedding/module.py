"""The embedding module: text and image models loaded once per process and kept warm.

Everyone (indexing, search tools, benchmarks) goes through `get_embedding_module()`, so models are
loaded once, queries from concurrent clients are micro-batched, and blocking model calls stay off
the event loop. The image model loads in a background thread: text search is ready as soon as the
text model is, and a failed image download does not delay or break it.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import logging
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import numpy as np
from PIL import Image

from index.embedding.batching import MicroBatcher
from index.embedding.errors import ImageModelUnavailable
from index.embedding.image_encoder import DUPLICATE_COSINE, ImageEncoder, entry_vector, register_model_config
from index.embedding.profiles import ResolvedModels, resolve_models
from index.embedding.text_encoder import TextEncoder, check_texts
from index.search.cache import MISS, CacheSettings, normalise_text, query_cache
from index.settings import EmbeddingSettings

logger = logging.getLogger(__name__)

#: The image model starts loading when the first text query has been answered, when something needs it,
#: or this long after the text model is ready, whichever comes first: on a small CPU its loading would
#: otherwise compete with the text model's warm-up and the first search (the cold start a user waits for).
IMAGE_LOAD_DELAY_S = 10.0


@contextlib.contextmanager
def _without_sklearn() -> Iterator[None]:
    """Import sentence-transformers without scikit-learn (and the scipy.stats it pulls in): only its
    `pairwise_distances` (manhattan/euclidean similarity, unused here) needs it. Measured: 0.6 of 3.2 s of
    CPU for the import, on the cold start's path. A stand-in module exists only during the import; the
    function it lends imports the real one if it is ever called."""
    name = "sklearn.metrics"
    if name in sys.modules or "sentence_transformers" in sys.modules:
        yield
        return

    def pairwise_distances(*args: Any, **kwargs: Any) -> Any:
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


def _open_clip_embed_dim(name: str) -> int | None:
    """The embedding size of a built-in OpenCLIP architecture read from its config file, without importing
    open_clip (which opening the index would otherwise wait for); None when not found."""
    spec = importlib.util.find_spec("open_clip")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "model_configs" / f"{name}.json"
        if path.is_file():
            try:
                return int(json.loads(path.read_text(encoding="utf-8"))["embed_dim"])
            except (OSError, ValueError, KeyError):
                return None
    return None


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
        started = time.perf_counter()
        with _without_sklearn():
            import sentence_transformers  # noqa: F401  (TextEncoder imports it again, from sys.modules)
        self._text = TextEncoder(
            m.text_model,
            device=m.device,
            batch_size=m.text_batch_size,
            max_seq_length=self.settings.max_seq_length,
            chunk_overlap_tokens=self.settings.chunk_overlap_tokens,
            precision=m.text_precision,
            query_threads=m.query_threads,
        )
        logger.info("text model ready in %.1fs", time.perf_counter() - started)
        window_s = self.settings.micro_batch_window_ms / 1000.0
        self._query_batcher = MicroBatcher(
            self._text.embed_queries, window_s=window_s, max_batch=m.text_batch_size, name="query"
        )
        self._clip_batcher = MicroBatcher(
            # the CLIP text tower costs far less per item than the image tower: larger batches
            self._clip_texts_unchecked,
            window_s=window_s,
            max_batch=m.image_batch_size * 4,
            name="clip-text",
        )

        self._image: ImageEncoder | None = None
        self._image_error: str | None = None
        self._image_ready = threading.Event()
        self._image_go = threading.Event()  # set: start loading the image model now (see IMAGE_LOAD_DELAY_S)
        self._warm_lock = threading.Lock()
        self._warm_image_on_load = False
        self._exiting = False
        self._image_model_name: str | None = None
        if not self.settings.image_enabled:
            self._image_error = (
                "image search is off (ANIME_MCP_IMAGE_ENABLED=false): set ANIME_MCP_IMAGE_ENABLED=true "
                "and give weights with ANIME_MCP_IMAGE_PRETRAINED to use it"
            )
            self._image_ready.set()
        else:
            try:
                self._image_model_name = register_model_config(m.image_model)
            except ImageModelUnavailable as exc:
                self._image_model_name = m.image_model
                self._image_error = str(exc)
                self._image_ready.set()
        if not self._image_ready.is_set():
            if load_image_in_background:
                loader = threading.Thread(target=self._load_image_later, name="load-image-model", daemon=True)
                loader.start()
                # torch code still running in a daemon thread while the interpreter finalizes aborts the
                # process ("terminate called without an active exception"): a command that finishes before
                # the image model has loaded waits for the load, and skips its warm-up, at exit
                atexit.register(self._finish_loading_at_exit, loader)
            else:
                self._load_image()

    def _load_image_later(self) -> None:
        self._image_go.wait(IMAGE_LOAD_DELAY_S)
        if self._exiting:  # the command is done: loading now would only delay its exit
            self._image_error = "the image model was not loaded (the process is exiting)"
            self._image_ready.set()
            return
        self._load_image()

    def _wait_image(self) -> None:
        """Block until the image model has loaded (or failed), starting its loading now if it waits."""
        self._image_go.set()
        self._image_ready.wait()

    def _load_image(self) -> None:
        m = self.models
        started = time.perf_counter()
        try:
            self._image = ImageEncoder(
                m.image_model, m.image_pretrained, device=m.device, batch_size=m.image_batch_size
            )
            logger.info("image model ready in %.1fs", time.perf_counter() - started)
        except ImageModelUnavailable as exc:
            self._image_error = str(exc)
            logger.error("image search unavailable: %s", exc)
        except Exception as exc:  # a bug or an odd checkpoint: report it the same way, keep text alive
            self._image_error = f"image model failed to load ({type(exc).__name__}: {exc}); check ANIME_MCP_IMAGE_MODEL"
            logger.exception("image model failed to load")
        finally:
            with self._warm_lock:
                self._image_ready.set()
                warm = self._warm_image_on_load
        if warm and self._image is not None and not self._exiting:
            self._warm_image()

    def _finish_loading_at_exit(self, loader: threading.Thread) -> None:
        self._exiting = True
        self._image_go.set()
        if loader.is_alive():
            logger.info("waiting for the image model to finish loading before exit")
            loader.join()

    # -- properties ----------------------------------------------------------------------------

    @property
    def text_dim(self) -> int:
        return self._text.dim

    @property
    def image_dim(self) -> int | None:
        self._wait_image()
        return self._image.dim if self._image else None

    def configured_image_dim(self) -> int:
        """The image vector size of the configured architecture, known before (and even without) its
        weights: the collection keeps its layout whether or not pictures can be embedded right now,
        and opening it does not wait for a slow image model download."""
        if self._image_ready.is_set() and self._image is not None:
            return self._image.dim
        name = self._image_model_name or self.models.image_model
        dim = _open_clip_embed_dim(name) if name else None
        if dim:
            return dim
        import open_clip

        config = open_clip.get_model_config(name) if name else None
        if config:
            return int(config["embed_dim"])
        return self.image_dim or 512  # architecture known only from the loaded model (e.g. hf-hub:): wait

    @property
    def text_model_name(self) -> str:
        return self._text.model_name

    @property
    def image_model_name(self) -> str | None:
        """The configured OpenCLIP architecture (None when image search is switched off)."""
        return self._image_model_name

    @property
    def device(self) -> str:
        return self.models.device

    @property
    def image_available(self) -> bool:
        self._wait_image()
        return self._image is not None

    @property
    def image_status(self) -> str:
        """ "ready", "loading" or "unavailable", without waiting (health checks, statistics)."""
        if not self._image_ready.is_set():
            return "loading"
        return "ready" if self._image is not None else "unavailable"

    async def await_image(self) -> bool:
        """Whether pictures can be embedded, waiting for the image model off the event loop (False, not an
        error, when it could not load: callers word their own message with `image_error`)."""
        if not self._image_ready.is_set():
            await anyio.to_thread.run_sync(self._wait_image)
        return self._image is not None

    @property
    def image_error(self) -> str | None:
        self._wait_image()
        return self._image_error

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
        return self._text.embed_queries(texts)

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
        only on request: their first call (chunking path) took 0.2-0.9 s on the cold start's critical
        path of a server that may never index, against 0.02-0.05 s for the query path it needs."""
        started = time.perf_counter()
        if documents:
            self.embed_documents(["warm-up document"])
        self._query_batcher.submit("warm-up query").result()
        with self._warm_lock:
            image_loaded = self._image_ready.is_set()
            if not image_loaded:
                self._warm_image_on_load = True
        if image_loaded and self._image is not None:
            self._warm_image()
        logger.info(
            "embedding warm-up took %.2fs%s",
            time.perf_counter() - started,
            "" if image_loaded else " (image model still loading; warmed when loaded)",
        )

    def _warm_image(self) -> None:
        self.embed_images([Image.new("RGB", (64, 64), (128, 128, 128))])
        self._clip_batcher.submit("a warm-up picture").result()

    def describe(self) -> dict[str, Any]:
        """What is loaded, for logs, the CLI and a status tool."""
        m = self.models
        return {
            "profile": m.profile,
            "device": m.device,
            "text_model": self.text_model_name,
            "text_dim": self.text_dim,
            "text_window_tokens": self._text.window,
            "chunk_overlap_tokens": self._text.overlap,
            "query_prompt": self._text.query_prompt,
            "text_batch_size": m.text_batch_size,
            "text_precision": self._text.precision,
            "query_threads": self._text.query_threads,
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
        return await self._cached(f"clip:{self._image_model_name}", text, self._clip_batcher)

    async def _cached(self, model: str, text: str, batcher: MicroBatcher) -> np.ndarray:
        try:
            return await self._cached_vector(model, text, batcher)
        finally:
            self._image_go.set()  # the first query is answered: the image model may load now

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
        if self._image is None:
            raise ImageModelUnavailable(self._image_error or "image model unavailable")
        return self._image

    async def _arequire_image(self) -> None:
        if not self._image_ready.is_set():
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
