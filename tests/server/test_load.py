"""Short load test (CI form of bench/load_test.py): 8 concurrent MCP clients of mixed search traffic
over streamable HTTP on loopback for ~15 s against a subprocess server. No errors, bounded latency
and memory growth; the figures are printed (run with -s to see them)."""

from __future__ import annotations

import importlib.util
import json
import sys

import httpx
import pytest

from tests.index_fixtures import MAL_FILE
from tests.served import ROOT, cli_env, run_cli, start_http_server, stop_server

pytestmark = [pytest.mark.slow, pytest.mark.anyio]
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
    env = cli_env(base / "data", tiny_clip, ANIME_MCP_RATE_LIMIT_PER_MINUTE="0", ANIME_MCP_LOG_LEVEL="WARNING")
    built = run_cli(env, "index", str(slice_file), "--no-images")
    assert built.returncode == 0, built.stderr[-2000:]
    proc, url = start_http_server(env)
    yield url, proc
    stop_server(proc)


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
