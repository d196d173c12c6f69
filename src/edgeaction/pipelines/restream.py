"""`--out-rtsp`: serve each stream's annotated video over RTSP with gst-rtsp-server.

One mount per stream on one server (`rtsp://HOST:PORT/PATH`): `PATH` for one source; with
several, `PATH` with `{stream}` replaced by the stream's index, or `PATH-N`. Each mount is a
shared `RTSPMediaFactory` whose pipeline starts with an `appsrc`:

    appsrc (RGB, live, timestamped on push) ! videoconvert ! I420 ! x264enc tune=zerolatency
        ! rtph264pay name=pay0          (nvvidconv ! nvv4l2h264enc on --platform jetson)

`Restream.frame` pushes the annotated frame only while a client is connected (the media
exists, `watching`), at most at the stream's frame rate (`wants`), and drops it when the
appsrc already holds `QUEUE_FRAMES` frames, so a slow client never grows a queue or slows
the run. When the re-stream alone shows a non-live source's display frames, the stream
makes them at that rate only (`Runtime.display_realtime`, `sources.gate.DisplayGate`: the
same `pacing.Pacer` rule), not for each frame of a file decoded at 2,000 fps, and only
while a client watches. The server's GLib main loop runs in its own thread with its own
main context. A port in use is one line at `start()`.

Never imports TensorFlow.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from urllib.parse import urlsplit

import numpy as np

from .._lazy import gst
from ..errors import fail
from .pacing import Pacer

#: Frames an appsrc may hold before new ones are dropped (per connected mount).
QUEUE_FRAMES = 4

__all__ = ["QUEUE_FRAMES", "Restream", "mount_paths", "parse_rtsp_url"]


def parse_rtsp_url(url: str) -> tuple[str, int, str]:
    """`rtsp://HOST:PORT/PATH` → (host, port, "/PATH"); port defaults to 8554."""
    u = urlsplit(url)
    if u.scheme != "rtsp" or not u.hostname:
        fail(
            f"--out-rtsp must be rtsp://HOST:PORT/PATH (e.g. rtsp://0.0.0.0:8554/cam0). Received: {url}"
        )
    try:
        port = u.port or 8554
    except ValueError:
        fail(f"--out-rtsp: bad port in {url}")
    path = u.path if u.path not in ("", "/") else "/cam"
    if not re.fullmatch(r"/[A-Za-z0-9_.{}/-]+", path):
        fail(
            f"--out-rtsp: the path may hold letters, digits, _ . - / and {{stream}}. Received: {path}"
        )
    return u.hostname, port, path


def mount_paths(path: str, streams: int) -> list[str]:
    """The mount of each stream: `path`; `{stream}` filled in; or `path-N` for several."""
    if "{stream}" in path:
        return [path.replace("{stream}", str(i)) for i in range(streams)]
    if streams == 1:
        return [path]
    return [f"{path}-{i}" for i in range(streams)]


class _Mount:
    """One stream's mount: its appsrc while a client is connected, frame size, counters."""

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()
        self.src = None  # the appsrc of the shared media, while it exists
        self.size: tuple[int, int] | None = None  # (width, height), even
        self.pushed = 0
        self.dropped = 0
        self.pacer = Pacer()  # at the stream's frame rate in wall-clock time


class Restream:
    """An RTSP server with one mount per stream, fed with `frame()`.

    ```python
    r = Restream("rtsp://0.0.0.0:8554/cam{stream}", streams=2, fps=25).start()
    r.frame(0, rgb)          # (H, W, 3) uint8, dropped unless a client watches
    r.close()
    ```

    Args:
        url: String. `rtsp://HOST:PORT/PATH` (see `mount_paths`).
        streams: Integer. Number of streams (mounts).
        platform: String. `"cpu"` (x264enc) or `"jetson"` (nvv4l2h264enc when present).
            Defaults to `"cpu"`.
        log: Callable(str) for one-line notices. Defaults to none.
    """

    def __init__(self, url: str, streams: int, platform: str = "cpu", log=None):
        self.url = url
        self.host, self.port, path = parse_rtsp_url(url)
        self.mounts = [_Mount(p) for p in mount_paths(path, streams)]
        self.platform = platform
        self.log = log or (lambda _m: None)
        self.fps: list[float] = [25.0] * streams
        self._server = None
        self._loop = None
        self._thread: threading.Thread | None = None

    def urls(self) -> list[str]:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return [f"rtsp://{host}:{self.port}{m.path}" for m in self.mounts]

    # ---- the server ------------------------------------------------------------------------
    def start(self) -> Restream:
        """Bind the port (one line if it is in use) and serve in a thread."""
        Gst, _ = gst()
        GLib, GstRtspServer = _rtsp_server()
        _check_port(self.host, self.port)
        ctx = GLib.MainContext.new()
        server = GstRtspServer.RTSPServer()
        server.set_address(self.host)
        server.set_service(str(self.port))
        for i, m in enumerate(self.mounts):
            server.get_mount_points().add_factory(m.path, self._factory(GstRtspServer, i))
        if server.attach(ctx) == 0:
            fail(f"--out-rtsp: cannot serve on {self.host}:{self.port} (port in use?)")
        self._server, self._loop = server, GLib.MainLoop.new(ctx, False)
        self._thread = threading.Thread(target=self._loop.run, name="rtsp-server", daemon=True)
        self._thread.start()
        self.log("RTSP re-stream: " + " ".join(self.urls()))
        return self

    def _factory(self, GstRtspServer, i: int):
        f = GstRtspServer.RTSPMediaFactory()
        f.set_launch(f"( appsrc name=src {self._appsrc_props()} ! {self._encoder(i)} )")
        f.set_shared(True)
        f.connect("media-configure", self._configure, i)
        return f

    @staticmethod
    def _appsrc_props() -> str:
        return "is-live=true format=time do-timestamp=true block=false"

    def _encoder(self, i: int) -> str:
        Gst, _ = gst()
        gop = max(1, int(round(self.fps[i])))
        head = "videoconvert ! video/x-raw,format=I420 ! "
        if self.platform == "jetson" and Gst.ElementFactory.find("nvv4l2h264enc"):
            enc = (
                "nvvidconv ! video/x-raw(memory:NVMM),format=I420 ! nvv4l2h264enc "
                f"insert-sps-pps=true iframeinterval={gop} idrinterval={gop}"
            )
            return f"{head}{enc} ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1"
        enc = f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bframes=0"
        return f"{head}{enc} ! rtph264pay name=pay0 pt=96 config-interval=1"

    def _configure(self, _factory, media, i: int) -> None:
        """A client made the shared media: keep its appsrc until the media goes away."""
        m = self.mounts[i]
        src = media.get_element().get_child_by_name("src")
        with m.lock:
            m.src = src
            if m.size is not None:
                self._set_caps(m, i)
        media.connect("unprepared", self._gone, i)

    def _gone(self, _media, i: int) -> None:
        m = self.mounts[i]
        with m.lock:
            m.src = None

    def _set_caps(self, m: _Mount, i: int) -> None:
        Gst, _ = gst()
        w, h = m.size
        rate = _fraction(self.fps[i])
        caps = f"video/x-raw,format=RGB,width={w},height={h},framerate={rate}"
        m.src.set_property("caps", Gst.Caps.from_string(caps))
        m.src.set_property("max-bytes", w * h * 3 * QUEUE_FRAMES)

    # ---- frames ----------------------------------------------------------------------------
    def watching(self, stream: int) -> bool:
        """Whether a client is connected to `stream`'s mount (its media exists)."""
        return self.mounts[stream].src is not None

    def wants(self, stream: int, fps: float | None = None) -> bool:
        """Whether a frame of `stream` would be sent now: a client watches and a frame is
        due at the stream's frame rate (a file that runs faster than real time is sent at
        its own rate, not decoded speed), so callers skip drawing the others."""
        m = self.mounts[stream]
        if m.size is None:
            self.fps[stream] = fps or 25.0
        return self.watching(stream) and m.pacer.due(time.monotonic(), self.fps[stream])

    def frame(self, stream: int, rgb: np.ndarray, fps: float | None = None) -> bool:
        """Push one annotated RGB frame of `stream` if a client watches; True if pushed."""
        m = self.mounts[stream]
        if m.size is None:  # the first frame fixes the size (even, for H.264 4:2:0)
            h, w = rgb.shape[:2]
            m.size = (w - w % 2, h - h % 2)
            self.fps[stream] = fps or 25.0
        with m.lock:
            src = m.src
            now = time.monotonic()
            if src is None or not m.pacer.admit(now, self.fps[stream]):
                return False
            if src.get_property("caps") is None:
                self._set_caps(m, stream)
            if src.get_property("current-level-bytes") >= src.get_property("max-bytes"):
                m.dropped += 1
                return False
        Gst, _ = gst()
        w, h = m.size
        data = np.ascontiguousarray(rgb[:h, :w])
        if (w * 3) % 4:  # GStreamer's RGB rows are 4-byte aligned
            rows = np.zeros((h, (w * 3 + 3) // 4 * 4), np.uint8)
            rows[:, : w * 3] = data.reshape(h, w * 3)
            data = rows
        ret = src.emit("push-buffer", Gst.Buffer.new_wrapped(data.tobytes()))
        if ret != Gst.FlowReturn.OK:  # the client left while we pushed
            m.dropped += 1
            return False
        m.pushed += 1
        return True

    def counts(self) -> list[dict]:
        return [{"mount": m.path, "pushed": m.pushed, "dropped": m.dropped} for m in self.mounts]

    def close(self) -> None:
        """Stop serving (clients see the end of the stream). Safe to call twice."""
        if self._loop is None:
            return
        _, GstRtspServer = _rtsp_server()
        points = self._server.get_mount_points()
        for m in self.mounts:
            points.remove_factory(m.path)  # no new client from now on
            with m.lock:
                if m.src is not None:
                    m.src.emit("end-of-stream")
                m.src = None
        # Close the clients' sessions while the loop still runs, then stop the loop.
        self._server.client_filter(lambda _s, _c: GstRtspServer.RTSPFilterResult.REMOVE)
        sent = sum(m.pushed for m in self.mounts)
        self.log(
            f"RTSP re-stream: {sent} frames sent, {sum(m.dropped for m in self.mounts)} dropped"
        )
        self._loop.quit()
        if self._thread is not None:
            self._thread.join(5)
        self._loop = self._server = self._thread = None


def _rtsp_server():
    try:
        import gi

        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, GstRtspServer
    except (ImportError, ValueError) as e:
        fail(
            f"--out-rtsp needs gst-rtsp-server's introspection data ({e}): "
            "sudo apt-get install gir1.2-gst-rtsp-server-1.0"
        )
    return GLib, GstRtspServer


def _check_port(host: str, port: int) -> None:
    """Fail with one line if `host:port` cannot be bound (in use, or not an address here)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            fail(f"--out-rtsp: cannot listen on {host}:{port}: {e.strerror or e} (port in use?)")


def _fraction(fps: float) -> str:
    from fractions import Fraction

    f = Fraction(fps or 25.0).limit_denominator(1001)
    return f"{f.numerator}/{f.denominator}"
