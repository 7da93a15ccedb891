"""Picture embeddings with OpenCLIP: its image tower for pictures, its text tower for queries
that describe a picture (both land in the same space).

Weights must really load: `create_model_from_pretrained` refuses to hand back a randomly
initialised model, so a missing checkpoint becomes ImageModelUnavailable, never noise vectors.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from index.embedding.errors import ImageModelUnavailable
from index.embedding.text_encoder import check_texts, l2_normalise

logger = logging.getLogger(__name__)

DUPLICATE_COSINE = 0.95
_registered_configs: set[Path] = set()
_FIX = (
    "Set ANIME_MCP_IMAGE_PRETRAINED to a local checkpoint file (or a pretrained tag that can be downloaded; "
    "offline, HF_HUB_OFFLINE=1 makes a missing download fail at once), ANIME_MCP_IMAGE_MODEL to another "
    "OpenCLIP architecture, or ANIME_MCP_IMAGE_ENABLED=false to run without image search."
)


def register_model_config(model: str) -> str:
    """Accept an OpenCLIP config JSON file as the model: register it and use its stem as the name."""
    path = Path(model).expanduser()
    if model.endswith(".json"):
        if not path.is_file():
            raise ImageModelUnavailable(f"image model config {model} does not exist. {_FIX}")
        resolved = path.resolve()
        if resolved not in _registered_configs:  # the registry keeps every path it is given
            # open_clip (~4 s with torch): only when an image model is configured
            import open_clip

            open_clip.add_model_config(resolved)
            _registered_configs.add(resolved)
        return path.stem
    return model


class ImageEncoder:
    """One OpenCLIP model; thread-safe (calls are serialised by a lock)."""

    def __init__(self, model: str, pretrained: str | None, *, device: str, batch_size: int) -> None:
        # open_clip (~4 s with torch): only when the image model loads, in the background
        import open_clip

        name = register_model_config(model)
        has_own_weights = name.startswith(("hf-hub:", "local-dir:"))
        if not pretrained and not has_own_weights:
            raise ImageModelUnavailable(f"image model {name!r} has no weights configured. {_FIX}")
        self.model_name = name
        self.pretrained = None if has_own_weights else pretrained
        self.batch_size = batch_size
        self.device = device
        precision = "fp16" if device.startswith("cuda") else "fp32"
        try:
            clip, preprocess = open_clip.create_model_from_pretrained(
                name, pretrained=self.pretrained, device=device, precision=precision
            )
            tokenizer = open_clip.get_tokenizer(name)
        except ImageModelUnavailable:
            raise
        except Exception as exc:
            raise ImageModelUnavailable(
                f"could not load image model {name!r} with weights {self.pretrained!r}: {str(exc).rstrip('.')}. {_FIX}"
            ) from exc
        clip.eval()
        self._clip = clip
        self._preprocess = preprocess
        self._tokenizer = tokenizer
        self._dtype = next(clip.parameters()).dtype
        self._lock = threading.Lock()
        self.context_length = int(getattr(tokenizer, "context_length", None) or 77)
        self.dim = int(self._embed_text_tokens(self._tokenizer(["a picture"])).shape[1])
        logger.info("image model %s (%s): dim %d, device %s", name, self.pretrained, self.dim, device)

    # -- public, blocking ---------------------------------------------------------------------

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        images = list(images)
        for i, image in enumerate(images):
            if not isinstance(image, Image.Image):
                raise TypeError(f"image {i} is {type(image).__name__}, expected PIL.Image.Image")
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        # torch: loaded with open_clip already; kept off this module's import so opening an index stays torch-free
        import torch

        out = []
        with self._lock:
            for start in range(0, len(images), self.batch_size):
                batch = [self._preprocess(_rgb(im)) for im in images[start : start + self.batch_size]]
                pixels = torch.stack(batch).to(self.device, dtype=self._dtype)
                with torch.inference_mode():
                    out.append(self._clip.encode_image(pixels).float().cpu().numpy())
        return l2_normalise(np.concatenate(out))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """CLIP text vectors; texts beyond the context window are chunked and averaged, not cut."""
        texts = check_texts(texts, "picture description")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows, owners = self._token_rows(texts)
        # torch: as in embed_images
        import torch

        batches: list[np.ndarray] = []
        with self._lock:
            for start in range(0, len(rows), self.batch_size):
                batches.append(self._embed_text_tokens(torch.stack(rows[start : start + self.batch_size])))
        vectors = np.concatenate(batches)
        if len(rows) == len(texts):
            return l2_normalise(vectors)
        pooled = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(pooled, np.asarray(owners), vectors)
        return l2_normalise(pooled)

    # -- internals ------------------------------------------------------------------------------

    def _embed_text_tokens(self, tokens) -> np.ndarray:
        # torch: as in embed_images
        import torch

        with torch.inference_mode():
            return self._clip.encode_text(tokens.to(self.device)).float().cpu().numpy()

    def _token_rows(self, texts: list[str]):
        """Token rows for the text tower. The plain CLIP tokenizer exposes its BPE ids, so long texts
        become several windows; other tokenizers (HF, SigLIP) only truncate, which is logged."""
        # torch: as in embed_images
        import torch

        tok = self._tokenizer
        if not all(hasattr(tok, a) for a in ("encode", "sot_token_id", "eot_token_id")):
            tokens = tok(texts)
            return list(tokens), list(range(len(texts)))
        budget = self.context_length - 2
        overlap = min(8, budget // 4)
        rows, owners = [], []
        for i, text in enumerate(texts):
            ids = tok.encode(text)
            starts = range(0, max(1, len(ids) - overlap), budget - overlap) if len(ids) > budget else [0]
            for s in starts:
                piece = [tok.sot_token_id, *ids[s : s + budget], tok.eot_token_id]
                row = torch.zeros(self.context_length, dtype=torch.long)
                row[: len(piece)] = torch.tensor(piece)
                rows.append(row)
                owners.append(i)
        return rows, owners


def _rgb(image: Image.Image) -> Image.Image:
    """CLIP wants 3 channels; transparent pixels become white rather than black."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def merge_near_duplicates(vectors: np.ndarray, threshold: float = DUPLICATE_COSINE) -> np.ndarray:
    """Group unit vectors whose cosine to a group's first member exceeds `threshold`; one row per group
    (the group's mean, re-normalised), so the same poster in three sizes counts once."""
    vectors = l2_normalise(vectors)
    groups: list[list[int]] = []
    leaders: list[np.ndarray] = []
    for i, v in enumerate(vectors):
        if leaders:
            sims = np.stack(leaders) @ v
            best = int(np.argmax(sims))
            if sims[best] > threshold:
                groups[best].append(i)
                continue
        groups.append([i])
        leaders.append(v)
    return l2_normalise(np.stack([vectors[g].mean(axis=0) for g in groups]))


def entry_vector(vectors: np.ndarray, threshold: float = DUPLICATE_COSINE) -> np.ndarray | None:
    """One vector for an entry's pictures: near-duplicates merged, then averaged and re-normalised."""
    if len(vectors) == 0:
        return None
    merged = merge_near_duplicates(vectors, threshold)
    return l2_normalise(merged.mean(axis=0, keepdims=True))[0]
