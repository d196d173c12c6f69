"""The one GStreamer frame-pulling core.

A decode pipeline ending in `appsink name=model` (and, for annotated output,
`appsink name=display`), built, played, pulled and torn down the same way by the
training/evaluation reader (`VideoReader`) and by the runtime's streams
(`pipelines.sources.Stream`). How each of them words an error is given to it.

```python
core = FramePipeline('filesrc location="a.mp4" ! decodebin name=dec ! ... ! appsink name=model',
                     "a.mp4", explain=..., launch_error=..., no_video="...", timeout=lambda: "...")
core.open()
sample = core.pull(core.model, time.monotonic() + 10)   # raises PullEnd("eos") at the end
core.close()
```

Never imports TensorFlow.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .._lazy import gst


class PullEnd(Exception):
    """Why pulling stopped: `outcome` `"eos"`, `"error"`, `"timeout"` or `"stop"`, and for
    errors and timeouts the one-line `message`."""

    def __init__(self, outcome: str, message: str = ""):
        super().__init__(message)
        self.outcome = outcome
        self.message = message


class FramePipeline:
    """Build, play, pull from and tear down one decode pipeline.

    Args:
        description: String. `Gst.parse_launch` text with `appsink name=model` (and
            optionally `appsink name=display`); a demuxer/decoder named `dec` is watched
            for a source without video.
        name: String. The stream's name in messages.
        explain: Callable(element, err, dbg) -> str. One line for an error on the bus.
        launch_error: Callable(Exception) -> str. One line for a description that does
            not build (a missing element, bad syntax).
        no_video: String. The message when `dec` exposed no video stream.
        timeout: Callable() -> str. The message when no sample arrived in time.
        sync_handler: Callable(bus, message) or None. A bus sync handler (e.g. to renice
            the streaming threads). Defaults to `None`.
        prepare: Callable(pipeline) or None. Called once built, before it plays (e.g. to
            add pad probes). Defaults to `None`.
    """

    def __init__(
        self,
        description: str,
        name: str,
        explain: Callable,
        launch_error: Callable[[Exception], str],
        no_video: str,
        timeout: Callable[[], str],
        sync_handler: Callable | None = None,
        prepare: Callable | None = None,
    ):
        self.description, self.name = description, name
        self.explain, self.launch_error = explain, launch_error
        self.no_video, self.timeout = no_video, timeout
        self.sync_handler = sync_handler
        self.prepare = prepare
        self.pipeline = None
        self.model = None
        self.display = None
        self.bus = None
        self.all_pads = False  # set from a streaming thread once `dec` knows its pads
        self.pull_ms = 0.0  # time of the pulls that found a sample waiting
        self._lock = threading.Lock()

    def open(self) -> FramePipeline:
        """Build the pipeline and set it playing; raises `PullEnd("error")` on failure."""
        Gst, _ = gst()
        try:
            pipeline = Gst.parse_launch(self.description)
        except Exception as e:  # GLib.Error: missing element, bad syntax
            raise PullEnd("error", self.launch_error(e)) from None
        self.all_pads = False
        if self.sync_handler is not None:
            pipeline.get_bus().set_sync_handler(self.sync_handler)
        dec = pipeline.get_by_name("dec")
        if dec is not None:  # called on a streaming thread: only set a flag
            dec.connect("no-more-pads", self._on_no_more_pads)
        with self._lock:
            self.pipeline = pipeline
        self.model = pipeline.get_by_name("model")
        self.display = pipeline.get_by_name("display")
        self.bus = pipeline.get_bus()
        if self.prepare is not None:
            self.prepare(pipeline)
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise PullEnd("error", self.bus_error() or f"{self.name}: cannot start decoding")
        return self

    def _on_no_more_pads(self, *_args) -> None:
        self.all_pads = True

    def close(self) -> None:
        """Take the pipeline to NULL (safe from another thread, and twice)."""
        with self._lock:
            p, self.pipeline = self.pipeline, None
        if p is not None:
            Gst, _ = gst()
            p.set_state(Gst.State.NULL)

    def bus_error(self) -> str | None:
        """The one-line explanation of an error waiting on the bus, or None."""
        if self.bus is None:
            return None
        Gst, _ = gst()
        msg = self.bus.pop_filtered(Gst.MessageType.ERROR)
        if msg is None:
            return None
        err, dbg = msg.parse_error()
        return self.explain(msg.src.get_name() if msg.src else "", err, dbg)

    def pull(
        self,
        sink,
        deadline: float,
        stop: threading.Event | None = None,
        rewind: Callable[[], bool] | None = None,
    ):
        """The next sample of `sink`.

        Args:
            sink: The appsink (`model` or `display`).
            deadline: Float. `time.monotonic()` after which waiting is a timeout.
            stop: threading.Event or None. Raises `PullEnd("stop")` once set.
            rewind: Callable() -> bool or None. Called at the end of the stream; True
                (it sought back) pulls on instead of ending.

        Raises:
            PullEnd: At the end (`"eos"`), on a stop, an error or a timeout.
        """
        Gst, _ = gst()
        while True:
            if stop is not None and stop.is_set():
                raise PullEnd("stop")
            # A sample already waiting costs only the pull; waiting for the next one
            # (pacing of a live source, decoding on GStreamer's threads) is not counted.
            t0 = time.perf_counter()
            sample = sink.emit("try-pull-sample", 0)
            if sample is not None:
                self.pull_ms += (time.perf_counter() - t0) * 1000.0
                return sample
            sample = sink.emit("try-pull-sample", 50 * Gst.MSECOND)
            if sample is not None:
                return sample
            err = self.bus_error()
            if err:
                raise PullEnd("error", err)
            if sink.get_property("eos"):
                if rewind is not None and rewind():
                    continue
                raise PullEnd("eos")
            if self.all_pads and not self.has_video():
                raise PullEnd("error", self.no_video)
            if time.monotonic() > deadline:
                raise PullEnd("timeout", self.timeout())

    def has_video(self) -> bool:
        """Whether `dec` exposed a video stream (True without a `dec`, or once closed)."""
        p = self.pipeline
        if p is None:
            return True
        dec = p.get_by_name("dec")
        if dec is None:
            return True
        for pad in dec.srcpads:
            caps = pad.get_current_caps() or pad.query_caps(None)
            if caps and caps.get_size() and caps.get_structure(0).get_name().startswith("video/"):
                return True
        return False
