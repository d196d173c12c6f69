"""`Stream`: one source decoded in its own GStreamer pipeline and thread, frames onto a
shared queue.

```
Stream(0, parse_source("test://ball"), q, 112, 112).start()   # frames onto q
```

Each `Stream` puts tuples `(kind, stream_index, payload)` on one shared `queue.Queue`:
`("frame", i, Frame)`, `("started", i, None)`, `("eos", i, None)`, `("error", i, "one line")`,
`("gap", i, {"reason": ..., "attempt": n})` and `("resumed", i, {"gap_s": s})`. Every frame
taken from the queue must be handed back with `Stream.release()`: a stream holds at most
`capacity` frames in the queue; a file then waits (back-pressure, nothing lost), a live
source drops the new frame and counts it.

What differs between kinds (looping, reconnecting, the wording of a timeout) is asked
of the source's `SourceKind`; this file never branches on the kind.

Never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..._lazy import gst
from ...errors import EdgeActionError, fail, first_line
from ...video.pull import FramePipeline, PullEnd
from ...video.reader import Frame, caps_fps, sample_array
from ..metrics import Latency
from ..zones import check_inside
from .gate import DisplayGate
from .kinds import kind_of
from .pipeline import explain_stream, launch_error, pipeline_description, scrub
from .spec import SourceSpec


@dataclass
class ZoneFrame(Frame):
    """A decoded `Frame` of a stream with zones: `zones` (Z, H, W, 3) uint8, one
    model-size crop per zone, in the order given (see `Stream`'s `zones`); None, as
    `image`, for a frame the consumer's sub-sampling drops (`Stream`'s `subsample`)."""

    zones: np.ndarray | None = None


class Slots:
    """A counting semaphore on `queue.SimpleQueue` (C): the main thread releases a slot for
    every frame it takes, and `threading.Semaphore`'s Python-level Condition made that
    ~16 us of the consumer's time per frame while decode threads waited on it (py-spy,
    8 saturated streams); a put/get of a token is a fraction of a microsecond.

    Args:
        n: Integer. Slots free at the start.
    """

    def __init__(self, n: int):
        self._tokens: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(n):
            self._tokens.put(None)

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a slot (waiting up to `timeout` s when `blocking`); False if none came."""
        try:
            self._tokens.get(blocking, timeout)
        except queue.Empty:
            return False
        return True

    def release(self) -> None:
        """Give a slot back (wakes one waiting `acquire`)."""
        self._tokens.put(None)


# ---- the reader thread ------------------------------------------------------------------
@dataclass
class StreamStats:
    """What one stream did so far (read by the runtime for metrics; written by its thread).

    Args:
        decoded: Integer. Frames decoded (delivered + dropped).
        delivered: Integer. Frames put on the queue.
        dropped: Integer. Frames of a live source dropped because the consumer was behind.
        displayed: Integer. Display frames delivered: one per delivered frame, or at
            most the frame rate with `display_realtime` (see `DisplayGate`).
        reconnects: Integer. Times the pipeline was rebuilt after a lost connection.
        gap_s: Float. Total seconds without frames while reconnecting.
        state: String. `"starting"`, `"running"`, `"reconnecting"`, `"ended"`, `"failed"`
            or `"stopped"`.
        error: String or None. The one-line error of a failed stream.
        decode_ms: `metrics.Latency`. Per-frame cost in this stream's thread in ms: taking
            the decoded sample(s) from the appsink(s) and copying them into numpy; waiting
            for a frame is not counted (percentiles over the last 8192 frames).
        started_at: Float or None. `time.monotonic()` when the thread started.
        first_frame_at: Float or None. `time.monotonic()` of the first frame.
    """

    decoded: int = 0
    delivered: int = 0
    dropped: int = 0
    displayed: int = 0
    reconnects: int = 0
    gap_s: float = 0.0
    state: str = "starting"
    error: str | None = None
    decode_ms: Latency = field(default_factory=Latency)
    started_at: float | None = None
    first_frame_at: float | None = None


class Stream:
    """Decode one source in its own GStreamer pipeline and thread, frames onto a shared queue.

    ```python
    q = queue.Queue()
    s = Stream(0, parse_source("test://ball?frames=90"), q, 112, 112).start()
    while True:
        kind, i, payload = q.get()
        if kind == "frame":
            s.release()          # once per frame taken
        elif kind in ("eos", "error"):
            break
    s.stop()
    ```

    Args:
        index: Integer. Stream number, the second item of every queue tuple.
        spec: SourceSpec. From `parse_source()`.
        out: queue.Queue. Shared by all streams; receives `(kind, index, payload)`.
        width: Integer. Model frame width.
        height: Integer. Model frame height.
        colour: String. `"RGB"` or `"BGR"`. Defaults to `"RGB"`.
        display_width: Integer or None. Also deliver an RGB display frame this wide.
            Defaults to `None`.
        display_realtime: Boolean. Deliver a display frame at most at the stream's
            frame rate in wall-clock time, the newest the display branch made (not
            necessarily the frame's own), the other frames without one (`display` None);
            the decoded frames in between are dropped before scaling and conversion
            (`DisplayGate`). For display frames only shown as they happen (the RTSP
            re-stream) of a file decoded faster than real time. Not with zones cropped
            from the display frame. Defaults to `False` (every frame, its own).
        display_wanted: Callable() -> bool, or None. With `display_realtime`: whether
            anyone watches the display frames now (no frame is made while not). None:
            always. Defaults to `None`.
        capacity: Integer. Frames of this stream that may wait in `out` unreleased.
            Defaults to `16`.
        reconnect: Boolean. Rebuild lost RTSP / V4L2 streams with back-off, forever
            until `stop()`. Defaults to `True`.
        connect_attempts: Integer. Tries for a source that never delivered a frame.
            Defaults to `3`.
        backoff_s: Tuple of 2 floats. First and largest wait between tries (doubling).
            Defaults to `(0.5, 8.0)`.
        timeout_s: Float. A session with no frame for this long counts as failed (files)
            or lost (live). Defaults to `10`.
        platform: String. `"cpu"` or `"jetson"` decode elements. Defaults to `"cpu"`.
        nice: Integer. Run this stream's thread, and the GStreamer threads its pipeline
            starts (they inherit it), this much nicer than the process. On a saturated
            machine the consumer (windows, inference) then gets the CPU first and the
            decoders take what is left, instead of decoding frames that then wait.
            Defaults to `0`.
        zones: List of `options.Roi` or None. Deliver `ZoneFrame`s holding these zones
            (source-frame pixels) at the model's size: on `"cpu"` cropped in the pipeline
            (`zone_description`; `image` is zone 0), elsewhere out of the display frame
            (`display_width` is needed). A zone outside the decoded frame fails the
            stream with one line naming the stream and the zone. Defaults to `None`.
        subsample: Integer. The consumer keeps every `subsample`-th delivered frame
            (`StreamWindows`, counting from the first): the others are still pulled,
            counted and delivered (display frame and all), but their model-size images
            are not copied out (`image` and `zones` None), one copy per zone saved.
            Defaults to `1` (every frame converted).
    """

    def __init__(
        self,
        index: int,
        spec: SourceSpec,
        out: queue.Queue,
        width: int,
        height: int,
        colour: str = "RGB",
        display_width: int | None = None,
        display_realtime: bool = False,
        display_wanted: Callable[[], bool] | None = None,
        capacity: int = 16,
        reconnect: bool = True,
        connect_attempts: int = 3,
        backoff_s: tuple[float, float] = (0.5, 8.0),
        timeout_s: float = 10.0,
        platform: str = "cpu",
        nice: int = 0,
        zones: list | None = None,
        subsample: int = 1,
    ):
        if capacity < 1 or connect_attempts < 1 or timeout_s <= 0:
            fail(
                f"stream capacity, connect attempts and timeout must be positive. Received: "
                f"capacity={capacity}, connect_attempts={connect_attempts}, timeout_s={timeout_s}"
            )
        if len(backoff_s) != 2 or not 0 <= backoff_s[0] <= backoff_s[1]:
            fail(
                f"backoff_s must be (first, largest) with 0 <= first <= largest. Received: {backoff_s}"
            )
        self.index = int(index)
        self.spec = spec
        self.kind = kind_of(spec)
        self.out = out
        self.short = f"stream {self.index}"
        self.name = f"{self.short} ({spec.display})"
        self.capacity = int(capacity)
        self.reconnect = bool(reconnect)
        self.connect_attempts = int(connect_attempts)
        self.backoff_s = (float(backoff_s[0]), float(backoff_s[1]))
        self.timeout_s = float(timeout_s)
        self.platform = platform
        self.nice = int(nice)
        self._nice_target = 0  # absolute niceness of this stream's threads (`_run`)
        self.display_width = int(display_width) if display_width else None
        self.zones = list(zones or [])
        self.subsample = max(1, int(subsample))
        self._sized = False  # Jetson zones: the source size read in this session
        self.crops = None  # Jetson: zones cropped from the display frame (`ZoneCrops`)
        self.source_size: tuple[int, int] | None = None  # decoded (width, height), with zones
        self._zone_error: str | None = None
        self._zone_sinks: list = []
        self.description = self._describe(width, height, colour)
        if display_realtime and self.crops is not None:
            fail(f"{self.short}: zones cropped from the display frame need every display frame")
        self.gate = DisplayGate((lambda: self.fps) if display_realtime else None, display_wanted)
        self.stats = StreamStats()
        self._slots = Slots(self.capacity)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._core: FramePipeline | None = None  # the session's pipeline
        # frame numbering and timestamps that keep increasing across loops and reconnects
        self._next_index = 0
        self._pts_offset = 0.0
        self._last_pts = math.nan
        self._pts_step = math.nan
        self._last_frame_wall: float | None = None
        self._session_first = True
        self._session_frames = 0
        self._caps_fps: float | None = None

    def _describe(self, width: int, height: int, colour: str) -> str:
        """The stream's pipeline description (with a branch per zone on the CPU; Jetson
        zones are cropped from the display frame: `self.crops`). Fails now, in one line,
        for a bad size, colour, platform or csi:// on cpu."""
        spec, platform = self.spec, self.platform
        desc = pipeline_description(
            spec, width, height, colour, self.display_width, platform, self.timeout_s
        )
        if self.zones and platform == "cpu":
            return zone_description(
                spec, width, height, colour, self.display_width, self.timeout_s, len(self.zones)
            )
        if self.zones:
            from ..zones import ZoneCrops

            if self.display_width is None:
                fail(f"{self.short}: zones on {platform} need a display branch (display_width)")
            self.crops = ZoneCrops(self.zones, width, height, colour)
        return desc

    # ---- public ------------------------------------------------------------------------
    def start(self) -> Stream:
        """Start the reader thread (once). Returns the stream."""
        if self._thread is not None:
            return self
        self.stats.started_at = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, name=f"edgeaction-stream-{self.index}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop, take its pipeline to NULL and wait for it.

        Args:
            timeout: Float. Seconds to wait for the thread. Defaults to `5`.
        """
        self._stop.set()
        t = self._thread
        if t is None:
            if self.stats.state == "starting":
                self.stats.state = "stopped"
            return
        t.join(timeout / 2)
        if t.is_alive():  # stuck inside GStreamer: pull the pipeline down from here
            self._teardown()
            t.join(timeout / 2)

    def release(self) -> None:
        """Free the queue slot of one consumed frame (call once per `"frame"` taken)."""
        self._slots.release()

    @property
    def running(self) -> bool:
        """Whether the reader thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def fps(self) -> float | None:
        """Frame rate of the decoded frames: the negotiated caps' `framerate`, else (a
        variable-rate source, caps `0/1`) the rate of the timestamps so far; None before
        the first frames."""
        if self._caps_fps:
            return self._caps_fps
        step = self._pts_step
        return 1.0 / step if step == step and step > 0 else None

    # ---- thread body -------------------------------------------------------------------
    def _put(self, kind: str, payload=None) -> None:
        self.out.put((kind, self.index, payload))

    def _fail(self, message: str) -> None:
        message = " ".join(message.split())
        self.stats.state = "failed"
        self.stats.error = message
        self._put("error", message)

    def _run(self) -> None:
        if self.nice > 0:  # per thread on Linux; the pipeline's threads: _on_sync_message
            self._nice_target = os.getpriority(os.PRIO_PROCESS, 0) + self.nice
            _renice(self._nice_target)
        try:
            self._main()
        except EdgeActionError as e:
            self._fail(scrub(str(e), self.spec))
        except Exception as e:  # never let a stream die silently
            self._fail(f"{self.name}: {scrub(first_line(e), self.spec)}")
        finally:
            self._teardown()
            if self.stats.state not in ("ended", "failed"):
                self.stats.state = "stopped"

    def _main(self) -> None:
        spec, kind = self.spec, self.kind
        can_reconnect = self.reconnect and kind.reconnects
        ever = False  # delivered a frame at some point
        attempt = 0  # failed tries since frames last flowed
        delay = self.backoff_s[0]
        gap_from: float | None = None
        while not self._stop.is_set():
            outcome, message = self._session(gap_from)
            self._teardown()
            if self._session_frames:
                ever = True
                attempt, delay, gap_from = 0, self.backoff_s[0], None
            if outcome == "stop" or self._stop.is_set():
                return
            if outcome == "eos" and kind.loops(spec):
                if self._session_frames == 0:
                    self._fail(
                        f"{self.name}: the file holds no video frames (audio-only or empty stream?)"
                    )
                    return
                continue  # start the file again; indexes and pts keep counting
            if outcome == "eos" and not (can_reconnect and ever):
                if not ever and kind.empty_is_error(spec):
                    self._fail(
                        f"{self.name}: the file holds no video frames (audio-only or empty stream?)"
                    )
                    return
                self.stats.state = "ended"
                self._put("eos")
                return
            if not can_reconnect:
                self._fail(message)
                return
            attempt += 1
            if not ever:
                if attempt >= self.connect_attempts:
                    tries = f" (gave up after {attempt} tries)" if attempt > 1 else ""
                    self._fail(f"{message}{tries}")
                    return
            else:
                if gap_from is None:
                    gap_from = time.monotonic()
                self.stats.state = "reconnecting"
                reason = message if outcome != "eos" else "the source closed the stream"
                reason = reason.removeprefix(f"{self.name}: ")
                self._put("gap", {"reason": reason, "attempt": attempt})
            if self._stop.wait(delay):
                return
            delay = min(self.backoff_s[1], max(delay * 2, 0.05))
            if ever:
                self.stats.reconnects += 1

    # ---- one pipeline session ----------------------------------------------------------
    def _open(self) -> FramePipeline:
        spec, name = self.spec, self.name
        core = FramePipeline(
            self.description,
            name,
            explain=lambda el, err, dbg: explain_stream(spec, name, self.short, el, err, dbg),
            launch_error=lambda e: launch_error(spec, name, e),
            no_video=f"{name}: no video stream in {spec.display} (audio-only?); give a source with video",
            timeout=self._timeout_message,
            sync_handler=self._on_sync_message if self.nice > 0 else None,
            prepare=self._prepare,
        )
        with self._lock:  # `stop()` may tear it down from another thread
            self._core = core
        return core.open()

    def _on_sync_message(self, bus, msg):
        """Renice each streaming thread as it enters its task (posted from that thread).

        GStreamer keeps finished streaming threads in a pool and reuses them, so
        inheriting the niceness of the thread that started the pipeline is not enough;
        STREAM_STATUS/ENTER is GStreamer's documented hook for thread priorities.
        """
        Gst, _ = gst()
        if msg.type == Gst.MessageType.STREAM_STATUS:
            kind, _owner = msg.parse_stream_status()
            if kind == Gst.StreamStatusType.ENTER:
                _renice(self._nice_target)
        return Gst.BusSyncReply.PASS

    def _prepare(self, pipeline) -> None:
        """Before the pipeline plays: the zones' crops (CPU), the display branch."""
        if self.zones and self.crops is None:
            self._prepare_zones(pipeline)
        self.gate.attach(pipeline)

    def _prepare_zones(self, pipeline) -> None:
        """CPU zones: set each `videocrop`'s margins once the decoded size is known (a
        probe on the CAPS event entering the tee, before any frame reaches the crops)."""
        Gst, _ = gst()
        crops = [pipeline.get_by_name(f"crop{k}") for k in range(len(self.zones))]
        self._zone_sinks = [pipeline.get_by_name(f"zone{k}") for k in range(1, len(self.zones))]
        self._zone_error = None

        def on_event(_pad, info):
            ev = info.get_event()
            if ev is None or ev.type != Gst.EventType.CAPS:
                return Gst.PadProbeReturn.OK
            st = ev.parse_caps().get_structure(0)
            w, h = st.get_int("width")[1], st.get_int("height")[1]
            self.source_size = (w, h)
            try:
                check_inside(self.zones, w, h, self.name)
            except EdgeActionError as e:  # reported by the stream's thread at its first frame
                self._zone_error = str(e)
            for z, crop in zip(self.zones, crops, strict=True):
                inside = self._zone_error is None
                crop.set_property("left", z.x if inside else 0)
                crop.set_property("top", z.y if inside else 0)
                crop.set_property("right", w - z.x - z.w if inside else 0)
                crop.set_property("bottom", h - z.y - z.h if inside else 0)
            return Gst.PadProbeReturn.OK

        tee = pipeline.get_by_name("t").get_static_pad("sink")
        tee.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_event)

    def _teardown(self) -> None:
        with self._lock:
            core, self._core = self._core, None
        if core is not None:
            core.close()

    def _session(self, gap_from: float | None) -> tuple[str, str]:
        """Run one pipeline until it ends; returns (outcome, one-line message)."""
        self._session_frames = 0
        self._session_first = True
        self._sized = False
        try:
            core = self._open()
            while not self._stop.is_set():
                self._one_frame(core, gap_from)
                gap_from = None
            return "stop", ""
        except PullEnd as e:
            return e.outcome, e.message

    def _rewind(self, pipeline) -> bool:
        """Loop a `loop=1` file in place: a flushing seek to its start, no new pipeline
        (decoders, threads and file descriptors stay as they are for months of looping).
        False when it does not apply or the seek fails (the file is then reopened)."""
        if not self.kind.loops(self.spec):
            return False
        if self._session_frames == 0:
            return False
        Gst, _ = gst()
        ok = pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        if ok:
            self._session_first = True  # pts restart at 0: keep them increasing
        return bool(ok)

    def _timeout_message(self) -> str:
        return self.kind.timeout_message(self.spec, self.name, f"{self.timeout_s:g}")

    def _pull(self, core: FramePipeline, sink):
        rewind = lambda: self._rewind(core.pipeline)  # noqa: E731
        return core.pull(sink, time.monotonic() + self.timeout_s, self._stop, rewind)

    def _one_frame(self, core: FramePipeline, gap_from: float | None) -> None:
        Gst, _ = gst()
        core.pull_ms = 0.0  # time of the pulls that returned a sample, plus conversion
        sample = self._pull(core, core.model)
        if self._zone_error is not None:
            raise EdgeActionError(self._zone_error)
        if self._session_frames == 0:
            self._caps_fps = caps_fps(sample) or self._caps_fps
        # Take a slot first: a dropped frame of a live source is not converted.
        if self.spec.live:
            keep = self._slots.acquire(blocking=False)
        else:
            keep = True
            while not self._slots.acquire(timeout=0.1):
                if self._stop.is_set():
                    raise PullEnd("stop")
        # ... and the model-size images only of a frame the consumer's sub-sampling keeps
        used = keep and self.stats.delivered % self.subsample == 0
        try:
            t0 = time.perf_counter()
            image = sample_array(sample, self.name) if used else None
            zones = self._zone_arrays(core, image) if self._zone_sinks else None
            if self.zones and zones is None and image is not None and self.crops is None:
                zones = image[None]  # one zone: its crop is the model branch's frame
            convert_ms = (time.perf_counter() - t0) * 1000.0
            dsample = None
            if core.display is not None and self.gate.realtime:
                dsample = self.gate.take(core.display)
            elif core.display is not None:
                dsample = self._pull(core, core.display)
            t0 = time.perf_counter()
            dimage = sample_array(dsample, self.name) if keep and dsample is not None else None
            if self.crops is not None and used:
                zones = self._crop(core, dimage)
            convert_ms += (time.perf_counter() - t0) * 1000.0
        except BaseException:
            if keep:
                self._slots.release()
            raise
        pts_ns = sample.get_buffer().pts
        raw = pts_ns / 1e9 if pts_ns != Gst.CLOCK_TIME_NONE else math.nan
        pts = self._pts(raw)
        now = time.monotonic()
        st = self.stats
        st.decoded += 1
        self._session_frames += 1
        st.decode_ms.add(core.pull_ms + convert_ms)
        if st.first_frame_at is None:
            st.first_frame_at = now
            st.state = "running"
            self._put("started")
        if gap_from is not None:
            gap = now - gap_from
            st.gap_s += gap
            st.state = "running"
            self._put("resumed", {"gap_s": round(gap, 3)})
        self._last_frame_wall = now
        index = self._next_index
        self._next_index += 1
        if not keep:
            st.dropped += 1
            return
        st.delivered += 1
        st.displayed += dimage is not None
        if self.zones:
            self._put("frame", ZoneFrame(index, pts, image, dimage, zones))
        else:
            self._put("frame", Frame(index, pts, image, dimage))

    def _zone_arrays(self, core: FramePipeline, image: np.ndarray | None) -> np.ndarray | None:
        """CPU zones: zone 0 is the model branch's frame, the others their own appsinks'
        (pulled even for a frame that is dropped, so the branches stay in step)."""
        samples = [self._pull(core, s) for s in self._zone_sinks]
        if image is None:
            return None
        return np.stack([image, *(sample_array(s, self.name) for s in samples)])

    def _crop(self, core: FramePipeline, display: np.ndarray) -> np.ndarray:
        """The zones of one display frame at the model's size (checked against the source's
        decoded size at the first frame of every session)."""
        if not self._sized or self.source_size is None:
            self.source_size = _decoded_size(core) or (display.shape[1], display.shape[0])
            self._sized = True
        h, w = display.shape[:2]
        self.crops.fit(*self.source_size, w, h, self.name)
        return self.crops(display)

    def _pts(self, raw: float) -> float:
        """Presentation time that keeps increasing across file loops and reconnects."""
        if math.isnan(raw):
            return raw
        if self._session_first:
            self._session_first = False
            if not math.isnan(self._last_pts):
                step = self._pts_step if self._pts_step > 0 else 1 / 30
                if self.spec.live and self._last_frame_wall is not None:
                    step = max(step, time.monotonic() - self._last_frame_wall)
                self._pts_offset = self._last_pts + step - raw
        pts = raw + self._pts_offset
        if not math.isnan(self._last_pts) and pts > self._last_pts:
            self._pts_step = pts - self._last_pts
        self._last_pts = pts
        return pts


def zone_description(
    spec: SourceSpec,
    width: int,
    height: int,
    colour: str,
    display_width: int | None,
    timeout_s: float,
    zones: int,
) -> str:
    """The CPU decode pipeline of a stream with `zones` zones: the source, `conv0` and a
    tee, then per zone `videocrop name=cropK` (margins set once the decoded size is known,
    `Stream._prepare_zones`) and the model's scale and conversion into an appsink (zone 0's
    is `model`, the others `zoneK`), and the display branch when `display_width` is given.

    Measured (`benchmarks/zones.py --decode`): cropping in GStreamer from the decoded frame
    costs less CPU per frame than one RGB frame 640 wide cropped in numpy, and keeps the
    source's resolution for small zones.
    """
    from ...video.reader import DISPLAY_QUEUE, appsink, scale_convert

    kind = kind_of(spec)
    head, live, paced = kind.head(spec, "cpu", timeout_s), spec.live, kind.paced(spec)
    conv0, scaled = scale_convert(width, height, colour).split(" ! ", 1)
    q = "queue max-size-buffers=8"
    parts = [f"{head} ! {conv0} ! tee name=t"]
    for k in range(zones):
        sink = appsink("model" if k == 0 else f"zone{k}", live, paced)
        parts.append(f"t. ! {q} ! videocrop name=crop{k} ! {scaled} ! {sink}")
    if display_width:
        parts.append(
            f"t. ! queue name={DISPLAY_QUEUE} max-size-buffers=8 ! videoscale "
            f"! video/x-raw,width={display_width},pixel-aspect-ratio=1/1 "
            f"! videoconvert ! video/x-raw,format=RGB ! {appsink('display', live, paced)}"
        )
    return " ".join(parts)


def _decoded_size(core: FramePipeline) -> tuple[int, int] | None:
    """(width, height) of the decoded frames: the caps entering the display branch's tee."""
    p = core.pipeline
    tee = p.get_by_name("t") if p is not None else None
    pad = tee.get_static_pad("sink") if tee is not None else None
    caps = pad.get_current_caps() if pad is not None else None
    if caps is None or not caps.get_size():
        return None
    st = caps.get_structure(0)
    ok_w, w = st.get_int("width")
    ok_h, h = st.get_int("height")
    return (w, h) if ok_w and ok_h else None


def _renice(nice: int) -> None:
    """Set the calling thread's niceness (Linux: per thread); never fails."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, nice))
