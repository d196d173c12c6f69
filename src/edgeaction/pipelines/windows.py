"""Sliding windows of T frames over one stream."""

from __future__ import annotations

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
