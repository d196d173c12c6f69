"""A real RTSP server (GstRtspServer, Debian's gir1.2-gst-rtsp-server-1.0) for tests.

It runs in a child process, so killing that process really drops the clients' connection
(the reconnect tests stop and restart it on the same port).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

_SERVER = textwrap.dedent(
    """
    import sys
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(sys.argv[1])
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=15/1 "
        "! videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast "
        "key-int-max=15 ! rtph264pay name=pay0 pt=96 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print("attach failed", flush=True)
        sys.exit(3)
    print("ready", flush=True)
    GLib.MainLoop().run()
    """
)


def rtsp_server_available() -> bool:
    from edgeaction._lazy import gst

    Gst, _ = gst()  # first: GStreamer must be loaded the project's way (unwinder order)
    try:
        import gi

        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GstRtspServer  # noqa: F401
    except (ImportError, ValueError):
        return False
    return all(Gst.ElementFactory.find(e) for e in ("x264enc", "rtph264pay", "rtspsrc"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, tmp: Path) -> subprocess.Popen:
    script = tmp / "rtsp_server.py"
    script.write_text(_SERVER)
    deadline = time.monotonic() + 20
    while True:
        p = subprocess.Popen(
            [sys.executable, str(script), str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = p.stdout.readline().strip()
        if line == "ready":
            return p
        p.kill()
        p.wait(5)
        if time.monotonic() > deadline:  # the port may linger briefly after a kill
            raise AssertionError(f"RTSP server did not start on port {port}: {line!r}")
        time.sleep(0.3)


def kill(p: subprocess.Popen) -> None:
    p.kill()
    p.wait(10)
