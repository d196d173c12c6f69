"""Display frames only as often as their users need them (`sources.gate.DisplayGate`,
`Runtime.display_realtime`), on real GStreamer pipelines: a non-live source decoded as
fast as it goes makes display frames at its frame rate in wall-clock time when the RTSP
re-stream alone shows them (the newest decoded frame), and every one, each its own
frame's, when an annotated video (or event clips) needs them."""

from __future__ import annotations

import itertools
import queue
import time

import numpy as np
import pytest

from edgeaction.pipelines.runtime import RunOptions, Runtime
from edgeaction.pipelines.sources import Stream, parse_source
from tests.pipelines.test_sources import collect, frames_of, kinds
from tests.rtsp import free_port, rtsp_server_available

#: 600 frames of noise, 20 s at 30 fps, decoded in about a second: every frame differs.
FAST = "test://snow?live=0&width=320&height=240&frames=600"


def _run_stream(source: str, size=(64, 48), until=None, **kw) -> tuple[list, Stream, float]:
    """A stream whose display frames are as large as its model frames (so equal to the
    model frame of the same decoded frame)."""
    q: queue.Queue = queue.Queue()
    s = Stream(0, parse_source(source), q, *size, display_width=size[0], **kw)
    t0 = time.monotonic()
    s.start()
    try:
        msgs = collect(s, q, timeout=60, until=until)
    finally:
        s.stop()
    return msgs, s, time.monotonic() - t0


def test_realtime_display_frames_at_the_frame_rate_from_recent_frames():
    msgs, s, wall = _run_stream(FAST, display_realtime=True)
    fr = frames_of(msgs)
    assert kinds(msgs) == ["started", "eos"] and [f.index for f in fr] == list(range(600))
    assert wall < 10, f"decoding 20 s of video took {wall:.1f} s: too slow a machine to tell"
    shown = [f for f in fr if f.display is not None]
    assert s.stats.displayed == len(shown) and s.stats.decoded == 600
    # 30 a second of wall-clock time (and at most 2 more right after the start)
    assert 1 <= len(shown) <= 30 * wall + 4, (len(shown), wall)
    # each is a decoded frame (noise equals only itself) from less than 0.2 s before or
    # after the model frame it comes with
    index = {f.image.tobytes(): f.index for f in fr}
    near = 0.2 * 600 / wall + 20
    assert all(abs(f.index - index[f.display.tobytes()]) <= near for f in shown)


def test_realtime_display_frames_only_while_watched():
    """Nobody watches the first 300 frames (an RTSP re-stream without a client): none
    comes with a display frame. Then they come, each from a frame decoded after the
    watching began: the frame the branch had held since the start is not shown."""
    calls = itertools.count()  # the gate asks once per decoded frame, in order
    msgs, s, _ = _run_stream(FAST, display_realtime=True, display_wanted=lambda: next(calls) >= 300)
    fr = frames_of(msgs)
    assert [f.index for f in fr] == list(range(600))
    shown = [f for f in fr if f.display is not None]
    assert shown and s.stats.displayed == len(shown) and shown[0].index > 300
    index = {f.image.tobytes(): f.index for f in fr}
    assert min(index[f.display.tobytes()] for f in shown) >= 290, [f.index for f in shown[:3]]


def test_every_display_frame_by_default_each_its_own():
    msgs, s, _ = _run_stream(FAST.replace("600", "120"))
    fr = frames_of(msgs)
    assert len(fr) == s.stats.displayed == 120
    assert all(np.array_equal(f.display, f.image) for f in fr)


def test_looping_file_with_realtime_display_frames(synth_video):
    """A flushing seek at each loop: the display branch (holding one frame) prerolls
    again and keeps up; no stall, no error."""
    msgs, s, wall = _run_stream(
        f"{synth_video}?loop=1", (32, 32), lambda m: len(m) > 400, display_realtime=True
    )
    fr = frames_of(msgs)
    assert "error" not in kinds(msgs) and len(fr) >= 400
    shown = [f for f in fr if f.display is not None]
    assert 1 <= len(shown) <= 15 * wall + 4 and shown[-1].display.shape == (32, 32, 3)


needs_rtsp = pytest.mark.skipif(
    not rtsp_server_available(), reason="needs gst-rtsp-server's GI data and x264enc"
)


def _with_restream(tiny_onnx, source: str, **kw) -> tuple[dict, Runtime]:
    from edgeaction.pipelines.restream import Restream

    rt = Runtime(tiny_onnx, [source], events=None, options=RunOptions(), **kw)
    rt.outputs.attach(restream=Restream(f"rtsp://127.0.0.1:{free_port()}/x", 1).start())
    return rt.run(), rt


@needs_rtsp
def test_restream_alone_asks_for_realtime_display_frames_while_watched(tiny_onnx):
    """With no RTSP client connected the re-stream shows nothing: no display frame is
    made (`test_restream.py` has a client get them at the frame rate)."""
    m, rt = _with_restream(tiny_onnx, FAST)
    assert rt.display_realtime(0) and rt.display_width_needed(0) == 640
    assert rt.display_wanted(0) is not None and not rt.display_wanted(0)()
    s = m["streams"][0]
    assert s["decoded"] == s["frames"] == 600
    assert s["displayed"] == 0, s


@needs_rtsp
def test_out_video_beside_the_restream_gets_every_frame(tmp_path, tiny_onnx):
    from edgeaction.video.reader import VideoReader

    vid = tmp_path / "a.mp4"
    m, rt = _with_restream(tiny_onnx, FAST.replace("600", "90"), out_video=vid)
    assert not rt.display_realtime(0)
    s = m["streams"][0]
    assert s["decoded"] == s["displayed"] == 90
    assert len(list(VideoReader(vid, 32, 32))) == 90


def test_live_sources_keep_every_display_frame(tiny_onnx):
    """A live source comes at its own rate: no gate, whatever uses the display frames."""
    rt = Runtime(tiny_onnx, ["test://ball?fps=30", FAST], events=None)
    rt.outputs.attach(restream=object())  # only asked whether it is there
    assert [rt.display_realtime(i) for i in (0, 1)] == [False, True]
