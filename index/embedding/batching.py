"""Micro-batching of single queries: requests arriving within a short window share one encoder call.

An encoder call on 32 short queries costs little more than on one, so under concurrent load this
multiplies throughput. A query that arrives alone is encoded at once (no window to wait out); the
window applies only while requests overlap. A worker thread (not the event loop) collects requests and
runs the encoder; async callers wait on an anyio Event, so no thread is held per waiting query and any
anyio backend or event loop works.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import numpy as np

logger = logging.getLogger(__name__)

_STOP = object()


class MicroBatcher:
    """Collect items for `window_s` after the first arrives (or until `max_batch`), encode them in one
    call of `encode(items) -> rows`, and hand each caller its row."""

    def __init__(self, encode: Callable[[list[Any]], np.ndarray], *, window_s: float, max_batch: int, name: str):
        self._encode = encode
        self._window_s = max(0.0, window_s)
        self._max_batch = max(1, max_batch)
        self._name = name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.calls = 0  # encoder calls made; lets tests and benchmarks see the batching work

    def submit(self, item: Any) -> Future:
        """Queue one item (thread-safe); the future resolves to its row."""
        self._ensure_thread()
        future: Future = Future()
        self._queue.put((item, future))
        return future

    async def run(self, item: Any) -> np.ndarray:
        """Submit and wait without blocking the event loop."""
        future = self.submit(item)
        if not future.done():
            done = anyio.Event()
            future.add_done_callback(_waker(done))
            await done.wait()
        return future.result()

    def close(self) -> None:
        """Stop the worker thread once the queued items are done."""
        if self._thread is not None:
            self._queue.put(_STOP)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=f"microbatch-{self._name}", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        # The window only pays off when requests overlap. A lone caller (one assistant on stdio) is
        # encoded at once; once requests overlap (a batch of several, or more queued while encoding)
        # the worker waits the window for company, and stops waiting when the overlap ends.
        overlapping = False
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stopping = self._collect(batch, 0.0)
            if not stopping and (overlapping or len(batch) > 1):
                stopping = self._collect(batch, self._window_s)
            self._run_batch(batch)
            if stopping:
                return
            overlapping = len(batch) > 1 or not self._queue.empty()

    def _collect(self, batch: list, window_s: float) -> bool:
        """Add queued items to `batch` for up to `window_s` (0: only those already queued), at most
        max_batch in all; True when a stop request was seen."""
        deadline = time.monotonic() + window_s
        while len(batch) < self._max_batch:
            remaining = deadline - time.monotonic()
            try:
                nxt = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                return False
            if nxt is _STOP:
                return True
            batch.append(nxt)
        return False

    def _run_batch(self, batch: list[tuple[Any, Future]]) -> None:
        live = [(item, fut) for item, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        self.calls += 1
        try:
            rows = self._encode([item for item, _ in live])
        except BaseException as exc:  # every waiter gets the error, the worker keeps serving
            for _, fut in live:
                fut.set_exception(exc)
            return
        for (_, fut), row in zip(live, rows, strict=True):
            fut.set_result(row)


def _waker(done: anyio.Event) -> Callable[[Future], None]:
    """A future callback that sets `done` on the caller's event loop without ever blocking the worker
    (a blocking hand-off could deadlock if that loop is itself waiting for the worker)."""
    loop_thread = threading.get_ident()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (trio): anyio's portable, blocking hand-off
        loop = None
        token = anyio.lowlevel.current_token()

    def wake(_: Future) -> None:
        if threading.get_ident() == loop_thread:  # finished before the callback was attached
            done.set()
        elif loop is not None:
            try:
                loop.call_soon_threadsafe(done.set)
            except RuntimeError:  # the caller's loop has closed; nobody is waiting any more
                pass
        else:
            try:
                anyio.from_thread.run_sync(done.set, token=token)
            except Exception:  # the caller's loop has finished
                pass

    return wake
