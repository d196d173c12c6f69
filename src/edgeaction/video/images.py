"""Decode a folder of still images (one clip as frame files) through GStreamer.

Frame-folder data sets (Jester, the "gesture recognition case study") store a clip as
one image per frame. The images go through the same scale/convert chain as video frames
(`reader.scale_convert`), so a model trained on them sees frames prepared exactly like
the runtime's:

    appsrc caps=image/png ! decodebin ! videoconvert ! videoscale
           ! video/x-raw,width=W,height=H,pixel-aspect-ratio=1/1
           ! videoconvert ! video/x-raw,format=RGB ! appsink

Each file's bytes are pushed as one buffer with a made-up timestamp (its position in the
list), which identifies the image a decoder silently dropped or failed on. Frames are
ordered by file name in natural order (`img2` before `img10`).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np

from .._lazy import gst
from ..errors import fail
from .reader import check_size, sample_array, scale_convert

#: Image file extensions of frame folders and the caps of their content.
IMAGE_EXTS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".bmp": "image/bmp",
}

_STEP_NS = 40_000_000  # made-up 25 fps timestamps, one per pushed image


def natural_key(name: str) -> tuple:
    """Sort key that orders digit runs by value: `img2` < `img10` < `IMG11`."""
    parts = re.split(r"(\d+)", name)
    return (tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(parts)), name)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files of one frame folder in natural order; fail with one line if none.

    Hidden files and other extensions are ignored; sub-folders are not searched.
    """
    d = Path(folder)
    if not d.exists():
        fail(f"frame folder not found: {d}; check the path (or the CSV that names it)")
    if not d.is_dir():
        fail(f"{d} is not a folder of frame images")
    try:
        files = [
            f
            for f in d.iterdir()
            if f.suffix.lower() in IMAGE_EXTS and not f.name.startswith(".") and f.is_file()
        ]
    except OSError as e:
        fail(f"cannot list frame folder {d} ({e.strerror or e})")
    if not files:
        fail(f"frame folder {d} holds no images ({', '.join(sorted(IMAGE_EXTS))})")
    return sorted(files, key=lambda f: natural_key(f.name))


def read_images(
    paths: list[Path],
    width: int | None,
    height: int | None,
    colour: str = "RGB",
    timeout_s: float = 20.0,
    name: str | None = None,
) -> list[np.ndarray]:
    """Decode image files, in the given order, to (H, W, 3) uint8 arrays.

    Consecutive files of one format share a pipeline. A missing, empty, corrupt or
    unreadable image fails with one line naming the file.

    Args:
        paths: Image files (png, jpg, jpeg, bmp).
        width: Integer or None. Output width; None (with `height=None`) keeps each
            image's size.
        height: Integer or None. Output height.
        colour: String. `"RGB"` or `"BGR"`. Defaults to `"RGB"`.
        timeout_s: Float. Give up when no image decodes for this long. Defaults to `20`.
        name: String. How to call this clip in messages. Defaults to the folder name.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        fail("no images to decode")
    name = name or paths[0].parent.name or str(paths[0].parent)
    width, height = check_size(width, height)
    chain = scale_convert(width, height, colour)
    out: list[np.ndarray] = []
    start = 0
    while start < len(paths):  # runs of one format (a folder normally holds one)
        mime = _mime(paths[start])
        stop = start + 1
        while stop < len(paths) and _mime(paths[stop]) == mime:
            stop += 1
        out += _decode_run(paths[start:stop], mime, chain, timeout_s, name)
        start = stop
    return out


def _mime(p: Path) -> str:
    mime = IMAGE_EXTS.get(p.suffix.lower())
    if mime is None:
        fail(f"{p} is not an image of a known type ({', '.join(sorted(IMAGE_EXTS))})")
    return mime


def _read_bytes(p: Path) -> bytes:
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        fail(f"image file not found: {p}")
    except OSError as e:
        fail(f"cannot read image {p} ({e.strerror or e})")
    if not data:
        fail(f"image file {p} is empty (0 bytes); re-extract the frames")
    return data


def _decode_run(
    paths: list[Path], mime: str, chain: str, timeout_s: float, name: str
) -> list[np.ndarray]:
    Gst, _ = gst()
    blobs = [_read_bytes(p) for p in paths]  # read errors before starting a pipeline
    desc = (
        f"appsrc name=src format=time caps={mime} ! decodebin ! {chain} "
        "! appsink name=sink sync=false max-buffers=0 drop=false"
    )
    try:
        pipeline = Gst.parse_launch(desc)
    except Exception as e:  # GLib.Error
        fail(f"{name}: cannot build the image decode pipeline ({e})")
    src, sink, bus = pipeline.get_by_name("src"), pipeline.get_by_name("sink"), pipeline.get_bus()
    frames: dict[int, np.ndarray] = {}
    error = None
    try:
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            error = _bus_error(Gst, bus) or "cannot start the image decoder"
        else:
            for i, data in enumerate(blobs):
                buf = Gst.Buffer.new_wrapped(data)
                buf.pts, buf.duration = i * _STEP_NS, _STEP_NS
                src.emit("push-buffer", buf)
            src.emit("end-of-stream")
            deadline = time.monotonic() + timeout_s
            while True:
                sample = sink.emit("try-pull-sample", 20 * Gst.MSECOND)
                if sample is not None:
                    pts = sample.get_buffer().pts
                    i = int(round(pts / _STEP_NS)) if pts != Gst.CLOCK_TIME_NONE else -1
                    if i < 0 or i >= len(paths) or i in frames:
                        i = len(frames)  # a decoder changed the timestamps: keep arrival order
                    frames[i] = sample_array(sample, name)
                    deadline = time.monotonic() + timeout_s
                    continue
                error = _bus_error(Gst, bus)
                if error or sink.get_property("eos"):
                    break
                if time.monotonic() > deadline:
                    error = f"no image decoded for {timeout_s:.0f} s"
                    break
    finally:
        pipeline.set_state(Gst.State.NULL)
    missing = [i for i in range(len(paths)) if i not in frames]
    if missing:
        p = paths[missing[0]]
        why = error or f"not a valid {mime.split('/')[1].upper()} image: corrupt or truncated"
        fail(f"{name}: cannot decode image {p.name} in {p.parent} ({why}); re-extract it")
    if error:
        fail(f"{name}: decoding images in {paths[0].parent} failed ({error})")
    return [frames[i] for i in range(len(paths))]


def _bus_error(Gst, bus) -> str | None:
    """The first line of an error waiting on the bus, or None."""
    while True:
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        if msg is None:
            return None
        err, _ = msg.parse_error()
        text = (err.message if hasattr(err, "message") else str(err)).strip()
        return text.splitlines()[0] if text else "GStreamer error"
