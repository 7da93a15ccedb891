"""Memory of the store benchmark's process: RSS split into heap and mapped files, peaks per phase, a ceiling.

Why apart from bench/store_bench.py: watching memory (a sampling thread, and a watchdog process that sees
through the engine's optimize(), which holds the GIL) is its own job, reused by the serving check.

The ceiling counts heap (anonymous) memory: mapped index files are page cache the kernel drops under
pressure, so they cannot push a shared machine into swap; the heap can.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path


def memory_mb() -> dict[str, int]:
    """RSS split into anonymous memory (heap: what the index really costs) and mapped files
    (page cache of mmapped segments, which the kernel reclaims under pressure), plus peak RSS."""
    keys = {"VmRSS": "rss_mb", "RssAnon": "rss_anon_mb", "RssFile": "rss_file_mb", "VmHWM": "peak_rss_mb"}
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            name = line.split(":")[0]
            if name in keys:
                out[keys[name]] = round(int(line.split()[1]) / 1024)
    except OSError:
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


_KILLER = """
import json, os, signal, sys, time
pid, limit, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
keys = {"VmRSS": "rss_mb", "RssAnon": "rss_anon_mb", "RssFile": "rss_file_mb"}
peaks = dict.fromkeys(keys.values(), 0)
while True:
    try:
        fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines())
    except (OSError, ValueError):
        break
    if "VmRSS" not in fields:  # exiting
        break
    now = {name: int(fields[key].split()[0]) // 1024 for key, name in keys.items() if key in fields}
    for name, value in now.items():
        peaks[name] = max(peaks[name], value)
    if now["rss_anon_mb"] > limit:
        os.kill(pid, signal.SIGKILL)
        print(f"store_bench: heap {now['rss_anon_mb']} MB over the {limit} MB ceiling: stopped", file=sys.stderr,
              flush=True)
        if out:
            open(out, "w").write(json.dumps({"aborted": f"heap {now['rss_anon_mb']} MB > {limit} MB (watchdog)",
                                             "watchdog_peaks": peaks}))
        sys.exit(0)
    time.sleep(0.2)
time.sleep(1)
if out and os.path.exists(out):  # the run finished: add the peaks seen from outside (through optimize too)
    report = json.loads(open(out).read())
    report["watchdog_peaks"] = peaks
    open(out, "w").write(json.dumps(report, indent=2))
"""


class MemoryWatch:
    """Peak anonymous / mapped RSS per phase, sampled in a thread, and a heap ceiling (heap over it on a
    shared machine hurts everyone else). The engine keeps the GIL during `optimize()`, so the thread cannot
    run then: a separate watchdog process enforces the ceiling (SIGKILL) and records the peaks it saw."""

    def __init__(self, limit_mb: int, report: dict, out: str | None):
        self.limit_mb, self.report, self.out = limit_mb, report, out
        self.phase, self.peaks = "start", {}
        threading.Thread(target=self._loop, name="memory-watch", daemon=True).start()
        self.killer = subprocess.Popen([sys.executable, "-c", _KILLER, str(os.getpid()), str(limit_mb), out or ""])

    def start(self, phase: str) -> None:
        self.phase = phase

    def _loop(self) -> None:
        while True:
            m = memory_mb()
            peak = self.peaks.setdefault(self.phase, {"rss_mb": 0, "rss_anon_mb": 0, "rss_file_mb": 0})
            for k in peak:
                peak[k] = max(peak[k], m.get(k, 0))
            if m.get("rss_anon_mb", 0) > self.limit_mb:
                self.report.update(aborted=f"heap {m['rss_anon_mb']} MB > --max-rss-gb during {self.phase}")
                self.report["peaks"] = self.peaks
                text = json.dumps(self.report, indent=2)
                print(text, flush=True)
                if self.out:
                    Path(self.out).write_text(text)
                os._exit(3)
            time.sleep(0.2)
