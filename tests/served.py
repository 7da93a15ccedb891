"""The real `anime-mcp` command as a subprocess: the environment that points it at the offline test
models, one CLI run, and an HTTP server on a free loopback port, returned once /health is ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.paths import ROOT


def cli_env(data_dir: Path, tiny_clip: tuple[Path, Path], **extra: str) -> dict[str, str]:
    """Lite profile on CPU with the tiny test CLIP, offline, indexing into ``data_dir``."""
    config, checkpoint = tiny_clip
    return {
        **os.environ,
        "ANIME_MCP_DATA_DIR": str(data_dir),
        "ANIME_MCP_PROFILE": "lite",
        "ANIME_MCP_IMAGE_MODEL": str(config),
        "ANIME_MCP_IMAGE_PRETRAINED": str(checkpoint),
        "ANIME_MCP_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


def run_cli(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_http_server(env: dict[str, str], ready_within: float = 120) -> tuple[subprocess.Popen, str]:
    """`anime-mcp serve --transport http` on a free loopback port; (process, base URL) once healthy."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--transport", "http", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"server ended: {proc.stderr.read()[-2000:]}")
        time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"HTTP server did not become healthy in {ready_within:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
