"""`DisplayGate`: which decoded frames of a stream come with a display frame.

Every one, paired (the display appsink pulled in step with the model appsink), or, when
the display frames are only shown as they happen (the RTSP re-stream is their one user,
see `Runtime.display_realtime`), at most the stream's frame rate in wall-clock time. A
non-live file decodes as fast as the machine goes (2,000 fps at 320x240): scaling,
converting and copying a 640-wide RGB frame for each of them, to send 30 a second,
halved the run's frame rate. A `videorate` would not do: it counts the file's
timestamps, which run as fast as the decoding.

```
head ! tee name=t ─ queue ! scale ! convert ! appsink name=model          (every frame)
                  └ queue name=displayq leaky ! videoscale ! videoconvert ! appsink name=display
                    (holds 1, drops the older)                             (holds 1)
```

Realtime, the display branch holds one frame: its queue keeps only the newest decoded
frame (the older ones are dropped there, in C, before any scaling or conversion) and its
appsink holds one converted frame, so the branch converts a frame only after the stream's
thread took one, and that thread takes one (without waiting) only when one is due at the
frame rate (`pacing.Pacer`). No Python runs per decoded frame: a pad probe per frame cost
more than the display frames it saved (the GIL, on GStreamer's streaming thread).

Realtime, display frames are taken only while someone watches (`wanted`: an RTSP client
is connected), so a re-stream nobody watches costs one frame, not 30 a second.

A realtime display frame is the newest the branch made, not the model frame's own: it
was decoded up to one display period before it was taken, i.e. a few frames before or
after the model frame it comes with. The re-stream shows it with the stream's latest
label, which is fine; anything that needs a frame's own picture (the annotated video,
event clips, keypoints, zones cropped from it) asks for every frame.

Never imports TensorFlow.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ...video.reader import DISPLAY_QUEUE
from ..pacing import Pacer

__all__ = ["DisplayGate"]

#: Display frames a realtime branch holds while nobody takes one: the appsink's, and the
#: one its streaming thread converted and waits to push.
STALE_FRAMES = 2


class DisplayGate:
    """Whether (realtime: which) display frames a stream delivers.

    ```python
    gate = DisplayGate(lambda: stream.fps)   # None: every frame, paired
    gate.attach(pipeline)                    # before it plays
    display = gate.take(display_sink) if gate.realtime else pull(display_sink)
    ```

    Args:
        fps: Callable() -> float or None, or None. Realtime: the stream's frame rate
            (read per frame; while it returns None, a display frame is taken whenever
            one is ready). None: every frame, paired.
        wanted: Callable() -> bool, or None. Realtime: whether anyone watches now (an
            RTSP client is connected); while it returns False no display frame is taken,
            so the branch makes none. None: always. Defaults to `None`.
    """

    def __init__(
        self,
        fps: Callable[[], float | None] | None = None,
        wanted: Callable[[], bool] | None = None,
    ):
        self.fps, self.wanted = fps, wanted
        self.realtime = fps is not None
        self.pacer = Pacer()
        self._stale = 0  # display frames made while nobody watched, still to drop

    def attach(self, pipeline) -> None:
        """Realtime: make the display branch hold one frame (before the pipeline plays)."""
        if not self.realtime:
            return
        queue, sink = pipeline.get_by_name(DISPLAY_QUEUE), pipeline.get_by_name("display")
        if queue is None or sink is None:
            return
        queue.set_property("leaky", 2)  # downstream: the older frame goes
        queue.set_property("max-size-buffers", 1)
        queue.set_property("max-size-bytes", 0)
        queue.set_property("max-size-time", 0)
        sink.set_property("max-buffers", 1)  # drop=false: the branch waits for a take

    def take(self, sink):
        """Realtime: the display frame (a sample) to deliver with the model frame just
        pulled, or None: the newest one made, when one is due; never waits."""
        if self.wanted is not None and not self.wanted():
            self._stale = STALE_FRAMES
            return None
        if self._stale:  # made before anyone watched, maybe long ago: drop, make fresh
            self._stale -= sink.emit("try-pull-sample", 0) is not None
            return None
        fps, now = self.fps(), time.monotonic()
        if fps and not self.pacer.due(now, fps):
            return None
        sample = sink.emit("try-pull-sample", 0)
        if sample is not None and fps:
            self.pacer.take(now, fps)
        return sample
