"""Decode a video file to numpy frames at the contract's size and colour order.

The pipeline scales before it converts (cheaper; see FACTS):

    filesrc ! decodebin ! videoconvert ! videoscale
            ! video/x-raw,width=W,height=H,pixel-aspect-ratio=1/1
            ! videoconvert ! video/x-raw,format=RGB ! appsink

The part after `decodebin` is `scale_convert()`, the one definition that frame-folder
images (`edgeaction.video.images`) pass as well.

With `display_width` a tee adds a second branch at display size for annotated output,
and every model frame comes paired with its display frame.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_from_bytes

import numpy as np

from .._lazy import gst
from ..errors import fail
from ..fsutil import show_path, target_kind
from ..sampling import sample_indices
from .pull import FramePipeline, PullEnd

_VIDEO_EXTS = {
    ".mp4",
    ".avi",
    ".mkv",
    ".mov",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".ts",
    ".flv",
    ".3gp",
}


@dataclass
class Frame:
    """One decoded frame.

    Args:
        index: Integer. 0-based frame number in the stream.
        pts: Float. Presentation time in seconds (NaN when the stream has none).
        image: uint8 array (H, W, 3) at the model's size and colour order.
        display: uint8 array (h, w, 3) RGB at display size, or None.
    """

    index: int
    pts: float
    image: np.ndarray
    display: np.ndarray | None = None


#: What a special file is and what to give instead, per `fsutil.target_kind`.
_SPECIAL = {
    "dir": ("a directory", "give a video file inside it"),
    "fifo": (
        "a FIFO (named pipe)",
        "a pipe cannot be probed or sought: give a regular video file, or stream over rtsp://",
    ),
    "char": ("a character device", "give a regular video file (a camera is v4l2:///dev/videoN)"),
    "block": ("a block device", "give a regular video file"),
    "socket": ("a socket", "give a regular video file, or stream over rtsp://"),
    "other": ("not a regular file", "give a regular video file"),
}


def check_video_path(path: str | os.PathLike) -> Path:
    """Fail with one line for a missing, unreadable or empty path, or one that is not a
    regular file (a directory, FIFO, device or socket, named for what it is).

    Looks with `stat` only: a FIFO with no writer is never opened (that would block).
    """
    p = Path(path)
    shown = show_path(p)
    try:
        kind = target_kind(p)
    except ValueError:  # a NUL byte
        kind = "missing"
    except OSError as e:
        if e.errno in (errno.ENOTDIR, errno.ELOOP):
            kind = "missing"
        else:
            fail(f"cannot look at video file {shown} ({e.strerror or e}); check the path")
    if kind == "missing":
        fail(f"video file not found: {shown}; check the path")
    if kind != "file":
        what, instead = _SPECIAL[kind]
        fail(f"{shown} is {what}, not a video file; {instead}")
    if not os.access(p, os.R_OK):
        fail(f"video file {shown} is not readable (permissions)")
    if p.stat().st_size == 0:
        fail(f"video file {shown} is empty (0 bytes); re-copy or re-record it")
    return p


def file_uri(path: str | os.PathLike) -> str:
    """`file:///abs/path` of `path`, its bytes percent-encoded, for a GStreamer pipeline.

    A file name that is not valid UTF-8 (surrogate-escaped by Python) cannot be given to
    `filesrc location=` through GObject (a UTF-8 string); its URI can, and `filesrc`
    takes it (`uri ! decodebin` in `Gst.parse_launch`). Only `A-Za-z0-9_.-~/` stay as
    they are, so the URI needs no quoting in a pipeline description.
    """
    return "file://" + quote_from_bytes(os.fsencode(os.path.abspath(path)))


def _caps_fmt(colour: str) -> str:
    if colour not in ("RGB", "BGR"):
        fail(f"colour order must be RGB or BGR. Received: {colour!r}")
    return colour


def check_size(width: int | None, height: int | None) -> tuple[int | None, int | None]:
    """Validate an output size; `(None, None)` keeps the source size."""
    if width is None and height is None:
        return None, None
    if width is None or height is None or width < 1 or height < 1:
        fail(f"frame size must be positive. Received: width={width}, height={height}")
    return int(width), int(height)


def scale_convert(width: int | None, height: int | None, colour: str = "RGB") -> str:
    """The scale and colour conversion every decoded frame passes, videos and images alike.

    `videoconvert ! videoscale ! video/x-raw,width=W,height=H,pixel-aspect-ratio=1/1
    ! videoconvert ! video/x-raw,format=RGB`. With `width=height=None` the source size is
    kept (pixels made square). `VideoReader` (training, evaluation, the runtime) and the
    frame-folder reader both build their pipelines from this string, so a model sees
    identically prepared frames everywhere.
    """
    width, height = check_size(width, height)
    size = f"width={width},height={height}," if width else ""
    return (
        f"videoconvert name=conv0 ! videoscale ! video/x-raw,{size}pixel-aspect-ratio=1/1 "
        f"! videoconvert ! video/x-raw,format={_caps_fmt(colour)}"
    )


#: The queue at the head of the display branch (`cpu_pipeline`); made to leak to one frame
#: when display frames are only wanted at the frame rate, so the others are dropped before
#: scaling and conversion (`pipelines.sources.gate.DisplayGate`).
DISPLAY_QUEUE = "displayq"


def appsink(name: str, live: bool = False, sync: bool = False) -> str:
    """An appsink for `FramePipeline.pull`: never drops (model and display frames stay
    paired, unless the display frames are only wanted at the frame rate, `DisplayGate`;
    a live source drops in Python, counted); `sync` paces a file at its own rate."""
    n = 4 if live else 8
    return f"appsink name={name} max-buffers={n} drop=false sync={'true' if sync else 'false'}"


def cpu_pipeline(
    head: str,
    width: int | None,
    height: int | None,
    colour: str = "RGB",
    display_width: int | None = None,
    live: bool = False,
    sync: bool = False,
) -> str:
    """`head` (source and decoder) then `scale_convert()` into `appsink name=model`; with
    `display_width` a tee adds `appsink name=display` (RGB, that wide, aspect kept).
    The one CPU decode tail of `VideoReader` and the runtime's sources."""
    chain = scale_convert(width, height, colour)
    model_sink = appsink("model", live, sync)
    if not display_width:
        return f"{head} ! {chain} ! {model_sink}"
    conv0, model = chain.split(" ! ", 1)
    return (
        f"{head} ! {conv0} ! tee name=t "
        f"t. ! queue max-size-buffers=8 ! {model} ! {model_sink} "
        f"t. ! queue name={DISPLAY_QUEUE} max-size-buffers=8 ! videoscale "
        f"! video/x-raw,width={display_width},"
        f"pixel-aspect-ratio=1/1 ! videoconvert ! video/x-raw,format=RGB "
        f"! {appsink('display', live, sync)}"
    )


#: The layout (height, width, row stride) of recent caps, for `sample_array`: the caps of
#: a negotiated stream stay the same object, and rebuilding a `VideoInfo` for each sample
#: (a zone's 64x64 frame: ~4 of its ~27 us) is the same answer every time. A few entries:
#: the decode threads share it (model, display and zone branches, several streams).
_LAYOUTS: list = []
_LAYOUTS_MAX = 8
_MAP_READ = None  # Gst.MapFlags.READ (~1 us to look up through gi, per sample)


def _layout(caps) -> tuple[int, int, int]:
    """(height, width, stride of plane 0) of `caps`, cached (content-equal caps match)."""
    global _LAYOUTS
    for known, layout in _LAYOUTS:  # threads never change a list, they replace it
        if caps.is_equal(known):
            return layout
    _Gst, GstVideo = gst()
    info = GstVideo.VideoInfo.new_from_caps(caps)
    layout = (info.height, info.width, info.stride[0])
    _LAYOUTS = [(caps, layout), *_LAYOUTS[: _LAYOUTS_MAX - 1]]
    return layout


def sample_array(sample, name: str = "stream", channels: int = 3) -> np.ndarray:
    """Copy a decoded packed-format sample (RGB/BGR) into an (H, W, channels) uint8 array."""
    global _MAP_READ
    if _MAP_READ is None:
        _MAP_READ = gst()[0].MapFlags.READ
    h, w, stride = _layout(sample.get_caps())
    buf = sample.get_buffer()
    ok, mapinfo = buf.map(_MAP_READ)
    if not ok:
        fail(f"{name}: cannot map a decoded buffer")
    try:
        raw = np.frombuffer(mapinfo.data, dtype=np.uint8, count=stride * h)
        if stride == w * channels:  # no row padding: one contiguous copy
            return raw.reshape(h, w, channels).copy()
        return raw.reshape(h, stride)[:, : w * channels].reshape(h, w, channels).copy()
    finally:
        buf.unmap(mapinfo)


def caps_fps(sample) -> float | None:
    """The `framerate` of a sample's negotiated caps, or None (none, or `0/1`: variable)."""
    caps = sample.get_caps()
    if caps is None or not caps.get_size():
        return None
    ok, num, den = caps.get_structure(0).get_fraction("framerate")
    return float(num) / den if ok and den and num else None


class VideoReader:
    """Iterate over the frames of one video file, decoded by GStreamer.

    ```python
    with VideoReader("clip.mp4", width=112, height=112) as r:
        for f in r:
            f.image.shape   # (112, 112, 3) uint8
    ```

    Args:
        path: Path of a video file GStreamer can decode.
        width: Integer or None. Output width in pixels; None (with `height=None`) keeps
            the source size.
        height: Integer or None. Output height in pixels.
        colour: String. `"RGB"` or `"BGR"`. Defaults to `"RGB"`.
        display_width: Integer or None. Also deliver each frame at this width (aspect
            kept, RGB) for drawing annotated video. Defaults to `None`.
        timeout_s: Float. Give up when no frame arrives for this long. Defaults to `20`.
        name: String. How to call this stream in messages. Defaults to the file name.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int | None,
        height: int | None,
        colour: str = "RGB",
        display_width: int | None = None,
        timeout_s: float = 20.0,
        name: str | None = None,
    ):
        self.path = check_video_path(path)
        self.width, self.height = check_size(width, height)
        self.colour = _caps_fmt(colour)
        self.display_width = int(display_width) if display_width else None
        self.timeout_s = float(timeout_s)
        self.name = name or show_path(self.path.name)
        self.fps: float | None = None
        self.source_size: tuple[int, int] | None = None
        self._core: FramePipeline | None = None  # the decode pipeline, once open

    # ---- lifecycle ---------------------------------------------------------------------
    def _description(self) -> str:
        head = f"{file_uri(self.path)} ! decodebin name=dec"  # filesrc, for any file name
        return cpu_pipeline(head, self.width, self.height, self.colour, self.display_width)

    def open(self) -> VideoReader:
        shown = show_path(self.path)
        self._core = FramePipeline(
            self._description(),
            self.name,
            explain=lambda element, err, dbg: _explain(self.name, shown, element, err, dbg),
            launch_error=lambda e: f"{self.name}: cannot build the decode pipeline ({e})",
            no_video=f"{self.name}: {shown} has no video stream that can be decoded (audio-only?)",
            timeout=lambda: (
                f"{self.name}: no frame decoded for {self.timeout_s:.0f} s; the file may be "
                "truncated or use a codec with no installed decoder"
            ),
        )
        try:
            self._core.open()
        except PullEnd as e:
            self.close()
            fail(e.message)
        return self

    def close(self) -> None:
        if self._core is not None:
            self._core.close()

    def __enter__(self) -> VideoReader:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # ---- frames ------------------------------------------------------------------------
    @property
    def _pipeline(self):
        return None if self._core is None else self._core.pipeline

    def _pull(self, sink):
        """The next sample of `sink`, None at the end; fails with one line otherwise."""
        try:
            return self._core.pull(sink, time.monotonic() + self.timeout_s)
        except PullEnd as e:
            if e.outcome == "eos":
                return None
            self.close()
            fail(e.message)

    def _to_array(self, sample, fmt_channels: int = 3) -> np.ndarray:
        img = sample_array(sample, self.name, fmt_channels)
        if self.fps is None:
            self.fps = caps_fps(sample)
        return img

    def __iter__(self) -> Iterator[Frame]:
        if self._pipeline is None:
            self.open()
        index = 0
        Gst, _ = gst()
        try:
            while True:
                sample = self._pull(self._core.model)
                if sample is None:
                    break
                image = self._to_array(sample)
                pts_ns = sample.get_buffer().pts
                pts = pts_ns / 1e9 if pts_ns != Gst.CLOCK_TIME_NONE else float("nan")
                display = None
                if self._core.display is not None:
                    ds = self._pull(self._core.display)
                    if ds is None:
                        break
                    display = self._to_array(ds)
                yield Frame(index, pts, image, display)
                index += 1
        finally:
            self.close()
        if index == 0:
            fail(f"{self.name}: the file holds no video frames (audio-only or empty stream?)")


def _explain(name: str, path: str, element: str, err, dbg: str | None) -> str:
    """Turn a GStreamer error into one line with a fix."""
    text = err.message if hasattr(err, "message") else str(err)
    low = (text + " " + (dbg or "")).lower()
    if "could not determine type" in low or "text file" in low or "typefind" in element:
        return f"{name}: {path} is not a video file GStreamer can read (unknown format); check the file"
    if "missing" in low and ("plug" in low or "decoder" in low) or "no suitable plugins" in low:
        return (
            f"{name}: no decoder for this codec in {path} ({text}); install "
            "gstreamer1.0-libav and gstreamer1.0-plugins-bad/-ugly"
        )
    if "not-linked" in low or "not linked" in low:
        return f"{name}: {path} has no video stream that can be decoded (audio-only?)"
    if "resource" in low and ("not found" in low or "open" in low):
        return f"{name}: cannot open {path} ({text})"
    return f"{name}: decoding {path} failed in {element or 'GStreamer'}: {text}"


def probe_file(path: str | os.PathLike, timeout_s: float = 10.0) -> dict:
    """Decode the first frame of a video and report its size, fps and duration.

    Fails with one line if the file is missing, empty or not a decodable video.
    """
    Gst, _ = gst()
    with VideoReader(path, 16, 16, timeout_s=timeout_s) as r:
        sample = r._pull(r._core.model)
        if sample is None:
            fail(f"{r.name}: the file holds no video frames (audio-only or empty stream?)")
        r._to_array(sample)
        ok, d = r._pipeline.query_duration(Gst.Format.TIME)
        pad = r._pipeline.get_by_name("conv0").get_static_pad("sink")
        caps = pad.get_current_caps()
        s = caps.get_structure(0) if caps is not None else None
        size = (s.get_value("width"), s.get_value("height")) if s is not None else None
        return {
            "path": str(r.path),
            "fps": r.fps,
            "duration_s": d / 1e9 if ok and d > 0 else None,
            "size": size,
        }


def read_clip(
    path: str | os.PathLike,
    frames: int,
    width: int,
    height: int,
    colour: str = "RGB",
    policy: str = "stretch",
    return_length: bool = False,
):
    """Decode a whole clip and return `frames` uniformly sampled frames, (T, H, W, 3) uint8.

    With `return_length`, return `(clip, decoded_frame_count)`.
    """
    with VideoReader(path, width, height, colour) as r:
        imgs = [f.image for f in r]
    idx = sample_indices(len(imgs), frames, policy)
    clip = np.stack([imgs[i] for i in idx])
    return (clip, len(imgs)) if return_length else clip
