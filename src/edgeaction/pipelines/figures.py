"""The runtime's figures: step latencies, batch counts, first-frame times, and the
metrics dict `--metrics` writes and the status line reads.

Never imports TensorFlow.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .metrics import Latency, open_fds, peak_rss_mb, process_age_s, rss_mb

#: The timed steps (ms): runner call, encoder and head calls of the feature cache,
#: MediaPipe per kept frame, keypoint features per batch, per-window post-processing
#: and annotation, and a window's wait from ready to result.
STEPS = ("infer", "encode", "head", "keypoints", "features", "post", "window")


class Figures:
    """Collect the figures of one run; `report()` turns them into the metrics dict.

    Args:
        status: Callable(dict) or None. Called about twice a second (`tick`) with the
            live figures.
        observe: Callable(step, value, stream) or None. Called with every measurement:
            a step's milliseconds (stream: the window's, for `"window"`; else None), and
            `("batch", windows, None)` per runner call (`--prometheus`'s histograms).
    """

    def __init__(
        self,
        status: Callable[[dict], None] | None = None,
        observe: Callable[[str, float, int | None], None] | None = None,
    ):
        self.t0 = time.perf_counter()  # the streams' start (`start`)
        self.setup_s = 0.0  # seconds from the start of the run to the streams' start
        self.status, self.observe = status, observe
        self.lat = {k: Latency() for k in STEPS}
        self.lock = threading.Lock()  # `keypoints` is written by the keypoint threads
        self.batches = 0
        self.batched_windows = 0
        self.batched_lanes = 0  # distinct (stream, zone) per batch, summed
        self.max_lanes = 0
        self.first_frame_s: float | None = None
        self.first_frame_process_s: float | None = None
        self._last_status = 0.0

    def start(self, t_start: float) -> None:
        """The streams start now; the run started at `t_start` (`time.perf_counter()`)."""
        self.t0 = time.perf_counter()
        self.setup_s = self.t0 - t_start

    def add(self, step: str, since: float, stream: int | None = None) -> None:
        """Add the milliseconds since `since` (a `time.perf_counter()`) to `step`."""
        ms = 1000 * (time.perf_counter() - since)
        self.lat[step].add(ms)
        if self.observe is not None:
            self.observe(step, ms, stream)

    def add_locked(self, step: str, ms: float) -> None:
        with self.lock:
            self.lat[step].add(ms)
        if self.observe is not None:
            self.observe(step, ms, None)

    def frame(self, now: float) -> None:
        """A frame reached the main thread at `now`."""
        if self.first_frame_s is None:
            self.first_frame_s = now - self.t0
            self.first_frame_process_s = process_age_s()

    def batch(self, windows: int, lanes: int = 1) -> None:
        """A runner call classified `windows` windows of `lanes` distinct (stream, zone)."""
        self.batches += 1
        self.batched_windows += windows
        if self.observe is not None:
            self.observe("batch", windows, None)
        self.batched_lanes += lanes
        self.max_lanes = max(self.max_lanes, lanes)

    def tick(self, report: Callable[[bool], dict]) -> None:
        """Call `status(report(False))` if half a second passed since the last call."""
        if self.status is None:
            return
        now = time.perf_counter()
        if now - self._last_status < 0.5:
            return
        self._last_status = now
        self.status(report(False))

    def run_figures(self, frames: int) -> dict:
        """The run-wide timing entries of the metrics dict."""
        elapsed = time.perf_counter() - self.t0
        out = {
            "seconds": round(elapsed, 3),
            "setup_s": round(self.setup_s, 3),
            "time_to_first_frame_s": None
            if self.first_frame_s is None
            else round(self.setup_s + self.first_frame_s, 3),
            "first_frame_since_process_start_s": None
            if self.first_frame_process_s is None
            else round(self.first_frame_process_s, 3),
            "fps": round(frames / max(elapsed, 1e-9), 2),
            "batches": self.batches,
            "mean_batch": round(self.batched_windows / max(self.batches, 1), 2),
            "mean_batch_zones": round(self.batched_lanes / max(self.batches, 1), 2),
            "max_batch_zones": self.max_lanes,
        }
        return out

    def process_figures(self) -> dict:
        """Latency summaries and the process's resources, for the final report."""
        return {
            "latency_ms": {k: v.summary() for k, v in self.lat.items() if v.count},
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "rss_mb": rss_mb(),
            "open_fds": open_fds(),
            "threads": threading.active_count(),
        }


def stream_row(sw, stats, events: int, video: str | None, final: bool) -> dict:
    """One stream's entry of the metrics dict, from its `StreamWindows` and `StreamStats`;
    with zones, `zones` lists each zone's name, windows and current label."""
    zones = [
        {"zone": z.name, "windows": z.windows, "label": z.label}
        for z in sw.zones
        if z.name is not None
    ]
    row = {
        "stream": sw.index,
        "source": sw.source,
        "state": stats.state if stats.state in ("failed", "ended") else sw.state,
        "frames": sw.seen,
        "decoded": stats.decoded,
        "dropped": stats.dropped,
        "displayed": stats.displayed,
        "kept": sw.kept,
        "windows": sw.windows,
        "events": events,
        "fps": round(sw.fps, 2),
        "reconnects": stats.reconnects,
        "gap_s": round(stats.gap_s, 3),
        "error": sw.error or stats.error,
        "video": video,
        "decode_ms": stats.decode_ms.summary() if final else None,
    }
    if zones:
        row["zones"] = zones
    return row
