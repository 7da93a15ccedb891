"""Export a sentence-transformers model's query path to ONNX, once per model, for torch-free queries.

The whole pipeline is traced (transformer, the model's own pooling from 1_Pooling/config.json, any
Dense and Normalize modules), so the exported graph gives the model's own sentence vector. The export
is checked against the torch model in float32 on varied texts (cosine >= EQUAL_COSINE) and kept only
when it passes; a model that cannot be exported faithfully is recorded as such and keeps the torch path.
Needs torch, sentence-transformers and the `onnx` package; serving an export needs none of them.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding import onnx_cache
from index.embedding.onnx_cache import EXPORT_FORMAT, FAILED_FILE, META_FILE, MODEL_FILE, TOKENIZER_FILE

logger = logging.getLogger(__name__)

#: an ONNX query vector must be this close to the torch float32 one (search results must not change)
EQUAL_COSINE = 0.9999
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_CHECK_TEXTS = (
    "a",
    "Fullmetal Alchemist: Brotherhood",
    "  two brothers search for the philosopher's stone  ",
    "進撃の巨人",
    "a shy cook opens a ramen shop in a quiet seaside town and slowly wins over the locals " * 25,  # past the window
)


class ExportRefused(RuntimeError):
    """The model cannot be exported so that its vectors stay the same; the reason says why."""


def export_query_model(name_or_path: str, cache_dir: Path, max_seq_length: int | None = None) -> Path | None:
    """The folder of this model's verified ONNX export, exporting it first when missing; None when the
    model is not on disk as files or cannot be exported faithfully (then queries keep using torch)."""
    target = onnx_cache.export_folder(cache_dir, name_or_path, max_seq_length)
    if target is None or onnx_cache.is_complete(target):
        return target
    if onnx_cache.failed_reason(target) is not None:
        return None
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        started = time.perf_counter()
        meta = _export(name_or_path, staging, max_seq_length)
        staging.rename(target)  # atomic: another process sees no export or a whole one
        logger.info(
            "exported %s to ONNX in %.1fs (min cosine to torch %.6f): %s",
            name_or_path,
            time.perf_counter() - started,
            meta["verified_min_cosine"],
            target,
        )
    except ExportRefused as exc:
        logger.warning("queries of %s keep using torch: %s", name_or_path, exc)
        onnx_cache.write_json(target / FAILED_FILE, {"reason": str(exc), "format": EXPORT_FORMAT})
        return None
    except OSError as exc:  # e.g. another process finished the same export first, or a full disk
        if onnx_cache.is_complete(target):
            return target
        logger.warning("could not write the ONNX export of %s to %s: %s", name_or_path, target, exc)
        return None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _export(name_or_path: str, folder: Path, max_seq_length: int | None) -> dict[str, Any]:
    # torch (~1.3 s): exporting needs it; importing this module must stay cheap for the query path
    import torch

    from index.embedding.text_encoder import TextEncoder

    encoder = TextEncoder(name_or_path, device="cpu", batch_size=8, max_seq_length=max_seq_length)
    model, tokenizer = encoder._model, encoder._tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ExportRefused("its tokenizer has no fast (Rust) version to serve it without transformers")
    if encoder.query_prompt and any(getattr(m, "include_prompt", True) is False for m in model):
        raise ExportRefused("its pooling leaves the query prompt out, which the exported graph cannot know")
    names = [n for n in _INPUTS if n in getattr(tokenizer, "model_input_names", _INPUTS)]
    if names[:2] != ["input_ids", "attention_mask"]:
        raise ExportRefused(f"unexpected tokenizer inputs {names}")

    class SentenceVector(torch.nn.Module):
        """Token ids in, the model's own (pooled, normalised) sentence vector out."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(dict(zip(names, inputs, strict=True)))["sentence_embedding"]

    sample = tokenizer(
        ["a short query", "a somewhat longer query about giant robots"], padding=True, return_tensors="pt"
    )
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"sentence_embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        # the tracer warns about every Python branch on a tensor (mask length, causal mask): each is constant for
        # these inputs (the mask as long as the tokens, no causal mask), and _verify checks the result
        warnings.simplefilter("ignore")
        torch.onnx.export(
            SentenceVector().eval(),
            tuple(sample[n] for n in names),
            str(folder / MODEL_FILE),
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, dynamic axes as declared
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes=axes,
            opset_version=17,
        )
    serving = type(backend).from_str(backend.to_str())  # a copy: the model's own keeps its settings
    serving.no_padding()
    serving.no_truncation()
    serving.save(str(folder / TOKENIZER_FILE))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    meta: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "model": name_or_path,
        "dim": encoder.dim,
        "window": encoder.window,
        "query_prompt": encoder.query_prompt,
        "inputs": names,
        "pad_id": int(pad_id),
        "exported_with": {p: _version(p) for p in ("torch", "sentence-transformers", "transformers", "onnx")},
    }
    meta["verified_min_cosine"] = _verify(encoder, folder, meta)
    onnx_cache.write_json(folder / META_FILE, meta)  # last: its presence marks the export complete
    return meta


def _verify(encoder: Any, folder: Path, meta: dict[str, Any]) -> float:
    """Lowest cosine between ONNX Runtime and torch float32 query vectors on texts of every length."""
    # cycle: onnx_encoder imports this module to export on demand
    from index.embedding.onnx_encoder import OnnxQueryEncoder

    onnx = OnnxQueryEncoder(
        folder, meta["model"], threads=1, batch_size=4, chunk_overlap_tokens=encoder.overlap, meta=meta
    )
    texts = list(_CHECK_TEXTS)
    cosine = float(np.min(np.sum(onnx.embed_queries(texts) * encoder.embed_queries(texts), axis=1)))
    if not cosine >= EQUAL_COSINE:
        raise ExportRefused(f"ONNX Runtime vectors differ from torch (min cosine {cosine:.6f} < {EQUAL_COSINE})")
    return cosine


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None
