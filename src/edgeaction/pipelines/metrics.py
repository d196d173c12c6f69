"""Latency percentiles and resource figures for `edgeaction run --metrics`."""

from __future__ import annotations

import os
import resource
import sys

import numpy as np


class Latency:
    """Keep the last `keep` samples (milliseconds) of one step and summarise them.

    The samples live in a fixed numpy ring allocated up front, so a run of months holds
    the same memory after its first `keep` samples as after its last.

    ```python
    lat = Latency()
    lat.add(3.2)
    lat.summary()   # {"count": 1, "mean": 3.2, "p50": 3.2, "p90": 3.2, "p99": 3.2, "max": 3.2}
    ```

    Args:
        keep: Integer. Most recent samples kept for the percentiles. Defaults to `8192`.
    """

    def __init__(self, keep: int = 8192):
        self._v = np.zeros(int(keep), np.float64)
        self.count = 0
        self.total = 0.0

    def add(self, ms: float) -> None:
        self._v[self.count % len(self._v)] = ms
        self.count += 1
        self.total += float(ms)

    def extend(self, values) -> None:
        for v in values:
            self.add(v)

    def values(self) -> np.ndarray:
        """The kept samples (oldest first once the ring has wrapped)."""
        n = len(self._v)
        if self.count <= n:
            return self._v[: self.count].copy()
        i = self.count % n
        return np.concatenate([self._v[i:], self._v[:i]])

    def __len__(self) -> int:
        return min(self.count, len(self._v))

    def summary(self) -> dict | None:
        """Count, mean over all samples, p50/p90/p99/max over the kept ones; None if empty."""
        if not self.count:
            return None
        a = self._v[: len(self)]
        p50, p90, p99 = np.percentile(a, [50, 90, 99])
        return {
            "count": self.count,
            "mean": round(self.total / self.count, 3),
            "p50": round(float(p50), 3),
            "p90": round(float(p90), 3),
            "p99": round(float(p99), 3),
            "max": round(float(a.max()), 3),
        }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru / (1024 * 1024) if sys.platform == "darwin" else ru / 1024


def rss_mb() -> float | None:
    """Current resident memory of this process in MiB (Linux /proc), else None."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def open_fds() -> int | None:
    """Open file descriptors of this process (Linux), else None."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc), else None."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
