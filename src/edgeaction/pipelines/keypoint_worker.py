"""The keypoint stage of keypoint models: raw MediaPipe keypoints of every kept frame,
extracted in one thread per stream, between the stream's decoder and the shared queue.

```
source i ─ decode ─ thread ─ KeypointWorker thread ─ queue ─ main thread
```

Never imports TensorFlow.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..errors import EdgeActionError, fail, first_line

#: Widest frame MediaPipe sees for keypoint models (the width `edgeaction keypoints` caps to).
KEYPOINT_WIDTH = 640


@dataclass
class KeyedFrame:
    """A decoded frame and the raw keypoints of it (None for a frame sub-sampling drops)."""

    frame: object  # video.reader.Frame
    keypoints: np.ndarray | None


_DONE = object()


class KeypointWorker:
    """Raw keypoints of one stream's kept frames, extracted in a thread of its own.

    Sits between a `sources.Stream` and the runtime's shared queue: takes the stream's
    messages in order from `inbox`, runs MediaPipe (the stream's extractor) on the display
    frame of every kept frame (every `subsample`-th, as the main thread counts them),
    scaled down to `KEYPOINT_WIDTH` when wider, and passes every message on in order,
    frames as `KeyedFrame`. The stream's frame slots stay taken until the main thread
    releases them, so a stream holds at most `capacity` frames between its decoder and
    the windows (a file waits, a live source drops); a slow MediaPipe holds up only its
    own stream. A failed extraction fails the stream with one line (`"error"`), stops
    its decoder and drops what it sends after that.

    Args:
        index: Integer. Stream number.
        extractor: An open keypoint extractor (`keypoints.extractor_for(c).open()`,
            opened before GStreamer starts); closed by `close()`.
        out: The runtime's shared queue.
        subsample: Integer. Keep every n-th frame.
        figures: `Figures`. Takes the per-frame extraction time (`keypoints`, ms).
    """

    def __init__(self, index: int, extractor, out: queue.Queue, subsample: int, figures):
        self.index, self.name, self.ex = index, f"stream {index}", extractor
        self.out, self.subsample, self.figures = out, subsample, figures
        self.inbox: queue.Queue = queue.Queue()  # bounded by the stream's frame slots
        self.seen = 0
        self.failed = False
        self.stream = None
        self._thread: threading.Thread | None = None

    def start(self, stream) -> None:
        self.stream = stream
        self._thread = threading.Thread(
            target=self._run, name=f"edgeaction-keypoints-{self.index}", daemon=True
        )
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Close the extractor, unless the thread is still inside it."""
        if not self.running:
            self.ex.close()

    def finish(self, timeout: float = 10.0) -> None:
        """Process what the (stopped) stream left, then end the thread."""
        if self._thread is None:
            return
        self.inbox.put(_DONE)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            msg = self.inbox.get()
            if msg is _DONE:
                return
            kind, i, payload = msg
            if self.failed:  # the stream was failed here: free its frames, drop the rest
                if kind == "frame":
                    self.stream.release()
                continue
            if kind == "frame":
                self.seen += 1
                kp = None
                if (self.seen - 1) % self.subsample == 0:
                    try:
                        kp = self._extract(payload.display)
                    except Exception as e:  # noqa: BLE001 - one stream fails, not the run
                        self._fail(e)
                        self.stream.release()
                        continue
                payload = KeyedFrame(payload, kp)
            self.out.put((kind, i, payload))

    def _extract(self, rgb: np.ndarray | None) -> np.ndarray:
        if rgb is None:
            fail(f"{self.name}: no display frame to extract keypoints from (internal error)")
        t = time.perf_counter()
        h, w = rgb.shape[:2]
        if w > KEYPOINT_WIDTH:
            from .._lazy import require

            cv2 = require("cv2")
            size = (KEYPOINT_WIDTH, max(2, 2 * round(h * KEYPOINT_WIDTH / w / 2)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        kp = self.ex(rgb)
        self.figures.add_locked("keypoints", 1000 * (time.perf_counter() - t))
        return kp

    def _fail(self, e: Exception) -> None:
        self.failed = True
        text = str(e) if isinstance(e, EdgeActionError) else first_line(e)
        self.out.put(("error", self.index, f"{self.name}: keypoint extraction failed: {text}"))
        threading.Thread(target=self.stream.stop, daemon=True).start()
