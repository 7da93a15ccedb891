"""The image model of an EmbeddingModule: loaded late and in the background, its failure kept as a message.

On a small CPU its loading would compete with the text model's warm-up and the first search (the cold
start a user waits for), so the module loads it after the first text query (see module.py); a failed
download never delays or breaks text search.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  (see the weakref.finalize line below)
import importlib.util
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from index.embedding.errors import ImageModelUnavailable
from index.embedding.image_encoder import ImageEncoder, register_model_config
from index.embedding.profiles import ResolvedModels
from index.settings import EmbeddingSettings

logger = logging.getLogger(__name__)

# Importing torch registers exit hooks (concurrent.futures' thread pool, weakref.finalize's exit function). When
# the loading thread imports it while the interpreter shuts down (a stdio client that closes right after its first
# search), they fail ("can't register atexit after shutdown") or run after module teardown: register both now.
weakref.finalize(threading.main_thread(), lambda: None)


def open_clip_embed_dim(name: str) -> int | None:
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


class ImageModel:
    """One image model slot: `ready` is set once it has loaded or failed (`encoder` / `error` say which)."""

    def __init__(
        self, settings: EmbeddingSettings, models: ResolvedModels, make_encoder: Callable[..., ImageEncoder]
    ) -> None:
        self._models = models
        self._make_encoder = make_encoder
        self.encoder: ImageEncoder | None = None
        self.error: str | None = None
        self.ready = threading.Event()
        self.model_name: str | None = None
        self._warm_lock = threading.Lock()
        self._warm_on_load = False
        if not settings.image_enabled:
            self.error = (
                "image search is off (ANIME_MCP_IMAGE_ENABLED=false): set ANIME_MCP_IMAGE_ENABLED=true "
                "and give weights with ANIME_MCP_IMAGE_PRETRAINED to use it"
            )
            self.ready.set()
            return
        try:
            self.model_name = register_model_config(models.image_model)
        except ImageModelUnavailable as exc:
            self.model_name = models.image_model
            self.error = str(exc)
            self.ready.set()

    def load(self) -> None:
        """Load the weights (blocking), then warm the model if a warm-up asked for it meanwhile."""
        m = self._models
        started = time.perf_counter()
        try:
            self.encoder = self._make_encoder(
                m.image_model, m.image_pretrained, device=m.device, batch_size=m.image_batch_size
            )
            logger.info("image model ready in %.1fs", time.perf_counter() - started)
        except ImageModelUnavailable as exc:
            self.error = str(exc)
            logger.error("image search unavailable: %s", exc)
        except Exception as exc:  # a bug or an odd checkpoint: report it the same way, keep text alive
            self.error = f"image model failed to load ({type(exc).__name__}: {exc}); check ANIME_MCP_IMAGE_MODEL"
            logger.exception("image model failed to load")
        finally:
            with self._warm_lock:
                self.ready.set()
                warm = self._warm_on_load
        if warm and self.encoder is not None:
            self.warm()

    def skip(self, reason: str) -> None:
        """Give up loading (the process is exiting)."""
        if not self.ready.is_set():
            self.error = reason
            self.ready.set()

    def warm_now_or_on_load(self) -> bool:
        """Warm the model now when it has loaded; else let its loading warm it. True when loaded."""
        with self._warm_lock:
            loaded = self.ready.is_set()
            if not loaded:
                self._warm_on_load = True
        if loaded and self.encoder is not None:
            self.warm()
        return loaded

    def warm(self) -> None:
        assert self.encoder is not None
        self.encoder.embed_images([Image.new("RGB", (64, 64), (128, 128, 128))])
        self.encoder.embed_texts(["a warm-up picture"])

    def configured_dim(self, wait_for_dim: Callable[[], int | None]) -> int:
        """The image vector size of the configured architecture, known before (and even without) its
        weights: the collection keeps its layout whether or not pictures can be embedded right now,
        and opening it does not wait for a slow image model download."""
        if self.ready.is_set() and self.encoder is not None:
            return self.encoder.dim
        name = self.model_name or self._models.image_model
        dim = open_clip_embed_dim(name) if name else None
        if dim:
            return dim
        # open_clip (~4 s with torch): only when the size is not in its config file
        import open_clip

        config = open_clip.get_model_config(name) if name else None
        if config:
            return int(config["embed_dim"])
        return wait_for_dim() or 512  # architecture known only from the loaded model (e.g. hf-hub:): wait

    @property
    def status(self) -> str:
        """ "ready", "loading" or "unavailable", without waiting (health checks, statistics)."""
        if not self.ready.is_set():
            return "loading"
        return "ready" if self.encoder is not None else "unavailable"
