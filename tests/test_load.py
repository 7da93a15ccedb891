"""Short load test (CI form of bench/load_test.py): 8 concurrent MCP clients of mixed search traffic
over streamable HTTP on loopback for ~15 s against a subprocess server. No errors, bounded latency
and memory growth; the figures are printed (run with -s to see them)."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index_fixtures import MAL_FILE

pytestmark = [pytest.mark.slow, pytest.mark.anyio]
ROOT = Path(__file__).resolve().parents[1]
CLIENTS, SECONDS = 8, 15.0
RSS_GROWTH_MB = 150  # one warm process: the models are loaded before the run, so growth is caches only
P99_BOUND_S = 10.0  # 2 shared CPU cores; this catches hangs and pile-ups, not speed regressions


def _load_bench():
    spec = importlib.util.spec_from_file_location("load_test", ROOT / "bench" / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_clip, text_model_path):
    base = tmp_path_factory.mktemp("load")
    slice_file = base / "slice.json"
    slice_file.write_text(json.dumps({"data": json.loads(MAL_FILE.read_text())["data"][:300]}))
    config, checkpoint = tiny_clip
    env = {**os.environ, "ANIME_MCP_DATA_DIR": str(base / "data"), "ANIME_MCP_PROFILE": "lite",
           "ANIME_MCP_IMAGE_MODEL": str(config), "ANIME_MCP_IMAGE_PRETRAINED": str(checkpoint),
           "ANIME_MCP_DEVICE": "cpu", "HF_HUB_OFFLINE": "1", "ANIME_MCP_RATE_LIMIT_PER_MINUTE": "0",
           "ANIME_MCP_LOG_LEVEL": "WARNING"}
    built = subprocess.run([sys.executable, "-m", "server.cli", "index", str(slice_file), "--no-images"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--transport", "http", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        time.sleep(0.3)
    yield url, proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def test_concurrent_mixed_traffic(server):
    url, proc = server
    bench = _load_bench()
    warm = await bench.run_load(url, clients=1, seconds=2, pid=proc.pid)  # first queries fill caches
    assert not warm.errors, warm.errors[:3]
    report = await bench.run_load(url, clients=CLIENTS, seconds=SECONDS, pid=proc.pid, seed=1)
    summary = report.summary()
    print("\nload:", json.dumps(summary))
    assert not report.errors, report.errors[:5]
    assert report.calls >= CLIENTS * 3, summary
    assert report.percentile(99) < P99_BOUND_S, summary
    if report.rss_before_mb is not None:
        assert report.rss_after_mb - warm.rss_before_mb < RSS_GROWTH_MB, summary
    assert proc.poll() is None and httpx.get(f"{url}/health").json()["status"] == "ok"
