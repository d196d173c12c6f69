"""Encode numpy RGB frames to an H.264 MP4 file through GStreamer.

    appsrc ! videoconvert ! video/x-raw,format=I420 ! x264enc ! h264parse ! mp4mux ! filesink

I420 before x264enc keeps the stream at a profile every player opens (FACTS). On a
Jetson with a hardware encoder (`platform="jetson"`; the Orin Nano has none) the encoder
part is `nvvidconv ! video/x-raw(memory:NVMM),format=I420 ! nvv4l2h264enc`. The file
is written under a temporary name and renamed into place when `close()` has finalised
it, so an interrupted run never leaves a truncated MP4 under the final name. A
character device or FIFO (`/dev/null`) is written in place, never renamed over.
"""

from __future__ import annotations

import os
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from .._lazy import gst
from ..errors import fail
from ..fsutil import check_writable_file, commit, writes_in_place
from .reader import file_uri


class VideoWriter:
    """Write RGB frames of one fixed size to an H.264 MP4 file.

    ```python
    with VideoWriter("out.mp4", width=640, height=360, fps=25) as w:
        w.write(frame)        # (360, 640, 3) uint8 RGB
    ```

    Args:
        path: Output `.mp4` path; its directory must be writable.
        width: Integer. Frame width; odd sizes are padded by one pixel (H.264 4:2:0).
        height: Integer. Frame height; odd sizes are padded likewise.
        fps: Float. Frame rate written into the file. Defaults to `25`.
        bitrate_kbps: Integer or None. Target bitrate; None lets x264 pick by quality.
        speed_preset: String. x264 speed preset. Defaults to `"veryfast"`.
        platform: String. `"cpu"` (x264enc) or `"jetson"` (nvv4l2h264enc when the
            element exists, else x264enc). Defaults to `"cpu"`.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        fps: float = 25.0,
        bitrate_kbps: int | None = None,
        speed_preset: str = "veryfast",
        platform: str = "cpu",
    ):
        self.path = check_writable_file(path, "output video")
        if width < 2 or height < 2:
            fail(f"video size must be at least 2x2. Received: {width}x{height}")
        if not fps or fps <= 0:
            fps = 25.0
        self.in_w, self.in_h = int(width), int(height)
        self.width, self.height = self.in_w + (self.in_w % 2), self.in_h + (self.in_h % 2)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.bitrate_kbps = bitrate_kbps
        self.speed_preset = speed_preset
        if platform not in ("cpu", "jetson"):
            fail(f"platform must be 'cpu' or 'jetson'. Received: {platform!r}")
        self.platform = platform
        self.frames_written = 0
        self._pipeline = None
        self._tmp: Path | None = None
        self._src = None  # the appsrc, once open
        self._stride = 0  # bytes per row of the appsrc's RGB frames
        self._duration = int(1_000_000_000 * self.fps.denominator / self.fps.numerator)  # ns

    def _encoder(self) -> str:
        """The encoding part after `video/x-raw,format=I420`."""
        if self.platform == "jetson" and _has_element("nvv4l2h264enc"):
            rate = int(self.bitrate_kbps or 4000) * 1000
            return (
                "nvvidconv ! video/x-raw(memory:NVMM),format=I420 "
                f"! nvv4l2h264enc bitrate={rate} iframeinterval=60 insert-sps-pps=true"
            )
        # No B-frames: timestamps start at 0 and stay in decode order (low latency too).
        enc = f"x264enc speed-preset={self.speed_preset} key-int-max=60 bframes=0"
        if self.bitrate_kbps:
            enc += f" bitrate={int(self.bitrate_kbps)}"
        return enc

    def _max_bytes(self) -> int:
        """appsrc's queue limit: eight frames."""
        return self.width * self.height * 3 * 8

    def _wait_for_room(self) -> None:
        """Wait while appsrc's queue is full; fail at once if the pipeline stopped.

        appsrc's own `block=true` would wait forever once the pipeline has failed (a
        full disk, a device that refuses writes): its queue is never drained again.
        """
        limit = self._max_bytes()
        while True:
            err = self._bus_error()
            if err:
                self._abort()
                fail(f"writing {self.path} failed: {err}")
            if self._src.get_property("current-level-bytes") < limit:
                return
            time.sleep(0.002)

    def _description(self, location: str) -> str:
        rate = f"{self.fps.numerator}/{self.fps.denominator}"
        return (
            f"appsrc name=src is-live=false format=time block=false max-bytes={self._max_bytes()} "
            f"caps=video/x-raw,format=RGB,width={self.width},height={self.height},framerate={rate} "
            f"! videoconvert ! video/x-raw,format=I420 ! {self._encoder()} ! h264parse ! mp4mux "
            f"! {file_uri(location)}"  # a filesink, for any file name (not UTF-8 too)
        )

    def open(self) -> VideoWriter:
        Gst, GstVideo = gst()
        fd_dir = self.path.parent
        self._tmp = fd_dir / f".{self.path.stem}.partial.mp4"
        if writes_in_place(self.path):
            self._tmp = self.path
        self._pipeline = Gst.parse_launch(self._description(str(self._tmp)))
        self._src = self._pipeline.get_by_name("src")
        info = GstVideo.VideoInfo()
        info.set_format(GstVideo.VideoFormat.RGB, self.width, self.height)
        self._stride = info.stride[0]
        if self._pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self._abort()
            fail(f"cannot start writing {self.path}")
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame of the writer's size."""
        if self._pipeline is None:
            self.open()
        Gst, _ = gst()
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            fail(f"video frames must be (H, W, 3) uint8. Received: {frame.shape} {frame.dtype}")
        if frame.shape[:2] != (self.in_h, self.in_w):
            fail(
                f"frame is {frame.shape[1]}x{frame.shape[0]}, writer was opened for "
                f"{self.in_w}x{self.in_h}"
            )
        rows = np.zeros((self.height, self._stride), np.uint8)
        rows[: self.in_h, : self.in_w * 3] = frame.reshape(self.in_h, self.in_w * 3)
        if self.height != self.in_h:
            rows[self.in_h :] = rows[self.in_h - 1]
        buf = Gst.Buffer.new_wrapped(rows.tobytes())
        buf.pts = self.frames_written * self._duration
        buf.duration = self._duration
        self._wait_for_room()
        ret = self._src.emit("push-buffer", buf)
        if ret != Gst.FlowReturn.OK:
            err = self._bus_error()
            self._abort()
            fail(f"writing {self.path} failed: {err or ret.value_nick}")
        self.frames_written += 1

    def _bus_error(self) -> str | None:
        Gst, _ = gst()
        msg = self._pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
        if msg is None:
            return None
        err, _ = msg.parse_error()
        return err.message

    def close(self, timeout_s: float = 30.0) -> Path | None:
        """Finish the file (EOS, wait for mp4mux to write its index) and rename it into place.

        Returns the final path, or None if no frame was written (nothing is left behind).
        """
        if self._pipeline is None:
            return None
        Gst, _ = gst()
        if self.frames_written == 0:
            self._abort()
            return None
        self._src.emit("end-of-stream")
        bus = self._pipeline.get_bus()
        deadline = time.monotonic() + timeout_s
        err = None
        while time.monotonic() < deadline:
            msg = bus.timed_pop_filtered(
                100 * Gst.MSECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR
            )
            if msg is None:
                continue
            if msg.type == Gst.MessageType.ERROR:
                err = msg.parse_error()[0].message
            break
        else:
            err = f"encoder did not finish within {timeout_s:.0f} s"
        self._pipeline.set_state(Gst.State.NULL)
        self._pipeline = None
        if err:
            self._abort()
            fail(f"writing {self.path} failed: {err}")
        if self._tmp != self.path:
            commit(self._tmp, self.path, "output video")
        return self.path

    def _abort(self) -> None:
        if self._pipeline is not None:
            Gst, _ = gst()
            self._pipeline.set_state(Gst.State.NULL)
            self._pipeline = None
        if self._tmp is not None and self._tmp != self.path and self._tmp.exists():
            self._tmp.unlink()

    def __enter__(self) -> VideoWriter:
        return self.open()

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort()


def _has_element(name: str) -> bool:
    Gst, _ = gst()
    return Gst.ElementFactory.find(name) is not None
