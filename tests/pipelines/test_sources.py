"""Sources: URI parsing, pipeline text (CPU and Jetson), and real per-stream reader threads."""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from pathlib import Path

import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.pipelines.sources import (
    SourceSpec,
    Stream,
    parse_source,
    pipeline_description,
    redact,
    validate_source,
)
from tests.rtsp import free_port, kill, rtsp_server_available, start_server


def _one_line(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and msg
    return msg


def collect(
    streams, q: queue.Queue, release: bool = True, timeout: float = 30.0, until=None, delay=0.0
) -> list[tuple]:
    """Take messages until every stream has ended or failed (or `until(msgs)` holds)."""
    streams = streams if isinstance(streams, list) else [streams]
    done: set[int] = set()
    msgs: list[tuple] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            kind, i, payload = q.get(timeout=0.1)
        except queue.Empty:
            continue
        msgs.append((kind, i, payload))
        if kind == "frame":
            if delay:
                time.sleep(delay)
            if release:
                streams[i].release()
        if kind in ("eos", "error"):
            done.add(i)
        if until is not None and until(msgs):
            return msgs
        if until is None and len(done) == len(streams):
            return msgs
    raise AssertionError(f"timed out; got {[m[0] for m in msgs if m[0] != 'frame']}")


def frames_of(msgs, i: int = 0):
    return [p for k, j, p in msgs if k == "frame" and j == i]


def kinds(msgs, i: int = 0):
    return [k for k, j, _ in msgs if k != "frame" and j == i]


# ---- parse_source -----------------------------------------------------------------------
def test_parse_file_forms(synth_video):
    s = parse_source(str(synth_video))
    assert (s.kind, s.live, s.location, s.options) == (
        "file",
        False,
        str(synth_video),
        {"loop": False, "realtime": False},
    )
    u = parse_source(f"file://{synth_video}?loop=1")
    assert u.kind == "file" and u.location == str(synth_video) and u.options["loop"] is True
    assert parse_source(f"{synth_video}?loop=1").options["loop"] is True
    r = parse_source(f"{synth_video}?loop=1&realtime=1")  # paced like a camera: live
    assert r.live and r.options == {"loop": True, "realtime": True}
    assert "sync=true" in pipeline_description(r, 32, 32)
    assert "sync=true" not in pipeline_description(s, 32, 32)


def test_parse_file_errors(tmp_path):
    with pytest.raises(EdgeActionError, match="not found") as e:
        parse_source(str(tmp_path / "nope.mp4"))
    _one_line(e)
    with pytest.raises(EdgeActionError, match="directory"):
        parse_source(f"file://{tmp_path}")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(EdgeActionError, match="empty"):
        parse_source(str(tmp_path / "empty.mp4"))
    (tmp_path / "a.mp4").write_bytes(b"x")
    with pytest.raises(EdgeActionError, match="loop") as e:
        parse_source(f"file://{tmp_path / 'a.mp4'}?loop=maybe")
    assert "accepted forms" in _one_line(e)
    with pytest.raises(EdgeActionError, match="unknown option 'fps'"):
        parse_source(f"file://{tmp_path / 'a.mp4'}?fps=3")
    with pytest.raises(EdgeActionError, match="absolute path"):
        parse_source("file://host/x.mp4")


def test_parse_rtsp_redacts_credentials():
    s = parse_source("rtsp://admin:s3cret@10.0.0.5:554/live?channel=1")
    assert s.kind == "rtsp" and s.live and s.options == {}
    assert s.location == "rtsp://admin:s3cret@10.0.0.5:554/live?channel=1"
    assert s.display == "rtsp://***:***@10.0.0.5:554/live?channel=1"
    assert parse_source("rtsp://cam/x").display == "rtsp://cam/x"
    assert parse_source("rtsps://u:p@cam/x").display == "rtsps://***:***@cam/x"
    for bad in ("rtsp://admin:s3cret@10.0.0.5:99999/x", "rtsp://admin:s3cret@host:abc/x"):
        with pytest.raises(EdgeActionError) as e:
            parse_source(bad)
        msg = _one_line(e)
        assert "s3cret" not in msg and "admin" not in msg and "***:***@" in msg
    with pytest.raises(EdgeActionError, match="no host"):
        parse_source("rtsp:///x")
    assert (
        redact("a rtsp://u:p@h/x and http://k:v@h") == "a rtsp://***:***@h/x and http://***:***@h"
    )


def test_parse_v4l2_csi_test():
    with pytest.raises(EdgeActionError) as e:
        parse_source("v4l2:///dev/video9")
    assert _one_line(e) == (
        "camera /dev/video9 does not exist; list cameras with `v4l2-ctl --list-devices`"
    )
    if os.path.exists("/dev/null"):
        s = parse_source("v4l2:///dev/null")  # exists: parsing accepts it (opening would fail)
        assert (s.kind, s.location, s.live) == ("v4l2", "/dev/null", True)
    c = parse_source("csi://1?width=1920&height=1080")
    assert (c.kind, c.location, c.live) == ("csi", "1", True)
    assert (c.options["width"], c.options["height"], c.options["fps"]) == (1920, 1080, 30)
    t = parse_source("test://")
    assert (t.kind, t.location, t.live) == ("test", "ball", True)
    assert (t.options["width"], t.options["height"], t.options["fps"]) == (320, 240, 30)
    assert t.options["frames"] is None
    t = parse_source("test://smpte?width=64&height=48&fps=12.5&frames=7&live=0")
    assert (t.location, t.live, t.options["frames"], t.options["width"]) == ("smpte", False, 7, 64)
    assert float(t.options["fps"]) == 12.5


@pytest.mark.parametrize(
    "text, needle",
    [
        ("http://u:pw@example.com/x.mp4", "unknown scheme"),
        ("test://nosuchpattern", "unknown test pattern"),
        ("test://ball?fps=0", "fps"),
        ("test://ball?width=-3", "width"),
        ("test://ball?frames=x", "frames"),
        ("test://ball?live=2", "live"),
        ("test://ball?colour=red", "unknown option"),
        ("test://ball?width", "width"),
        ("csi://front", "sensor number"),
        ("", "empty source"),
    ],
)
def test_parse_bad_sources(text, needle):
    with pytest.raises(EdgeActionError, match=needle) as e:
        parse_source(text)
    msg = _one_line(e)
    assert "pw@" not in msg
    if text:
        assert "accepted forms" in msg


def test_validate_is_the_same_grammar_without_the_filesystem(tmp_path):
    # What a service checks on a machine that may not hold the files or cameras yet.
    f = validate_source("/data/not-here.mp4?loop=1&realtime=1")
    assert (f.kind, f.location, f.live) == ("file", "/data/not-here.mp4", True)
    assert f.options == {"loop": True, "realtime": True}
    assert validate_source("file:///data/x%20y.mp4").location == "/data/x y.mp4"
    assert validate_source("v4l2://3").location == "/dev/video3"
    assert validate_source("rtsp://u:p@cam/x").display == "rtsp://***:***@cam/x"
    for text, needle in (
        ("/data/x.mp4?loop=maybe", "option loop must be 0 or 1"),
        ("/data/x.mp4?fps=3", "unknown option 'fps'"),
        ("file://host/x.mp4", "absolute path"),
        ("test://ball?fps=0", "fps"),
        ("http://u:pw@h/x", "unknown scheme"),
    ):
        with pytest.raises(EdgeActionError, match=needle) as e:
            validate_source(text)
        assert "accepted forms" in _one_line(e) and "pw@" not in str(e.value)
    with pytest.raises(EdgeActionError, match="not found"):
        parse_source(str(tmp_path / "not-here.mp4"))  # parse_source checks the file


def test_every_registered_kind_parses_its_own_schemes():
    from edgeaction.pipelines.sources import ACCEPTED, KINDS, REGISTRY, kind_of

    assert KINDS == ("file", "rtsp", "v4l2", "csi", "test")
    examples = {"file": "/x.mp4", "rtsp": "rtsp://h/x", "v4l2": "v4l2:///dev/video0",
                "csi": "csi://0", "test": "test://ball"}  # fmt: skip
    for kind in REGISTRY:
        assert kind_of(kind.name) is kind and kind.form in ACCEPTED
        assert validate_source(examples[kind.name]).kind == kind.name


# ---- pipeline descriptions --------------------------------------------------------------
def _spec(kind: str, location: str, live: bool, **options) -> SourceSpec:
    return SourceSpec(location, kind, location, redact(location), live, options)


def test_cpu_descriptions(synth_video):
    f = pipeline_description(parse_source(str(synth_video)), 32, 24)
    assert f.startswith(f"file://{synth_video} ! decodebin")  # a filesrc, from its URI
    assert f.index("videoscale") < f.index("video/x-raw,format=RGB")
    assert "width=32,height=24" in f and f.endswith("sync=false") and "appsink name=model" in f
    assert "appsink name=display" not in f
    weird = _spec("file", '/tmp/a "b"\\c.mp4', False, loop=False)
    assert pipeline_description(weird, 8, 8).startswith("file:///tmp/a%20%22b%22%5Cc.mp4 ! ")
    r = pipeline_description(parse_source("rtsp://u:p@h:8554/x"), 32, 32, "BGR", display_width=320)
    assert r.startswith('rtspsrc location="rtsp://u:p@h:8554/x" latency=200 protocols=tcp')
    assert "decodebin" in r and "format=BGR" in r and "tee name=t" in r
    assert "appsink name=display" in r and "width=320,pixel-aspect-ratio=1/1" in r
    v = pipeline_description(_spec("v4l2", "/dev/video0", True), 32, 32)
    assert v.startswith('v4l2src device="/dev/video0" ! decodebin') and "videoscale" in v
    t = pipeline_description(parse_source("test://snow?frames=5&live=0&fps=15"), 32, 32)
    assert t.startswith("videotestsrc pattern=snow is-live=false num-buffers=5 ")
    assert "framerate=15/1" in t and "videoscale" in t
    with pytest.raises(EdgeActionError, match="csi:// needs a Jetson with nvarguscamerasrc") as e:
        pipeline_description(parse_source("csi://0"), 32, 32)
    _one_line(e)
    with pytest.raises(EdgeActionError, match="platform"):
        pipeline_description(parse_source("test://"), 32, 32, platform="tpu")
    with pytest.raises(EdgeActionError, match="RGB or BGR"):
        pipeline_description(parse_source("test://"), 32, 32, colour="YUV")


def test_jetson_descriptions(synth_video):
    f = pipeline_description(parse_source(str(synth_video)), 32, 32, platform="jetson")
    assert "parsebin" in f and "nvv4l2decoder" in f and "decodebin" not in f
    assert f.index("nvv4l2decoder") < f.index("video/x-raw(memory:NVMM),width=32,height=32")
    assert f.count("nvvidconv") == 2 and "format=RGBA ! videoconvert ! video/x-raw,format=RGB" in f
    b = pipeline_description(parse_source(str(synth_video)), 32, 32, "BGR", platform="jetson")
    assert "video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR" in b
    r = pipeline_description(
        parse_source("rtsp://h/x"), 32, 32, platform="jetson", display_width=640
    )
    assert r.startswith("rtspsrc") and "nvv4l2decoder ! tee name=t" in r
    assert r.count("nvvidconv") == 4 and "appsink name=display" in r
    c = pipeline_description(parse_source("csi://2?fps=60"), 32, 32, platform="jetson")
    assert c.startswith("nvarguscamerasrc sensor-id=2 ! video/x-raw(memory:NVMM),width=1280")
    assert "framerate=60/1" in c and "nvvidconv" in c
    v = pipeline_description(_spec("v4l2", "/dev/video0", True), 32, 32, platform="jetson")
    assert v.startswith('v4l2src device="/dev/video0"') and "nvvidconv" in v
    t = pipeline_description(parse_source("test://"), 32, 32, platform="jetson")
    assert t.startswith("videotestsrc") and "nvvidconv" in t


def test_stream_rejects_csi_on_cpu():
    with pytest.raises(EdgeActionError, match="csi:// needs a Jetson"):
        Stream(0, parse_source("csi://0"), queue.Queue(), 32, 32)


def test_csi_on_jetson_platform_fails_clearly_here():
    Gst = pytest.importorskip("edgeaction._lazy").gst()[0]
    if Gst.ElementFactory.find("nvarguscamerasrc") is not None:
        pytest.skip("this machine has nvarguscamerasrc")
    q: queue.Queue = queue.Queue()
    s = Stream(0, parse_source("csi://0"), q, 32, 32, platform="jetson").start()
    try:
        msgs = collect(s, q, timeout=15)
    finally:
        s.stop()
    (msg,) = [p for k, _, p in msgs if k == "error"]
    assert "csi:// needs a Jetson with nvarguscamerasrc" in msg and "\n" not in msg
    assert s.stats.state == "failed"


# ---- streams on real pipelines ----------------------------------------------------------
def test_file_stream_all_frames_in_order(synth_video):
    q: queue.Queue = queue.Queue()
    s = Stream(0, parse_source(str(synth_video)), q, 32, 32, display_width=64).start()
    try:
        msgs = collect(s, q)
    finally:
        s.stop()
    fr = frames_of(msgs)
    assert [f.index for f in fr] == list(range(48))
    assert kinds(msgs) == ["started", "eos"] and msgs[0][0] == "started"
    assert fr[0].image.shape == (32, 32, 3) and fr[0].display.shape == (64, 64, 3)
    pts = [f.pts for f in fr]
    assert pts == sorted(pts) and pts[1] - pts[0] == pytest.approx(1 / 15, abs=1e-3)
    st = s.stats
    assert (st.state, st.decoded, st.delivered, st.dropped, st.error) == ("ended", 48, 48, 0, None)
    assert len(st.decode_ms) == 48 and st.first_frame_at >= st.started_at
    assert s.fps == pytest.approx(15.0)  # the negotiated caps' frame rate


def test_stream_knows_its_frame_rate():
    q: queue.Queue = queue.Queue()
    s = Stream(0, parse_source("test://ball?fps=12.5&frames=5&live=0"), q, 32, 32)
    assert s.fps is None  # nothing negotiated yet
    s.start()
    try:
        collect(s, q)
    finally:
        s.stop()
    assert s.fps == pytest.approx(12.5)
    assert not s.running


def test_real_clip_and_two_streams_share_a_queue(real_clips, synth_video):
    clip = real_clips / "kinetics_arm_wrestling.mp4"
    q: queue.Queue = queue.Queue()
    streams = [
        Stream(0, parse_source(str(clip)), q, 64, 48, "BGR"),
        Stream(1, parse_source(str(synth_video)), q, 32, 32, capacity=2),
    ]
    for s in streams:
        s.start()
    try:
        msgs = collect(streams, q, timeout=45)
    finally:
        for s in streams:
            s.stop()
    a, b = frames_of(msgs, 0), frames_of(msgs, 1)
    assert len(a) >= 270 and [f.index for f in a] == list(range(len(a)))
    assert a[0].image.shape == (48, 64, 3)
    assert [f.index for f in b] == list(range(48))
    assert kinds(msgs, 0) == ["started", "eos"] and kinds(msgs, 1) == ["started", "eos"]


def test_live_source_drops_when_consumer_never_releases():
    q: queue.Queue = queue.Queue()
    spec = parse_source("test://ball?width=64&height=48&fps=60&frames=45")
    s = Stream(0, spec, q, 32, 32, capacity=4).start()
    try:
        msgs = collect(s, q, release=False, timeout=20)
    finally:
        s.stop()
    fr = frames_of(msgs)
    st = s.stats
    assert kinds(msgs) == ["started", "eos"]
    assert len(fr) == st.delivered == 4 and st.decoded == 45
    assert st.dropped == 41 and st.decoded == st.delivered + st.dropped
    assert [f.index for f in fr] == [0, 1, 2, 3]


def test_non_live_source_back_pressure_no_drops():
    q: queue.Queue = queue.Queue()
    spec = parse_source("test://smpte?width=64&height=48&frames=40&live=0")
    assert not spec.live
    s = Stream(0, spec, q, 32, 32, capacity=2).start()
    try:
        msgs = collect(s, q, delay=0.01)
    finally:
        s.stop()
    fr = frames_of(msgs)
    assert [f.index for f in fr] == list(range(40)) and s.stats.dropped == 0
    assert s.stats.decoded == 40 and kinds(msgs) == ["started", "eos"]


def test_file_loop_keeps_counting(synth_video):
    q: queue.Queue = queue.Queue()
    s = Stream(0, parse_source(f"{synth_video}?loop=1"), q, 16, 16).start()
    try:
        msgs = collect(s, q, until=lambda m: len(m) > 130)
    finally:
        s.stop()
    fr = frames_of(msgs)
    assert len(fr) > 120 and [f.index for f in fr] == list(range(len(fr)))
    pts = [f.pts for f in fr]
    assert all(b > a for a, b in zip(pts[:-1], pts[1:], strict=True))
    assert pts[48] == pytest.approx(48 / 15, abs=1e-3) and kinds(msgs) == ["started"]
    assert s.stats.state == "stopped" and not s.running


def test_text_file_fails_with_one_line(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n" * 20)
    q: queue.Queue = queue.Queue()
    s = Stream(3, parse_source(str(bad)), q, 32, 32).start()
    try:
        msgs = collect(s, q)
    finally:
        s.stop()
    assert [(k, i) for k, i, _ in msgs] == [("error", 3)]
    msg = msgs[0][2]
    assert "\n" not in msg and "notes.mp4" in msg and "not a video file" in msg
    assert s.stats.state == "failed" and s.stats.error == msg


def test_audio_only_file_says_no_video_stream(tmp_path):
    from edgeaction._lazy import gst

    Gst, _ = gst()
    path = tmp_path / "audio.ogg"
    p = Gst.parse_launch(
        f'audiotestsrc num-buffers=50 ! vorbisenc ! oggmux ! filesink location="{path}"'
    )
    p.set_state(Gst.State.PLAYING)
    msg = p.get_bus().timed_pop_filtered(
        20 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR
    )
    p.set_state(Gst.State.NULL)
    assert msg is not None and msg.type == Gst.MessageType.EOS and path.stat().st_size > 0
    q: queue.Queue = queue.Queue()
    s = Stream(0, parse_source(str(path)), q, 32, 32).start()
    try:
        msgs = collect(s, q)
    finally:
        s.stop()
    assert [k for k, _, _ in msgs] == ["error"]
    assert "no video stream" in msgs[0][2] and "\n" not in msgs[0][2]


def test_refused_rtsp_fails_after_attempts_without_credentials():
    q: queue.Queue = queue.Queue()
    spec = parse_source("rtsp://user:hunter2@127.0.0.1:1/x")
    s = Stream(0, spec, q, 32, 32, connect_attempts=3, backoff_s=(0.05, 0.2)).start()
    t0 = time.monotonic()
    try:
        msgs = collect(s, q, timeout=30)
    finally:
        s.stop()
    assert time.monotonic() - t0 < 20
    assert [k for k, _, _ in msgs] == ["error"]
    msg = msgs[0][2]
    assert "hunter2" not in msg and "user" not in msg and "***:***@127.0.0.1:1" in msg
    assert "cannot connect" in msg and "3 tries" in msg and "\n" not in msg
    assert s.stats.state == "failed" and s.stats.reconnects == 0 and "hunter2" not in s.stats.error


def test_stop_live_stream_promptly():
    q: queue.Queue = queue.Queue()
    s = Stream(0, parse_source("test://ball?width=64&height=48"), q, 32, 32).start()
    try:
        collect(s, q, until=lambda m: len(frames_of(m)) >= 3, timeout=15)
    finally:
        t0 = time.monotonic()
        s.stop()
        took = time.monotonic() - t0
    assert took < 2.0 and not s.running and s.stats.state == "stopped"


# ---- RTSP reconnect against a real local server -----------------------------------------
@pytest.mark.skipif(not rtsp_server_available(), reason="GstRtspServer or x264enc not installed")
def test_rtsp_reconnects_after_server_restart(tmp_path):
    port = free_port()
    server = start_server(port, tmp_path)
    q: queue.Queue = queue.Queue()
    spec = parse_source(f"rtsp://viewer:pa55@127.0.0.1:{port}/cam")
    s = Stream(0, spec, q, 32, 32, backoff_s=(0.2, 1.0), timeout_s=8.0)
    try:
        s.start()
        msgs = collect(s, q, until=lambda m: len(frames_of(m)) >= 10, timeout=30)
        assert kinds(msgs) == ["started"] and s.stats.state == "running"
        kill(server)
        msgs += collect(s, q, until=lambda m: "gap" in kinds(m), timeout=30)
        time.sleep(0.5)  # a real outage: some reconnect tries fail
        server = start_server(port, tmp_path)
        n0 = len(frames_of(msgs))
        msgs += collect(
            s,
            q,
            until=lambda m: "resumed" in kinds(m) and len(frames_of(m)) >= 10,
            timeout=45,
        )
    finally:
        s.stop()
        kill(server)
    ks = kinds(msgs)
    assert ks[0] == "started" and "gap" in ks and ks[-1] == "resumed"
    assert "error" not in ks and "eos" not in ks
    gap = next(p for k, _, p in msgs if k == "gap")
    assert gap["attempt"] == 1 and gap["reason"] and "pa55" not in gap["reason"]
    resumed = next(p for k, _, p in msgs if k == "resumed")
    assert resumed["gap_s"] > 0
    st = s.stats
    assert st.reconnects >= 1 and st.error is None
    assert st.gap_s == pytest.approx(resumed["gap_s"], abs=2e-3)  # one outage; payload rounded
    fr = frames_of(msgs)
    assert len(fr) >= n0 + 1 and [f.index for f in fr] == list(range(len(fr)))
    pts = [f.pts for f in fr if not math.isnan(f.pts)]
    assert all(b > a for a, b in zip(pts[:-1], pts[1:], strict=True))


def test_decoding_threads_run_nicer_than_the_consumer():
    q: queue.Queue = queue.Queue()
    s = Stream(0, parse_source("test://ball?fps=30"), q, 32, 32, nice=7).start()
    try:
        collect(s, q, until=lambda m: len(frames_of(m)) >= 3, timeout=20)
        base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        tids = [t.native_id for t in threading.enumerate() if t is s._thread]
        stat = Path(f"/proc/self/task/{tids[0]}/stat").read_text()
        assert int(stat.rsplit(")", 1)[1].split()[16]) == base + 7  # field 19: nice
        # GStreamer's own streaming threads, started from it, inherit the niceness
        nices = [
            int(Path(f"/proc/self/task/{t}/stat").read_text().rsplit(")", 1)[1].split()[16])
            for t in os.listdir("/proc/self/task")
        ]
        assert sum(n == base + 7 for n in nices) >= 2
    finally:
        s.stop()


def test_stream_slots_count_like_a_semaphore():
    from edgeaction.pipelines.sources.stream import Slots

    s = Slots(2)
    assert s.acquire(blocking=False) and s.acquire(blocking=False)
    assert not s.acquire(blocking=False)
    t0 = time.monotonic()
    assert not s.acquire(timeout=0.05) and time.monotonic() - t0 >= 0.04
    threading.Timer(0.05, s.release).start()  # a release wakes a waiting acquire
    assert s.acquire(timeout=5)
    assert not s.acquire(blocking=False)
