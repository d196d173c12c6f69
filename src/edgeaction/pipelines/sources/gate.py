"""`DisplayGate`: which decoded frames of a stream get a display frame.

Every one, or, when the display frames are only shown as they happen (the RTSP re-stream
is their one consumer, see `Runtime.display_realtime`), at most the stream's frame rate
in wall-clock time. A non-live file decodes as fast as the machine goes (2,000 fps at
320x240): scaling, converting and copying a 640-wide RGB frame for each of them, to send
30 a second, halved the run's frame rate. A `videorate` would not do: it counts the
file's timestamps, which run as fast as the decoding.

```
head ! conv0 ! tee name=t ─ queue ! scale ! convert ! appsink name=model
            ▲ decide      └ queue name=displayq ! videoscale ! videoconvert ! appsink name=display
                                  ▲ drop the frames decided against
```

Each frame is decided once, as it enters the tee (a pad probe, before either branch has
it), by `pacing.Pacer` at the frame rate of the caps entering the tee (or `fps()`
for a variable-rate source); the display branch drops the others at its queue,
before scaling and conversion, and the stream's thread asks `next()` after each model
frame whether a display frame of it follows, so the two appsinks stay paired. A
flushing seek (a looping file) discards the frames in flight and their decisions, and
the first frame after it, like the first of a pipeline, is always kept: the display
appsink must preroll before the pipeline plays again (a dropped one would stall it, the
model branch's queue full and the tee waiting on it).

Never imports TensorFlow.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from ..._lazy import gst
from ...video.reader import DISPLAY_QUEUE
from ..pacing import Pacer

__all__ = ["DisplayGate"]


class DisplayGate:
    """Decide per decoded frame whether it gets a display frame.

    ```python
    gate = DisplayGate(lambda: stream.fps)   # None: every frame
    gate.attach(pipeline)                    # before it plays
    model = pull(model_sink)
    display = pull(display_sink) if gate.next() else None
    ```

    Args:
        fps: Callable() -> float or None, or None. The stream's frame rate where its caps
            say none (`framerate=0/1`; read per frame, every frame while it returns
            None). None: every frame, no probes.
    """

    def __init__(self, fps: Callable[[], float | None] | None = None):
        self.fps = fps
        self.pacer = Pacer()
        self.active = False  # attached to a pipeline with a display branch
        self.caps_fps: float | None = None  # the frame rate of the caps entering the tee
        self._branch: deque[bool] = deque()  # decisions the display branch has yet to apply
        self._consumer: deque[bool] = deque()  # decisions `next()` has yet to return

    def attach(self, pipeline) -> None:
        """Add the probes to a new pipeline (before it plays); nothing without `fps` or
        a display branch."""
        self._restart()
        tee, queue = pipeline.get_by_name("t"), pipeline.get_by_name(DISPLAY_QUEUE)
        self.active = self.fps is not None and tee is not None and queue is not None
        if not self.active:
            return
        Gst, _ = gst()
        self._ok, self._drop = Gst.PadProbeReturn.OK, Gst.PadProbeReturn.DROP
        self._buffer, self._flush_stop = Gst.PadProbeType.BUFFER, Gst.EventType.FLUSH_STOP
        self._caps = Gst.EventType.CAPS
        types = Gst.PadProbeType
        tee.get_static_pad("sink").add_probe(
            types.BUFFER | types.EVENT_DOWNSTREAM | types.EVENT_FLUSH, self._decide
        )
        queue.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, self._apply)

    def next(self) -> bool:
        """Whether the model frame just pulled has a display frame (one call per frame)."""
        return self._consumer.popleft() if self.active else True

    def _decide(self, _pad, info):
        """A frame enters the tee (on its streaming thread): decide. Or an event: the
        caps' frame rate, or the end of a flush."""
        if info.type & self._buffer:
            fps = self.caps_fps or self.fps()
            keep = not fps or self.pacer.admit(time.monotonic(), fps)
            self._branch.append(keep)
            self._consumer.append(keep)
            return self._ok
        event = info.get_event()
        if event.type == self._caps:
            ok, num, den = event.parse_caps().get_structure(0).get_fraction("framerate")
            self.caps_fps = num / den if ok and num > 0 and den > 0 else None
        elif event.type == self._flush_stop:
            self._restart()
        return self._ok

    def _restart(self) -> None:
        """A new pipeline, or a flush: no decision pending, and the next frame is kept
        (the display appsink must preroll before the pipeline plays again)."""
        self._branch.clear()
        self._consumer.clear()
        self.pacer = Pacer()

    def _apply(self, _pad, _info):
        """A frame enters the display branch: on, or dropped before any work."""
        keep = self._branch.popleft() if self._branch else True
        return self._ok if keep else self._drop
