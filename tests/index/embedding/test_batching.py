"""Micro-batching of concurrent queries: a lone query is encoded at once, overlapping ones share a call."""

from __future__ import annotations

import threading
import time

import numpy as np

from index.embedding.batching import MicroBatcher


def _recording_batcher(window_s: float, gate: threading.Event | None = None):
    batches: list[list[int]] = []

    def encode(items: list[int]) -> np.ndarray:
        if gate is not None:
            gate.wait(10)
        batches.append(list(items))
        return np.asarray(items, dtype=np.float32)[:, None]

    return MicroBatcher(encode, window_s=window_s, max_batch=32, name="test"), batches


def test_a_lone_query_is_encoded_at_once_not_after_the_window():
    batcher, batches = _recording_batcher(window_s=30.0)
    try:
        for i in range(3):  # one caller at a time, as one assistant over stdio: 30 s each if it waited
            assert batcher.submit(i).result(timeout=5)[0] == i
        assert batches == [[0], [1], [2]]
    finally:
        batcher.close()


def test_overlapping_queries_wait_the_window_and_share_a_call():
    gate = threading.Event()
    batcher, batches = _recording_batcher(window_s=0.5, gate=gate)
    try:
        first = batcher.submit(0)  # encoded at once; the encoder is held until the gate opens
        while not batches and batcher.calls == 0:
            time.sleep(0.01)
        queued = [batcher.submit(i) for i in (1, 2, 3)]  # arrive while the encoder is busy
        gate.set()
        assert [f.result(timeout=5)[0] for f in [first, *queued]] == [0, 1, 2, 3]
        assert batches == [[0], [1, 2, 3]]
        # requests overlap now: the next one waits the window, and one arriving within it joins it
        late = [batcher.submit(4)]
        time.sleep(0.05)
        late.append(batcher.submit(5))
        assert [f.result(timeout=5)[0] for f in late] == [4, 5]
        assert batches[-1] == [4, 5]
    finally:
        batcher.close()
