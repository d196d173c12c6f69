"""Video sources for the multi-stream runtime: URIs, GStreamer pipelines, reader threads.

```
parse_source("rtsp://user:pw@cam/stream")   # -> SourceSpec(kind="rtsp", display="rtsp://***:***@cam/stream")
pipeline_description(spec, 112, 112)        # -> "rtspsrc ... ! decodebin ! videoscale ... ! appsink name=model"
Stream(0, spec, q, 112, 112).start()        # one GStreamer pipeline + one thread, frames onto q
```

Accepted sources:

- a video file path, or `file:///abs/path`; `?loop=1` starts again at the end (soak tests),
  `?realtime=1` plays it at its own frame rate like a camera (live: drops are counted);
- `rtsp://[user:pass@]host[:port]/path` (and `rtsps://`), reconnected with back-off when lost;
- `v4l2:///dev/videoN` (a USB / V4L2 camera), reconnected like RTSP;
- `csi://N` (a Jetson CSI camera through `nvarguscamerasrc sensor-id=N`; Jetson only);
- `test://[PATTERN]` (GStreamer's `videotestsrc`, default `ball`) with
  `?width=320&height=240&fps=30`, `&frames=N` (end after N frames) and `&live=0`
  (not paced: as fast as decoding goes).

Each `Stream` puts tuples `(kind, stream_index, payload)` on one shared `queue.Queue`:
`("frame", i, Frame)`, `("started", i, None)`, `("eos", i, None)`, `("error", i, "one line")`,
`("gap", i, {"reason": ..., "attempt": n})` and `("resumed", i, {"gap_s": s})`. Every frame
taken from the queue must be handed back with `Stream.release()`: a stream holds at most
`capacity` frames in the queue; a file then waits (back-pressure, nothing lost), a live
source drops the new frame and counts it.

Credentials in URLs never appear in messages: they use `SourceSpec.display`.

Never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from .._lazy import gst
from ..errors import EdgeActionError, fail, first_line
from ..video.reader import (
    Frame,
    _caps_fmt,
    _explain,
    caps_fps,
    check_size,
    check_video_path,
    has_video_pad,
    sample_array,
)
from .metrics import Latency

__all__ = [
    "KINDS",
    "PLATFORMS",
    "SourceSpec",
    "Stream",
    "StreamStats",
    "parse_source",
    "pipeline_description",
    "redact",
]

KINDS = ("file", "rtsp", "v4l2", "csi", "test")
PLATFORMS = ("cpu", "jetson")
ACCEPTED = (
    "a video file path or file:///abs/path[?loop=1&realtime=1], rtsp://[user:pass@]host[:port]/path, "
    "v4l2:///dev/videoN, csi://N (Jetson), test://[PATTERN][?width=W&height=H&fps=F&frames=N&live=0]"
)
#: videotestsrc pattern names (numbers are accepted as well).
TEST_PATTERNS = (
    "smpte",
    "snow",
    "black",
    "white",
    "red",
    "green",
    "blue",
    "checkers-1",
    "checkers-2",
    "checkers-4",
    "checkers-8",
    "circular",
    "blink",
    "smpte75",
    "zone-plate",
    "gamut",
    "chroma-zone-plate",
    "solid-color",
    "ball",
    "smpte100",
    "bar",
    "pinwheel",
    "spokes",
    "gradient",
    "colors",
    "smpte-rp-219",
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_NO_ELEMENT = re.compile(r'no element "([^"]+)"')


# ---- source URIs ------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceSpec:
    """One parsed `--source`.

    Args:
        text: String. The source as the user gave it (may hold credentials: never print it).
        kind: String. `"file"`, `"rtsp"`, `"v4l2"`, `"csi"` or `"test"`.
        location: String. File path, full RTSP URL, device path, sensor id or test pattern.
        display: String. `text` with any `user:password@` replaced by `***:***@`; use this
            in logs, events and metrics.
        live: Boolean. Whether frames come at the source's pace (rtsp, v4l2, csi, test
            unless `live=0`); files are not live.
        options: Dict. Parsed query options (`loop` for files; `width`, `height`, `fps`,
            `frames`, `live` for test sources; `width`, `height`, `fps` for csi).
    """

    text: str
    kind: str
    location: str
    display: str
    live: bool
    options: dict = field(default_factory=dict)


def redact(text: str) -> str:
    """`text` with the `user:password@` part of any URL in it replaced by `***:***@`.

    Args:
        text: String. A source or a message that may hold URLs.
    """

    def sub(m: re.Match) -> str:
        return f"{m.group(1)}***:***@"

    # scheme:// then userinfo up to the last '@' before the host (no '/', whitespace or quote)
    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/\"'<>]*@", sub, text)


def _bad(display: str, why: str) -> None:
    fail(f"source {display}: {why}; accepted forms: {ACCEPTED}")


_DIGITS = re.compile(r"[0-9]{1,12}")
_NUMBER = re.compile(r"\s*[0-9]{1,12}(\.[0-9]{0,12})?(/[0-9]{1,12})?\s*")


def _digits(text: str) -> bool:
    """Whether `text` is 1 to 12 ASCII digits (`str.isdigit` also takes '²' and '٣')."""
    return _DIGITS.fullmatch(text) is not None


def _one_line(text: str) -> str:
    """`text` with every character that breaks or hides a line (newlines, U+2028, other
    control characters) written as its escape, so a message stays on one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _redact_source(s: str) -> str:
    """`redact(s)`, and for a source starting with a URL scheme, everything up to the
    last '@' of its authority hidden too, even where spaces or quotes would stop
    `redact` (a password typed with a space must not be echoed)."""
    m = _SCHEME.match(s)
    if m is not None:
        rest = s[m.end() :]
        authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if "@" in authority:
            s = m.group(0) + "***:***@" + rest[authority.rindex("@") + 1 :]
    return redact(s)


def _video_path(path: str) -> Path:
    """`check_video_path`, failing with its one line also for names the OS refuses."""
    try:
        found = os.path.exists(path)  # False for a NUL byte or a too-long name
    except (TypeError, ValueError):
        found = False
    if not found:
        fail(f"video file not found: {path}; check the path")
    return check_video_path(path)


def _flag(display: str, key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    _bad(display, f"option {key} must be 0 or 1. Received: {key}={value!r}")


def _positive_int(display: str, key: str, value: str, top: int) -> int:
    n = int(value.strip()) if _digits(value.strip()) else -1
    if not 1 <= n <= top:
        _bad(display, f"option {key} must be an integer from 1 to {top}. Received: {key}={value!r}")
    return n


def _fps(display: str, value: str) -> Fraction:
    try:  # plain decimals and ratios only: Fraction("1e99999999") would take forever
        f = Fraction(value).limit_denominator(1001) if _NUMBER.fullmatch(value) else Fraction(-1)
    except (ValueError, ZeroDivisionError):
        f = Fraction(-1)
    if not 0 < f <= 1000:
        _bad(
            display,
            f"option fps must be a number above 0 and at most 1000. Received: fps={value!r}",
        )
    return f


def _options(display: str, query: str, allowed: tuple[str, ...]) -> dict[str, str]:
    opts: dict[str, str] = {}
    if not query:
        return opts
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        _bad(display, f"cannot read the options {query!r} (use ?key=value&key=value)")
    for k, v in pairs:
        if k not in allowed:
            ok = ", ".join(allowed) if allowed else "none"
            _bad(display, f"unknown option {k!r} (options here: {ok})")
        opts[k] = v
    return opts


def _video_options(display: str, opts: dict[str, str], w: int, h: int, fps: int) -> dict:
    return {
        "width": _positive_int(display, "width", opts["width"], 16384) if "width" in opts else w,
        "height": _positive_int(display, "height", opts["height"], 16384)
        if "height" in opts
        else h,
        "fps": _fps(display, opts["fps"]) if "fps" in opts else Fraction(fps),
    }


def parse_source(text: str) -> SourceSpec:
    """Parse one `--source` into a `SourceSpec`, failing with one line when it is wrong.

    ```python
    parse_source("clip.mp4")                        # kind "file"
    parse_source("rtsp://u:p@10.0.0.5:554/live")    # kind "rtsp", display "rtsp://***:***@10.0.0.5:554/live"
    parse_source("test://smpte?fps=15&frames=90")   # kind "test", 90 frames then EOS
    ```

    Args:
        text: String. A video file path, `file:///abs/path[?loop=1]`,
            `rtsp://[user:pass@]host[:port]/path`, `v4l2:///dev/videoN`, `csi://N` or
            `test://[PATTERN][?width=W&height=H&fps=F&frames=N&live=0]`.

    Returns:
        A `SourceSpec`.
    """
    try:
        return _parse_source(text)
    except EdgeActionError as e:
        message = _one_line(str(e))
        if message == str(e):
            raise
        raise EdgeActionError(message, e.exit_code) from None


def _parse_source(text: str) -> SourceSpec:
    raw = str(text)
    s = raw.strip()
    display = _redact_source(s)
    if not s:
        fail(f"empty source; accepted forms: {ACCEPTED}")
    m = _SCHEME.match(s)
    if m is None:
        return _file_spec(raw, s, display)
    scheme = m.group(1).lower()
    if scheme in ("rtsp", "rtsps", "rtspt"):
        return _rtsp_spec(raw, s, display)
    try:
        u = urlsplit(s)
    except ValueError as e:
        _bad(display, f"malformed URL ({first_line(e)})")
    if u.fragment:
        _bad(display, "unexpected '#' in the source")
    if "@" in u.netloc and scheme in KINDS:  # would echo user:password in messages
        _bad(display, f"{scheme}:// takes no user:password@ part")
    if scheme == "file":
        if u.netloc not in ("", "localhost"):
            _bad(display, "file:// URLs take an absolute path (file:///abs/path)")
        opts = _file_options(display, u.query)
        path = _video_path(unquote(u.path))
        return SourceSpec(raw, "file", str(path), display, opts["realtime"], opts)
    if scheme == "v4l2":
        _options(display, u.query, ())
        dev = unquote(u.netloc + u.path)
        if _digits(dev):  # v4l2://0
            dev = f"/dev/video{dev}"
        if not dev.startswith("/"):
            _bad(display, "give the camera's device path (v4l2:///dev/video0)")
        if not os.path.exists(dev):
            fail(f"camera {dev} does not exist; list cameras with `v4l2-ctl --list-devices`")
        return SourceSpec(raw, "v4l2", dev, display, True, {})
    if scheme == "csi":
        sensor = (u.netloc + u.path).strip("/")
        if not _digits(sensor):
            _bad(display, f"csi:// takes a sensor number (csi://0). Received: {sensor!r}")
        opts = _options(display, u.query, ("width", "height", "fps"))
        return SourceSpec(
            raw,
            "csi",
            str(int(sensor)),
            display,
            True,
            _video_options(display, opts, 1280, 720, 30),
        )
    if scheme == "test":
        pattern = unquote(u.netloc + u.path).strip("/") or "ball"
        if pattern not in TEST_PATTERNS and not _digits(pattern):
            _bad(display, f"unknown test pattern {pattern!r} (e.g. ball, smpte, snow)")
        opts = _options(display, u.query, ("width", "height", "fps", "frames", "live"))
        o = _video_options(display, opts, 320, 240, 30)
        o["frames"] = (
            _positive_int(display, "frames", opts["frames"], 2**31 - 1)
            if "frames" in opts
            else None
        )
        o["live"] = _flag(display, "live", opts["live"]) if "live" in opts else True
        return SourceSpec(raw, "test", pattern, display, o["live"], o)
    _bad(display, f"unknown scheme {scheme + '://'!r}")


def _file_spec(raw: str, s: str, display: str) -> SourceSpec:
    opts = {"loop": False, "realtime": False}
    path = s
    if not _lexists(s) and "?" in s:
        head, query = s.rsplit("?", 1)
        if _lexists(head):
            opts = _file_options(display, query)
            path = head
    p = _video_path(path)
    return SourceSpec(raw, "file", str(p), display, opts["realtime"], opts)


def _file_options(display: str, query: str) -> dict:
    """`loop` (start again at the end) and `realtime` (play at the file's own frame rate,
    like a camera: a live source that drops frames it cannot keep up with)."""
    opts = _options(display, query, ("loop", "realtime"))
    return {k: _flag(display, k, opts[k]) if k in opts else False for k in ("loop", "realtime")}


def _lexists(path: str) -> bool:
    try:
        return os.path.exists(path)
    except (TypeError, ValueError):
        return False


def _rtsp_spec(raw: str, s: str, display: str) -> SourceSpec:
    if any(c.isspace() for c in s):
        _bad(display, "an RTSP URL cannot hold spaces (percent-encode them as %20)")
    try:
        u = urlsplit(s)
        host = u.hostname
        u.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as e:
        # urllib's message may quote the port or host part, which can hold a password
        _bad(display, f"malformed RTSP URL ({type(e).__name__}: bad host or port)")
    if not host:
        _bad(display, "the RTSP URL has no host")
    # The query belongs to the camera's URL (e.g. ?channel=1): kept, not parsed.
    return SourceSpec(raw, "rtsp", s, display, True, {})


# ---- pipelines --------------------------------------------------------------------------
def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _frac(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"


def _sink(name: str, live: bool, sync: bool = False) -> str:
    # Dropping happens in Python (counted); appsinks never drop, so model and display
    # frames stay paired. `sync` paces a `realtime=1` file at its own frame rate.
    n = 4 if live else 8
    return f"appsink name={name} max-buffers={n} drop=false sync={'true' if sync else 'false'}"


def _head(spec: SourceSpec, platform: str, timeout_s: float = 10.0) -> str:
    """The source and decode part, up to raw frames (system memory on CPU, NVMM on Jetson)."""
    o = spec.options
    if spec.kind == "file":
        src = f"filesrc location={_quote(spec.location)}"
        if platform == "jetson":
            # parsebin demuxes and parses any container into an elementary stream that
            # the hardware decoder (H.264/H.265/VP8/VP9/AV1/MPEG-2/4) takes.
            return f"{src} ! parsebin name=dec ! nvv4l2decoder"
        return f"{src} ! decodebin name=dec"
    if spec.kind == "rtsp":
        tcp_timeout = int(max(1.0, timeout_s) * 1_000_000)
        src = (
            f"rtspsrc location={_quote(spec.location)} latency=200 protocols=tcp "
            f"tcp-timeout={tcp_timeout} ! application/x-rtp,media=video"
        )
        if platform == "jetson":
            return f"{src} ! parsebin name=dec ! nvv4l2decoder"
        return f"{src} ! decodebin name=dec"
    if spec.kind == "v4l2":
        return f"v4l2src device={_quote(spec.location)} ! decodebin name=dec"
    if spec.kind == "test":
        live = "true" if o.get("live", True) else "false"
        n = o.get("frames") or -1
        return (
            f"videotestsrc pattern={spec.location} is-live={live} num-buffers={n} "
            f"! video/x-raw,width={o['width']},height={o['height']},framerate={_frac(o['fps'])}"
        )
    if spec.kind == "csi":
        if platform != "jetson":
            fail(
                f"{spec.display}: csi:// needs a Jetson with nvarguscamerasrc (JetPack's Argus "
                "camera stack); on a Jetson run with --platform jetson, elsewhere use a "
                "v4l2:///dev/videoN camera or rtsp://"
            )
        return (
            f"nvarguscamerasrc sensor-id={spec.location} "
            f"! video/x-raw(memory:NVMM),width={o['width']},height={o['height']},"
            f"framerate={_frac(o['fps'])},format=NV12"
        )
    fail(f"unknown source kind {spec.kind!r}; expected one of {', '.join(KINDS)}")


def pipeline_description(
    spec: SourceSpec,
    width: int,
    height: int,
    colour: str = "RGB",
    display_width: int | None = None,
    platform: str = "cpu",
    timeout_s: float = 10.0,
) -> str:
    """The `Gst.parse_launch` text that decodes `spec` into model-size frames.

    On `"cpu"`: the source, `decodebin` (files, RTSP, V4L2) or `videotestsrc`, then the
    project's shared `scale_convert()` chain (scale before convert) into
    `appsink name=model`. On `"jetson"`: hardware decoding with `nvv4l2decoder`, scaling
    with `nvvidconv` into NVMM memory, a second `nvvidconv` to RGBA/BGRx in system memory
    and `videoconvert` to packed RGB/BGR. With `display_width` a tee adds
    `appsink name=display` (RGB, `display_width` wide, aspect kept).

    Args:
        spec: SourceSpec. From `parse_source()`.
        width: Integer. Model frame width in pixels.
        height: Integer. Model frame height in pixels.
        colour: String. `"RGB"` or `"BGR"`. Defaults to `"RGB"`.
        display_width: Integer or None. Width of the display branch. Defaults to `None`.
        platform: String. `"cpu"` or `"jetson"`. Defaults to `"cpu"`.
        timeout_s: Float. RTSP connection (TCP) timeout. Defaults to `10`.

    Returns:
        The pipeline description, ending in `appsink name=model` (or the display appsink).
    """
    from ..video.reader import scale_convert

    if platform not in PLATFORMS:
        fail(f"platform must be one of {', '.join(PLATFORMS)}. Received: {platform!r}")
    width, height = check_size(width, height)
    if width is None:
        fail("the model frame size is needed to build a source pipeline")
    colour = _caps_fmt(colour)
    dw = int(display_width) if display_width else None
    if dw is not None and dw < 16:
        fail(f"display width must be at least 16. Received: {display_width}")
    head = _head(spec, platform, timeout_s)
    paced = spec.kind == "file" and bool(spec.options.get("realtime"))
    model_sink = _sink("model", spec.live, paced)
    if platform == "cpu":
        chain = scale_convert(width, height, colour)
        if dw is None:
            return f"{head} ! {chain} ! {model_sink}"
        conv0, model = chain.split(" ! ", 1)
        return (
            f"{head} ! {conv0} ! tee name=t "
            f"t. ! queue max-size-buffers=8 ! {model} ! {model_sink} "
            f"t. ! queue max-size-buffers=8 ! videoscale ! video/x-raw,width={dw},pixel-aspect-ratio=1/1 "
            f"! videoconvert ! video/x-raw,format=RGB ! {_sink('display', spec.live, paced)}"
        )
    # Jetson: scale in hardware (VIC) in NVMM memory, copy out as 4-byte pixels.
    packed = "RGBA" if colour == "RGB" else "BGRx"
    model = (
        f"nvvidconv ! video/x-raw(memory:NVMM),width={width},height={height},format=RGBA "
        f"! nvvidconv ! video/x-raw,format={packed} ! videoconvert ! video/x-raw,format={colour}"
    )
    if dw is None:
        return f"{head} ! {model} ! {model_sink}"
    display = (
        f"nvvidconv ! video/x-raw(memory:NVMM),width={dw},pixel-aspect-ratio=1/1,format=RGBA "
        "! nvvidconv ! video/x-raw,format=RGBA ! videoconvert ! video/x-raw,format=RGB"
    )
    return (
        f"{head} ! tee name=t "
        f"t. ! queue max-size-buffers=8 ! {model} ! {model_sink} "
        f"t. ! queue max-size-buffers=8 ! {display} ! {_sink('display', spec.live, paced)}"
    )


# ---- error messages ---------------------------------------------------------------------
def _scrub(text: str, spec: SourceSpec) -> str:
    """A GStreamer message with the source's credentials taken out, on one line."""
    out = text.replace(spec.text.strip(), spec.display) if spec.text.strip() else text
    if spec.kind == "rtsp":
        u = urlsplit(spec.location)
        if u.password:
            out = out.replace(u.password, "***")
        if u.username:
            out = out.replace(f"{u.username}:", "***:")
    return " ".join(redact(out).split())


def _explain_stream(
    spec: SourceSpec, name: str, short: str, element: str, err, dbg: str | None
) -> str:
    """One line saying what went wrong with this stream and what to do about it."""
    text = err.message if hasattr(err, "message") else str(err)
    low = f"{text} {dbg or ''}".lower()
    d = spec.display
    if spec.kind == "rtsp" and "rtspsrc" in (element or "rtspsrc"):
        if "401" in low or "unauthorized" in low or "authenticat" in low:
            return f"{name}: the RTSP server refused the credentials (401); check the user name and password"
        if "404" in low or "not found" in low:
            return f"{name}: the RTSP server has no stream at this path (404 not found); check the URL path"
        if "timeout" in low or "timed out" in low:
            return f"{name}: the RTSP server did not answer (timeout); check the host, port and network"
        if "could not open resource" in low or "failed to connect" in low or "connect" in low:
            return (
                f"{name}: cannot connect to the RTSP server (connection refused or host unreachable); "
                "check the host and port and that the camera/server is running"
            )
        if "could not read" in low or "could not write" in low or "closed" in low:
            return f"{name}: the connection to the RTSP server was lost ({_scrub(text, spec)})"
    if spec.kind == "v4l2" and "v4l2src" in (element or "v4l2src"):
        if "cannot identify device" in low or "no such file" in low:
            return f"{name}: camera {spec.location} does not exist; list cameras with `v4l2-ctl --list-devices`"
        if "busy" in low:
            return f"{name}: camera {spec.location} is busy (another program uses it); close that program"
        if "permission" in low:
            return f"{name}: no permission to open camera {spec.location}; add the user to the 'video' group"
        if "not a capture device" in low or "not a v4l2" in low or "capabilities" in low:
            return f"{name}: {spec.location} is not a video capture device; list cameras with `v4l2-ctl --list-devices`"
        return f"{name}: camera {spec.location} failed ({_scrub(text, spec)}); check it with `v4l2-ctl --all -d {spec.location}`"
    if spec.kind == "csi" and ("argus" in low or "nvargus" in (element or "")):
        return f"{name}: CSI camera {spec.location} failed ({_scrub(text, spec)}); check the sensor id and that nvargus-daemon runs"
    return _scrub(_explain(short, Path(d), element, err, dbg), spec)


def _launch_error(spec: SourceSpec, name: str, e: Exception) -> str:
    text = _scrub(first_line(e), spec)
    m = _NO_ELEMENT.search(text)
    if m:
        el = m.group(1)
        if el == "nvarguscamerasrc":
            return (
                f"{name}: csi:// needs a Jetson with nvarguscamerasrc (JetPack's Argus camera "
                f"stack), not found on this machine; use v4l2:///dev/videoN or rtsp:// here"
            )
        if el.startswith("nv"):
            return (
                f"{name}: --platform jetson needs NVIDIA's {el} (JetPack's GStreamer plugins), "
                "not installed here; run with --platform cpu"
            )
        return f"{name}: the GStreamer element {el} is not installed; install gstreamer1.0-plugins-good/-bad"
    return f"{name}: cannot build the decode pipeline for {spec.display} ({text})"


# ---- the reader thread ------------------------------------------------------------------
@dataclass
class StreamStats:
    """What one stream did so far (read by the runtime for metrics; written by its thread).

    Args:
        decoded: Integer. Frames decoded (delivered + dropped).
        delivered: Integer. Frames put on the queue.
        dropped: Integer. Frames of a live source dropped because the consumer was behind.
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
    reconnects: int = 0
    gap_s: float = 0.0
    state: str = "starting"
    error: str | None = None
    decode_ms: Latency = field(default_factory=Latency)
    started_at: float | None = None
    first_frame_at: float | None = None


class _End(Exception):
    """How one pipeline session ended: outcome `"eos"`, `"error"`, `"timeout"` or `"stop"`."""

    def __init__(self, outcome: str, message: str = ""):
        super().__init__(message)
        self.outcome = outcome
        self.message = message


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
        capacity: int = 16,
        reconnect: bool = True,
        connect_attempts: int = 3,
        backoff_s: tuple[float, float] = (0.5, 8.0),
        timeout_s: float = 10.0,
        platform: str = "cpu",
        nice: int = 0,
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
        self.display_width = int(display_width) if display_width else None
        # Fails now (one line) for a bad size, colour, platform or csi:// on cpu.
        self.description = pipeline_description(
            spec, width, height, colour, self.display_width, platform, self.timeout_s
        )
        self.stats = StreamStats()
        self._slots = threading.Semaphore(self.capacity)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pipeline = None
        self._all_pads = False
        self._pull_ms = 0.0
        # frame numbering and timestamps that keep increasing across loops and reconnects
        self._next_index = 0
        self._pts_offset = 0.0
        self._last_pts = math.nan
        self._pts_step = math.nan
        self._last_frame_wall: float | None = None
        self._session_first = True
        self._session_frames = 0
        self._caps_fps: float | None = None

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
            self._fail(_scrub(str(e), self.spec))
        except Exception as e:  # never let a stream die silently
            self._fail(f"{self.name}: {_scrub(first_line(e), self.spec)}")
        finally:
            self._teardown()
            if self.stats.state not in ("ended", "failed"):
                self.stats.state = "stopped"

    def _main(self) -> None:
        spec = self.spec
        can_reconnect = self.reconnect and spec.kind in ("rtsp", "v4l2")
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
            if outcome == "eos" and spec.kind == "file" and spec.options.get("loop"):
                if self._session_frames == 0:
                    self._fail(
                        f"{self.name}: the file holds no video frames (audio-only or empty stream?)"
                    )
                    return
                continue  # start the file again; indexes and pts keep counting
            if outcome == "eos" and not (can_reconnect and ever):
                if not ever and spec.kind == "file":
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
    def _build(self):
        Gst, _ = gst()
        try:
            pipeline = Gst.parse_launch(self.description)
        except Exception as e:  # GLib.Error: missing element, bad syntax
            raise _End("error", _launch_error(self.spec, self.name, e)) from None
        self._all_pads = False
        if self.nice > 0:
            pipeline.get_bus().set_sync_handler(self._on_sync_message)
        dec = pipeline.get_by_name("dec")
        if dec is not None:  # called on a streaming thread: only set a flag
            dec.connect("no-more-pads", lambda *_: setattr(self, "_all_pads", True))
        with self._lock:
            self._pipeline = pipeline
        return pipeline

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

    def _teardown(self) -> None:
        with self._lock:
            p, self._pipeline = self._pipeline, None
        if p is not None:
            Gst, _ = gst()
            p.set_state(Gst.State.NULL)

    def _session(self, gap_from: float | None) -> tuple[str, str]:
        """Run one pipeline until it ends; returns (outcome, one-line message)."""
        Gst, _ = gst()
        self._session_frames = 0
        self._session_first = True
        try:
            pipeline = self._build()
            model = pipeline.get_by_name("model")
            display = pipeline.get_by_name("display")
            bus = pipeline.get_bus()
            if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
                raise _End(
                    "error", self._bus_error(bus) or f"{self.name}: cannot start the pipeline"
                )
            while not self._stop.is_set():
                self._one_frame(pipeline, model, display, bus, gap_from)
                gap_from = None
            return "stop", ""
        except _End as e:
            return e.outcome, e.message

    def _bus_error(self, bus) -> str | None:
        Gst, _ = gst()
        while True:
            msg = bus.pop_filtered(Gst.MessageType.ERROR)
            if msg is None:
                return None
            err, dbg = msg.parse_error()
            src = msg.src.get_name() if msg.src else ""
            return _explain_stream(self.spec, self.name, self.short, src, err, dbg)

    def _pull(self, pipeline, sink, bus, deadline: float):
        """The next sample of `sink`; raises `_End` on stop, EOS, error or timeout."""
        Gst, _ = gst()
        while True:
            if self._stop.is_set():
                raise _End("stop")
            # A sample already waiting costs only the pull; waiting for the next one
            # (pacing of a live source, decoding on GStreamer's threads) is not counted.
            t0 = time.perf_counter()
            sample = sink.emit("try-pull-sample", 0)
            if sample is not None:
                self._pull_ms += (time.perf_counter() - t0) * 1000.0
                return sample
            sample = sink.emit("try-pull-sample", 50 * Gst.MSECOND)
            if sample is not None:
                return sample
            err = self._bus_error(bus)
            if err:
                raise _End("error", err)
            if sink.get_property("eos"):
                if self._rewind(pipeline):
                    continue
                raise _End("eos")
            if self._all_pads and not has_video_pad(pipeline):
                raise _End(
                    "error",
                    f"{self.name}: no video stream in {self.spec.display} (audio-only?); "
                    "give a source with video",
                )
            if time.monotonic() > deadline:
                raise _End("timeout", self._timeout_message())

    def _rewind(self, pipeline) -> bool:
        """Loop a `loop=1` file in place: a flushing seek to its start, no new pipeline
        (decoders, threads and file descriptors stay as they are for months of looping).
        False when it does not apply or the seek fails (the file is then reopened)."""
        if not (self.spec.kind == "file" and self.spec.options.get("loop")):
            return False
        if self._session_frames == 0:
            return False
        Gst, _ = gst()
        ok = pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        if ok:
            self._session_first = True  # pts restart at 0: keep them increasing
        return bool(ok)

    def _timeout_message(self) -> str:
        t = f"{self.timeout_s:g}"
        if self.spec.kind == "file":
            return (
                f"{self.name}: no frame decoded for {t} s; the file may be truncated or use a "
                "codec with no installed decoder (install gstreamer1.0-libav)"
            )
        if self.spec.kind == "rtsp":
            return f"{self.name}: no frame for {t} s; check that the RTSP server sends video and the network"
        return f"{self.name}: no frame for {t} s; check the source"

    def _one_frame(self, pipeline, model, display, bus, gap_from: float | None) -> None:
        Gst, _ = gst()
        deadline = time.monotonic() + self.timeout_s
        self._pull_ms = 0.0  # time of the pulls that returned a sample, plus conversion
        sample = self._pull(pipeline, model, bus, deadline)
        if self._session_frames == 0:
            self._caps_fps = caps_fps(sample) or self._caps_fps
        # Take a slot first: a dropped frame of a live source is not converted.
        if self.spec.live:
            keep = self._slots.acquire(blocking=False)
        else:
            keep = True
            while not self._slots.acquire(timeout=0.1):
                if self._stop.is_set():
                    raise _End("stop")
        try:
            t0 = time.perf_counter()
            image = sample_array(sample, self.name) if keep else None
            convert_ms = (time.perf_counter() - t0) * 1000.0
            dsample = None
            if display is not None:
                dsample = self._pull(pipeline, display, bus, time.monotonic() + self.timeout_s)
            t0 = time.perf_counter()
            dimage = sample_array(dsample, self.name) if keep and dsample is not None else None
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
        st.decode_ms.add(self._pull_ms + convert_ms)
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
        self._put("frame", Frame(index, pts, image, dimage))

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


def _renice(nice: int) -> None:
    """Set the calling thread's niceness (Linux: per thread); never fails."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, nice))
