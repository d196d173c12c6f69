"""One class per input kind, and the registry the URI grammar dispatches on.

Adding a kind is one `SourceKind` subclass here (its schemes, `parse`, `head`, and the
wording of its errors) and one line in `REGISTRY`.

Never imports TensorFlow.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from ...errors import fail
from ...video.reader import check_video_path, file_uri
from .spec import (
    ACCEPTED_FORMS,
    SourceKind,
    SourceSpec,
    bad,
    digits,
    flag,
    frac,
    positive_int,
    query_options,
    quote,
    split_url,
    video_options,
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


def _exists(path: str) -> bool:
    try:
        return os.path.exists(path)  # False for a NUL byte or a too-long name
    except (TypeError, ValueError):
        return False


def _decode(src: str, platform: str) -> str:
    """`src` demuxed and decoded: decodebin on CPU, parsebin + nvv4l2decoder on Jetson
    (any container into an elementary stream the hardware decoder takes)."""
    if platform == "jetson":
        return f"{src} ! parsebin name=dec ! nvv4l2decoder"
    return f"{src} ! decodebin name=dec"


class FileSource(SourceKind):
    """A video file: a path or `file:///abs/path`, `?loop=1` (start again at the end),
    `?realtime=1` (paced at its own frame rate like a camera: live, drops counted)."""

    name = "file"
    schemes = ("", "file")
    form = "a video file path or file:///abs/path[?loop=1&realtime=1]"

    def parse(self, raw: str, s: str, display: str, check: bool) -> SourceSpec:
        if s.lower().startswith("file://"):
            u = split_url(s, display, "file")
            if u.netloc not in ("", "localhost") or not u.path.startswith("/"):
                bad(display, "file:// URLs take an absolute path (file:///abs/path)")
            path, opts = unquote(u.path), self._options(display, u.query)
        else:
            path, opts = s, {"loop": False, "realtime": False}
            if "?" in s and not (check and _exists(s)):
                head, query = s.rsplit("?", 1)
                if not check or _exists(head):
                    path, opts = head, self._options(display, query)
        if check:  # missing, empty, or a FIFO, device or directory: one line naming it
            path = str(check_video_path(path))
        return SourceSpec(raw, "file", path, display, opts["realtime"], opts)

    @staticmethod
    def _options(display: str, query: str) -> dict:
        opts = query_options(display, query, ("loop", "realtime"))
        return {k: flag(display, k, opts[k]) if k in opts else False for k in ("loop", "realtime")}

    def head(self, spec: SourceSpec, platform: str, timeout_s: float) -> str:
        return _decode(file_uri(spec.location), platform)  # a filesrc, any file name

    def loops(self, spec: SourceSpec) -> bool:
        return bool(spec.options.get("loop"))

    def paced(self, spec: SourceSpec) -> bool:
        return bool(spec.options.get("realtime"))

    def empty_is_error(self, spec: SourceSpec) -> bool:
        return True

    def timeout_message(self, spec: SourceSpec, name: str, seconds: str) -> str:
        return (
            f"{name}: no frame decoded for {seconds} s; the file may be truncated or use a "
            "codec with no installed decoder (install gstreamer1.0-libav)"
        )


class RtspSource(SourceKind):
    """An RTSP camera or server, over TCP, reconnected with back-off when lost."""

    name = "rtsp"
    schemes = ("rtsp", "rtsps", "rtspt")
    form = "rtsp://[user:pass@]host[:port]/path"
    reconnects = True

    def parse(self, raw: str, s: str, display: str, check: bool) -> SourceSpec:
        if any(c.isspace() for c in s):
            bad(display, "an RTSP URL cannot hold spaces (percent-encode them as %20)")
        try:
            u = urlsplit(s)
            host = u.hostname
            u.port  # noqa: B018  (raises ValueError on a bad port)
        except ValueError as e:
            # urllib's message may quote the port or host part, which can hold a password
            bad(display, f"malformed RTSP URL ({type(e).__name__}: bad host or port)")
        if not host:
            bad(display, "the RTSP URL has no host")
        # The query belongs to the camera's URL (e.g. ?channel=1): kept, not parsed.
        return SourceSpec(raw, "rtsp", s, display, True, {})

    def head(self, spec: SourceSpec, platform: str, timeout_s: float) -> str:
        tcp_timeout = int(max(1.0, timeout_s) * 1_000_000)
        src = (
            f"rtspsrc location={quote(spec.location)} latency=200 protocols=tcp "
            f"tcp-timeout={tcp_timeout} ! application/x-rtp,media=video"
        )
        return _decode(src, platform)

    def explain(
        self, spec: SourceSpec, name: str, element: str, low: str, detail: str
    ) -> str | None:
        if "rtspsrc" not in (element or "rtspsrc"):
            return None
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
            return f"{name}: the connection to the RTSP server was lost ({detail})"
        return None

    def timeout_message(self, spec: SourceSpec, name: str, seconds: str) -> str:
        return f"{name}: no frame for {seconds} s; check that the RTSP server sends video and the network"


class V4l2Source(SourceKind):
    """A USB / V4L2 camera, `v4l2:///dev/videoN` (or `v4l2://N`), reconnected like RTSP."""

    name = "v4l2"
    schemes = ("v4l2",)
    form = "v4l2:///dev/videoN"
    reconnects = True

    def parse(self, raw: str, s: str, display: str, check: bool) -> SourceSpec:
        u = split_url(s, display, "v4l2")
        query_options(display, u.query, ())
        dev = unquote(u.netloc + u.path)
        if digits(dev):  # v4l2://0
            dev = f"/dev/video{dev}"
        if not dev.startswith("/"):
            bad(display, "give the camera's device path (v4l2:///dev/video0)")
        if check and not os.path.exists(dev):
            fail(f"camera {dev} does not exist; list cameras with `v4l2-ctl --list-devices`")
        return SourceSpec(raw, "v4l2", dev, display, True, {})

    def head(self, spec: SourceSpec, platform: str, timeout_s: float) -> str:
        return f"v4l2src device={quote(spec.location)} ! decodebin name=dec"

    def explain(
        self, spec: SourceSpec, name: str, element: str, low: str, detail: str
    ) -> str | None:
        if "v4l2src" not in (element or "v4l2src"):
            return None
        dev = spec.location
        if "cannot identify device" in low or "no such file" in low:
            return (
                f"{name}: camera {dev} does not exist; list cameras with `v4l2-ctl --list-devices`"
            )
        if "busy" in low:
            return f"{name}: camera {dev} is busy (another program uses it); close that program"
        if "permission" in low:
            return f"{name}: no permission to open camera {dev}; add the user to the 'video' group"
        if "not a capture device" in low or "not a v4l2" in low or "capabilities" in low:
            return f"{name}: {dev} is not a video capture device; list cameras with `v4l2-ctl --list-devices`"
        return f"{name}: camera {dev} failed ({detail}); check it with `v4l2-ctl --all -d {dev}`"


class CsiSource(SourceKind):
    """A Jetson CSI camera, `csi://N`, through `nvarguscamerasrc sensor-id=N`."""

    name = "csi"
    schemes = ("csi",)
    form = "csi://N (Jetson)"

    def parse(self, raw: str, s: str, display: str, check: bool) -> SourceSpec:
        u = split_url(s, display, "csi")
        sensor = (u.netloc + u.path).strip("/")
        if not digits(sensor):
            bad(display, f"csi:// takes a sensor number (csi://0). Received: {sensor!r}")
        opts = query_options(display, u.query, ("width", "height", "fps"))
        o = video_options(display, opts, 1280, 720, 30)
        return SourceSpec(raw, "csi", str(int(sensor)), display, True, o)

    def head(self, spec: SourceSpec, platform: str, timeout_s: float) -> str:
        if platform != "jetson":
            fail(
                f"{spec.display}: csi:// needs a Jetson with nvarguscamerasrc (JetPack's Argus "
                "camera stack); on a Jetson run with --platform jetson, elsewhere use a "
                "v4l2:///dev/videoN camera or rtsp://"
            )
        o = spec.options
        return (
            f"nvarguscamerasrc sensor-id={spec.location} "
            f"! video/x-raw(memory:NVMM),width={o['width']},height={o['height']},"
            f"framerate={frac(o['fps'])},format=NV12"
        )

    def explain(
        self, spec: SourceSpec, name: str, element: str, low: str, detail: str
    ) -> str | None:
        if "argus" in low or "nvargus" in (element or ""):
            return (
                f"{name}: CSI camera {spec.location} failed ({detail}); check the sensor id "
                "and that nvargus-daemon runs"
            )
        return None

    def missing_element(self, name: str, element: str) -> str | None:
        if element != "nvarguscamerasrc":
            return None
        return (
            f"{name}: csi:// needs a Jetson with nvarguscamerasrc (JetPack's Argus camera "
            f"stack), not found on this machine; use v4l2:///dev/videoN or rtsp:// here"
        )


class TestSource(SourceKind):
    """GStreamer's `videotestsrc`: `test://[PATTERN]` (default `ball`) with
    `?width=320&height=240&fps=30`, `&frames=N` (end after N frames) and `&live=0`
    (not paced: as fast as decoding goes)."""

    __test__ = False  # not a pytest class
    name = "test"
    schemes = ("test",)
    form = "test://[PATTERN][?width=W&height=H&fps=F&frames=N&live=0]"

    def parse(self, raw: str, s: str, display: str, check: bool) -> SourceSpec:
        u = split_url(s, display, "test")
        pattern = unquote(u.netloc + u.path).strip("/") or "ball"
        if pattern not in TEST_PATTERNS and not digits(pattern):
            bad(display, f"unknown test pattern {pattern!r} (e.g. ball, smpte, snow)")
        opts = query_options(display, u.query, ("width", "height", "fps", "frames", "live"))
        o = video_options(display, opts, 320, 240, 30)
        o["frames"] = (
            positive_int(display, "frames", opts["frames"], 2**31 - 1) if "frames" in opts else None
        )
        o["live"] = flag(display, "live", opts["live"]) if "live" in opts else True
        return SourceSpec(raw, "test", pattern, display, o["live"], o)

    def head(self, spec: SourceSpec, platform: str, timeout_s: float) -> str:
        o = spec.options
        live = "true" if o.get("live", True) else "false"
        n = o.get("frames") or -1
        return (
            f"videotestsrc pattern={spec.location} is-live={live} num-buffers={n} "
            f"! video/x-raw,width={o['width']},height={o['height']},framerate={frac(o['fps'])}"
        )


#: Every input kind, in the order "accepted forms" lists them: one line per kind.
REGISTRY: tuple[SourceKind, ...] = (
    FileSource(),
    RtspSource(),
    V4l2Source(),
    CsiSource(),
    TestSource(),
)
ACCEPTED_FORMS[:] = [k.form for k in REGISTRY]


def kind_of(spec: SourceSpec | str) -> SourceKind:
    """The registered `SourceKind` of a spec (or of a kind name)."""
    name = spec if isinstance(spec, str) else spec.kind
    for k in REGISTRY:
        if k.name == name:
            return k
    fail(f"unknown source kind {name!r}; expected one of {', '.join(k.name for k in REGISTRY)}")


def kind_for_scheme(scheme: str) -> SourceKind | None:
    """The kind that registered `scheme` (lower case; `""` for a bare path), or None."""
    for k in REGISTRY:
        if scheme in k.schemes:
            return k
    return None
