"""`run --out-rtsp`: a real run in a child process serves its annotated video through
gst-rtsp-server, and a real GStreamer `rtspsrc` client pulls decoded frames from it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.pipelines.restream import Restream, mount_paths, parse_rtsp_url
from tests.conftest import cli, one_line_error
from tests.rtsp import free_port, rtsp_server_available

pytestmark = pytest.mark.skipif(
    not rtsp_server_available(), reason="needs gst-rtsp-server's GI data and x264enc"
)


def pull_frames(url: str, want: int, timeout_s: float = 10.0) -> tuple[float | None, int, tuple]:
    """Connect a real `rtspsrc ! decodebin ! appsink` client; returns (seconds to the first
    decoded frame, frames pulled, (width, height))."""
    from edgeaction._lazy import gst

    Gst, _ = gst()
    p = Gst.parse_launch(
        f"rtspsrc location={url} latency=0 protocols=tcp ! decodebin ! videoconvert "
        "! video/x-raw,format=RGB ! appsink name=sink sync=false max-buffers=4 drop=true"
    )
    sink = p.get_by_name("sink")
    t0 = time.monotonic()
    p.set_state(Gst.State.PLAYING)
    first, n, size = None, 0, (0, 0)
    try:
        while n < want and time.monotonic() - t0 < timeout_s:
            s = sink.emit("try-pull-sample", 200 * Gst.MSECOND)
            if s is None:
                continue
            if first is None:
                first = time.monotonic() - t0
                st = s.get_caps().get_structure(0)
                size = (st.get_value("width"), st.get_value("height"))
            n += 1
    finally:
        p.set_state(Gst.State.NULL)
    return first, n, size


def start_run(
    model,
    port: int,
    *extra,
    path: str = "/cam0",
    source: str = "test://ball?live=1&fps=15&width=320&height=240",
    seconds: float = 8,
) -> subprocess.Popen:
    """`edgeaction run` on a (live) test source with --out-rtsp, in a child process, once
    it says it serves (its stderr's first line)."""
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgeaction.cli",
            "run",
            str(model),
            "--source",
            source,
            "--out-rtsp",
            f"rtsp://127.0.0.1:{port}{path}",
            "--duration",
            str(seconds),
            "-q",
            *map(str, extra),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    line = p.stderr.readline()
    assert "RTSP re-stream" in line, line + p.stderr.read()
    return p


def test_client_gets_annotated_frames_within_2s(tmp_path, tiny_onnx):
    port = free_port()
    run = start_run(tiny_onnx, port, "--events", tmp_path / "ev.jsonl")
    try:
        time.sleep(1.0)  # the run is well under way when the client comes
        first, n, size = pull_frames(f"rtsp://127.0.0.1:{port}/cam0", want=15)
        assert first is not None and first < 2.0, first
        assert n == 15 and size == (640, 480)  # the display branch: 640 wide, aspect kept
        # The first client left (the shared media went away); a new one is served again.
        first, n, _ = pull_frames(f"rtsp://127.0.0.1:{port}/cam0", want=5)
        assert first is not None and first < 2.0 and n == 5, first
    finally:
        _, err = run.communicate(timeout=30)
    assert run.returncode == 0, err
    assert (tmp_path / "ev.jsonl").read_text().strip()  # events still written


def test_fast_file_served_at_its_frame_rate_from_few_display_frames(tmp_path, tiny_onnx):
    """A non-live file decoded as fast as it goes, --out-rtsp its one annotated output:
    display frames are made (scaled, converted, drawn) at the file's 30 fps of wall-clock
    time, not for every decoded frame, and the client gets them at that rate."""
    port, metrics = free_port(), tmp_path / "m.json"
    fast = "test://ball?live=0&width=320&height=240"
    run = start_run(tiny_onnx, port, "--metrics", metrics, source=fast, seconds=5)
    try:
        time.sleep(0.5)
        first, n, size = pull_frames(f"rtsp://127.0.0.1:{port}/cam0", want=10**9, timeout_s=3)
        assert first is not None and size == (640, 480)
        assert n >= 15 * (3 - first), (n, first)  # 30 fps, half of it at the least
    finally:
        _, err = run.communicate(timeout=30)
    assert run.returncode == 0, err
    m = json.loads(metrics.read_text())
    s = m["streams"][0]
    assert s["displayed"] <= 30 * m["seconds"] + 4, (s["displayed"], m["seconds"])
    assert s["displayed"] * 4 < s["decoded"], s  # decoded far faster than 30 fps


def test_one_mount_per_stream(tmp_path, tiny_onnx):
    port = free_port()
    two = ("--source", "test://snow?live=1&fps=15&width=160&height=120")
    run = start_run(tiny_onnx, port, *two, "--events", os.devnull, path="/site/{stream}")
    try:
        sizes = [pull_frames(f"rtsp://127.0.0.1:{port}/site/{i}", want=5)[2] for i in (1, 0)]
        assert sizes == [(640, 480), (640, 480)]
    finally:
        _, err = run.communicate(timeout=30)
    assert run.returncode == 0, err


def test_port_in_use_is_one_line(tmp_path, tiny_onnx):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = cli(
            "run",
            tiny_onnx,
            "--source",
            "test://ball?frames=8",
            "--out-rtsp",
            f"rtsp://127.0.0.1:{port}/cam0",
            "--events",
            tmp_path / "ev.jsonl",
            check=False,
        )
    one_line_error(p, "--out-rtsp", str(port), "in use")
    assert not (tmp_path / "ev.jsonl").exists()


def test_frames_are_pushed_only_while_a_client_watches():
    import numpy as np

    r = Restream(f"rtsp://127.0.0.1:{free_port()}/x", streams=1).start()
    try:
        frame = np.zeros((120, 161, 3), np.uint8)  # odd width: cropped to even
        assert not any(r.frame(0, frame, 15) for _ in range(30))
        assert r.counts() == [{"mount": "/x", "pushed": 0, "dropped": 0}]
    finally:
        r.close()
        r.close()  # twice is fine


def test_mounts_and_urls():
    assert mount_paths("/cam0", 1) == ["/cam0"]
    assert mount_paths("/cam", 3) == ["/cam-0", "/cam-1", "/cam-2"]
    assert mount_paths("/site/{stream}/live", 2) == ["/site/0/live", "/site/1/live"]
    assert parse_rtsp_url("rtsp://0.0.0.0/a") == ("0.0.0.0", 8554, "/a")
    for bad in ("http://h:1/a", "rtsp://h:99999/a", "rtsp://h:1/a b"):
        with pytest.raises(EdgeActionError, match="--out-rtsp"):
            parse_rtsp_url(bad)
