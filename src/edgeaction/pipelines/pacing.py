"""`Pacer`: at most `fps` frames a second of wall-clock time, the one rule by which the
RTSP re-stream sends frames (`restream.Restream`) and a stream makes display frames only
the re-stream shows (`sources.gate.DisplayGate`).

```python
p = Pacer()
if p.admit(time.monotonic(), 25.0):
    send(frame)
```

A frame is due half a period early (jitter); after a pause the schedule restarts from
now, with at most one period of catch-up, so a stall never turns into a burst.

Never imports TensorFlow.
"""

from __future__ import annotations

__all__ = ["Pacer"]


class Pacer:
    """The wall-clock schedule of one paced sequence of frames (not thread-safe: one
    caller, or the caller's lock)."""

    def __init__(self):
        self.next_t = 0.0  # monotonic time the next frame is due

    def due(self, now: float, fps: float) -> bool:
        """Whether a frame at `now` would be taken (half a frame of jitter is fine)."""
        return now >= self.next_t - 0.5 / fps

    def take(self, now: float, fps: float) -> None:
        """Count a frame taken at `now`: the next one is due a period later."""
        period = 1.0 / fps
        self.next_t = max(self.next_t + period, now - period)

    def admit(self, now: float, fps: float) -> bool:
        """`due`, and if so `take`: True for a frame to keep."""
        if not self.due(now, fps):
            return False
        self.take(now, fps)
        return True
