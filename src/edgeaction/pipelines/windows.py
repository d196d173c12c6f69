"""Sliding windows of T frames over one stream, and the `Batcher` that gathers the work
they make ready (`Pending`) into cross-stream batches."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..errors import fail


@dataclass
class Window:
    """T frames ready for the model: frame indices `[start, end]` inclusive."""

    start: int
    end: int
    pts: float
    frames: np.ndarray  # (T, H, W, 3) uint8


class ClipBuffer:
    """Hold the last T (sub-sampled) frames of a stream and emit a window every `stride`.

    ```python
    buf = ClipBuffer(frames=8, stride=4)
    for f in reader:
        for w in buf.push(f.index, f.pts, f.image):
            classify(w.frames)
    ```

    Args:
        frames: Integer. T, frames per window.
        stride: Integer. Kept frames between consecutive windows (>= 1).
        subsample: Integer. Keep every `subsample`-th frame (1 keeps all). Defaults to `1`.
    """

    def __init__(self, frames: int, stride: int, subsample: int = 1):
        if frames < 1:
            fail(f"window needs frames >= 1. Received: frames={frames}")
        if stride < 1:
            fail(f"--stride must be >= 1. Received: stride={stride}")
        if subsample < 1:
            fail(f"--subsample must be >= 1. Received: subsample={subsample}")
        self.frames, self.stride, self.subsample = frames, stride, subsample
        self._buf: deque = deque(maxlen=frames)
        self._seen = 0  # frames pushed
        self._kept = 0  # frames kept after sub-sampling

    def push(self, index: int, pts: float, image: np.ndarray) -> list[Window]:
        self._seen += 1
        if (self._seen - 1) % self.subsample:
            return []
        self._buf.append((index, pts, image))
        self._kept += 1
        if self._kept < self.frames or (self._kept - self.frames) % self.stride:
            return []
        first, last = self._buf[0], self._buf[-1]
        return [Window(first[0], last[0], last[1], np.stack([b[2] for b in self._buf]))]


@dataclass
class Pending:
    """A window waiting for the runner (or, with the feature cache, a kept frame waiting
    for the encoder: `window` None, `frame` `(index, pts, image)`), of zone `zone` (0 for
    a stream without zones) of stream `stream`."""

    stream: int
    window: Window | None
    pose: np.ndarray | None  # raw keypoints (T, RAW_DIMS[kind]) of the window
    ready_s: float
    frame: tuple | None = None
    zone: int = 0


class ZoneWindows:
    """One zone's windows and (smoothed) label; a stream without zones has one, `name` None.

    Args:
        name: String or None. The zone's name (None: the whole frame, no `zone` in events).
        contract: `ModelContract`.
        stride: Integer. Kept frames between windows.
        feature_cache: Boolean. Window the encoder's features instead of frames.
        smooth: Integer. Windows the label is smoothed over.
        smooth_mode: String. `"majority"` or `"ema"`.
    """

    def __init__(self, name, contract, stride, feature_cache, smooth, smooth_mode):
        from .events import LabelSmoother

        c, t = contract, contract.frames
        self.name = name
        self.frames = ClipBuffer(t, stride) if c.uses_frames and not feature_cache else None
        self.pose = ClipBuffer(t, stride) if c.uses_keypoints else None
        self.features = ClipBuffer(t, stride) if feature_cache else None
        self.smoother = LabelSmoother(smooth, smooth_mode)
        self.windows = 0
        self.label: str | None = None
        self.score: float | None = None


class StreamWindows:
    """The runtime's per-stream stage: counts frames, sub-samples, cuts sliding windows
    and keeps the stream's current (smoothed) label.

    ```python
    sw = StreamWindows(0, "cam.mp4", contract, stride=4, subsample=1)
    for p in sw.on_frame(frame, None, time.perf_counter()):
        batcher.add(p)
    ```

    Args:
        index: Integer. Stream number.
        source: String. The source as shown (credentials redacted).
        contract: `ModelContract`. Frames per window, and whether frames and/or
            keypoints are windowed.
        stride: Integer. Kept frames between windows.
        subsample: Integer. Keep every n-th frame.
        feature_cache: Boolean. Kept frames go to the encoder one by one (`Pending.frame`)
            and `features` windows the encoder's output. Defaults to `False`.
        smooth: Integer. Windows the label is smoothed over. Defaults to `1`.
        smooth_mode: String. `"majority"` or `"ema"`. Defaults to `"majority"`.
        zones: List of zone names or None. One window buffer, feature window and label
            per zone; frames then carry one crop per zone (`sources.ZoneFrame.zones`).
            None: one zone, the whole frame. Defaults to `None`.
    """

    def __init__(
        self,
        index: int,
        source: str,
        contract,
        stride: int,
        subsample: int,
        feature_cache: bool = False,
        smooth: int = 1,
        smooth_mode: str = "majority",
        zones: list[str] | None = None,
    ):
        self.index, self.source, self.name = index, source, f"stream {index}"
        self.subsample = subsample
        self.zoned = bool(zones)
        self.zones = [
            ZoneWindows(z, contract, stride, feature_cache, smooth, smooth_mode)
            for z in (zones or [None])
        ]
        self.feature_cache = feature_cache
        self.uses_pose = contract.uses_keypoints
        self.seen = 0  # frames consumed
        self.kept = 0  # frames kept after sub-sampling
        self.first_frame_s: float | None = None
        self.last_frame_s: float | None = None
        self.state = "starting"
        self.error: str | None = None
        self.gaps: list = []

    def on_frame(self, f, keypoints: np.ndarray | None, now: float) -> list[Pending]:
        """Count one decoded frame (`video.reader.Frame`); returns the work it makes ready."""
        if self.first_frame_s is None:
            self.first_frame_s = now
        self.last_frame_s = now
        self.state = "running" if self.state == "starting" else self.state
        self.seen += 1
        if (self.seen - 1) % self.subsample:
            return []
        self.kept += 1
        if self.uses_pose and keypoints is None:
            fail(f"{self.name}: a kept frame arrived without its keypoints (internal error)")
        images = f.zones if self.zoned else (f.image,)
        if images is None:
            fail(f"{self.name}: a frame arrived without its zones (internal error)")
        out: list[Pending] = []
        for z, (lane, image) in enumerate(zip(self.zones, images, strict=True)):
            if self.feature_cache:  # the encoder sees every kept frame of every zone
                out.append(Pending(self.index, None, None, now, (f.index, f.pts, image), z))
                continue
            wins = lane.frames.push(f.index, f.pts, image) if lane.frames is not None else None
            pws = lane.pose.push(f.index, f.pts, keypoints) if lane.pose is not None else None
            out += [
                Pending(self.index, w, pws[k].frames if pws is not None else None, now, None, z)
                for k, w in enumerate(wins if wins is not None else pws)
            ]
        return out

    def on_features(self, p: Pending, feature: np.ndarray) -> list[Pending]:
        """Feature cache: window the encoder's output of the kept frame `p` (of its zone)."""
        idx, pts, _ = p.frame
        wins = self.zones[p.zone].features.push(idx, pts, feature)
        return [Pending(self.index, w, None, p.ready_s, None, p.zone) for w in wins]

    def on_probs(self, probs: np.ndarray, labels, zone: int = 0) -> tuple[float, np.ndarray]:
        """Smooth one window's probabilities (of zone `zone`); returns (score, smoothed
        probabilities)."""
        lane = self.zones[zone]
        lane.windows += 1
        k, score, smoothed = lane.smoother.update(probs)
        lane.label, lane.score = labels[k], score
        return score, smoothed

    def zone_name(self, zone: int) -> str | None:
        """The name of zone `zone` (None for a stream without zones)."""
        return self.zones[zone].name

    @property
    def windows(self) -> int:
        """Windows classified, all zones together."""
        return sum(z.windows for z in self.zones)

    @property
    def label(self) -> str | None:
        """The current label (of the first zone, with zones)."""
        return self.zones[0].label

    @property
    def score(self) -> float | None:
        return self.zones[0].score

    @property
    def fps(self) -> float:
        """Frames consumed per second of wall time, so far."""
        if self.first_frame_s is None or self.last_frame_s is None or self.seen < 2:
            return 0.0
        return (self.seen - 1) / max(self.last_frame_s - self.first_frame_s, 1e-9)


class Batcher:
    """The batching stage: pending work leaves in arrival order, `limit` at a time, when
    a batch is full, when its oldest item waited `timeout_s`, or all of it at the end.

    Args:
        limit: Integer. Items per batch (windows, or frames for the feature cache).
        timeout_s: Float. Longest an item waits for its batch to fill.
    """

    def __init__(self, limit: int, timeout_s: float):
        self.limit, self.timeout_s = limit, timeout_s
        self.pending: list[Pending] = []

    def add(self, items: list[Pending]) -> None:
        self.pending += items

    def wait_s(self, now: float) -> float:
        """How long the main thread may wait for the next message."""
        if not self.pending:
            return 0.1
        return max(0.0, self.pending[0].ready_s + self.timeout_s - now)

    def take(self, force: bool = False) -> list[Pending] | None:
        """The next batch that is due (any, with `force`), or None."""
        if not self.pending:
            return None
        due = (
            force
            or len(self.pending) >= self.limit
            or time.perf_counter() - self.pending[0].ready_s >= self.timeout_s
        )
        if not due:
            return None
        batch, self.pending = self.pending[: self.limit], self.pending[self.limit :]
        return batch
