"""Display frames only as often as their users need them (`sources.gate.DisplayGate`), on
real GStreamer pipelines: a non-live source decoded as fast as it goes makes display
frames at its frame rate in wall-clock time, each paired with its own model frame, or
every one."""

from __future__ import annotations

import queue
import time

import numpy as np

from edgeaction.pipelines.sources import Stream, parse_source
from tests.pipelines.test_sources import collect, frames_of, kinds

#: 600 frames of noise, 20 s at 30 fps, decoded in about a second: every frame differs.
FAST = "test://snow?live=0&width=320&height=240&frames=600"


def _run_stream(source: str, size=(64, 48), until=None, **kw) -> tuple[list, Stream, float]:
    """A stream whose display frames are as large as its model frames (so equal to them)."""
    q: queue.Queue = queue.Queue()
    s = Stream(0, parse_source(source), q, *size, display_width=size[0], **kw)
    t0 = time.monotonic()
    s.start()
    try:
        msgs = collect(s, q, timeout=60, until=until)
    finally:
        s.stop()
    return msgs, s, time.monotonic() - t0


def test_realtime_display_frames_at_the_frame_rate_each_with_its_model_frame():
    msgs, s, wall = _run_stream(FAST, display_realtime=True)
    fr = frames_of(msgs)
    assert kinds(msgs) == ["started", "eos"] and [f.index for f in fr] == list(range(600))
    assert wall < 10, f"decoding 20 s of video took {wall:.1f} s: too slow a machine to tell"
    shown = [f for f in fr if f.display is not None]
    assert s.stats.displayed == len(shown) and s.stats.decoded == 600
    # 30 a second of wall-clock time (and at most 2 more right after the start)
    assert 1 <= len(shown) <= 30 * wall + 4, (len(shown), wall)
    # the display branch (same size here) made each from its own frame: noise is equal
    # only to itself
    assert all(np.array_equal(f.display, f.image) for f in shown)


def test_every_display_frame_by_default():
    msgs, s, _ = _run_stream(FAST.replace("600", "120"))
    fr = frames_of(msgs)
    assert len(fr) == s.stats.displayed == 120
    assert all(np.array_equal(f.display, f.image) for f in fr)


def test_looping_file_keeps_its_display_frames_paired(synth_video):
    """A flushing seek at each loop: the decisions in flight go, the first frame after it
    is kept (the display appsink prerolls; dropping it stalled the pipeline)."""
    msgs, s, _ = _run_stream(
        f"{synth_video}?loop=1", (32, 32), lambda m: len(m) > 400, display_realtime=True
    )
    fr = frames_of(msgs)
    assert "error" not in kinds(msgs) and len(fr) >= 400
    shown = [f for f in fr if f.display is not None]
    assert 48 in [f.index for f in shown]  # the first frame of the second loop
    assert len(shown) < len(fr) / 2
    assert all(np.array_equal(f.display, f.image) for f in shown)
