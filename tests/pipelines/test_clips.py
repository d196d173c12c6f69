"""`run --event-clips`: a real run on a clip whose colour (and so label) changes writes one
playable MP4 per event, named in the event; the disk cap deletes the oldest clips first."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from edgeaction.pipelines.clips import EventClips
from tests.conftest import cli, one_line_error

FPS = 15
COLORS = ((220, 20, 20), (20, 220, 20), (20, 20, 220))  # 45 frames each: red, green, blue


@pytest.fixture(scope="module")
def rgb_run(tmp_path_factory) -> tuple[Path, Path]:
    """A 3-class model that labels a window by its dominant colour, and a 135-frame clip
    that is red, then green, then blue: three events with `--emit change`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeaction.contract import CONTRACT_KEY, ModelContract
    from edgeaction.video.writer import VideoWriter

    d = tmp_path_factory.mktemp("rgb")
    c = ModelContract(name="rgb", labels=("red", "green", "blue"), frames=4, height=32, width=32)
    inp = helper.make_tensor_value_info(c.input_name, TensorProto.FLOAT, ["N", 4, 32, 32, 3])
    out = helper.make_tensor_value_info(c.output_name, TensorProto.FLOAT, ["N", 3])
    nodes = [
        helper.make_node("ReduceMean", [c.input_name], ["m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("MatMul", ["m", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [c.output_name], axis=-1),
    ]
    w = numpy_helper.from_array((np.eye(3) * 10).astype(np.float32), "w")
    m = helper.make_model(
        helper.make_graph(nodes, "rgb", [inp], [out], initializer=[w]),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    m.ir_version = 8
    m.metadata_props.add(key=CONTRACT_KEY, value=c.to_json())
    onnx.save(m, str(d / "rgb.onnx"))
    with VideoWriter(d / "rgb.mp4", 64, 48, fps=FPS) as vw:
        for color in COLORS:
            for _ in range(45):
                vw.write(np.full((48, 64, 3), color, np.uint8))
    return d / "rgb.onnx", d / "rgb.mp4"


def duration_s(path: Path) -> float:
    """The clip's duration as GStreamer's discoverer reads it (fails if unplayable)."""
    from edgeaction._lazy import gst

    Gst, _ = gst()
    import gi

    gi.require_version("GstPbutils", "1.0")
    from gi.repository import GstPbutils

    info = GstPbutils.Discoverer.new(10 * Gst.SECOND).discover_uri(path.resolve().as_uri())
    assert info.get_video_streams(), path
    return info.get_duration() / Gst.SECOND


def test_one_playable_clip_per_event_named_in_it(tmp_path, rgb_run):
    model, video = rgb_run
    ev, clips = tmp_path / "ev.jsonl", tmp_path / "clips"
    cli("run", model, "--source", video, "--events", ev, "--event-clips", clips,
        "--clip-pre", "1", "--clip-post", "1", "-q")  # fmt: skip
    events = [json.loads(x) for x in ev.read_text().splitlines()]
    assert [e["label"] for e in events] == ["red", "green", "blue"]
    assert [Path(e["clip"]).name for e in events] == [f"clip-{e['id']}.mp4" for e in events]
    assert sorted(p.name for p in clips.iterdir()) == sorted(Path(e["clip"]).name for e in events)
    # The first event (frame 3) has 4 frames of pre-roll; the others a full second.
    want = [(4 + FPS) / FPS, 2.0, 2.0]
    got = [duration_s(Path(e["clip"])) for e in events]
    assert got == pytest.approx(want, abs=0.15), got


def test_overlapping_events_extend_one_clip(tmp_path):
    c = EventClips(tmp_path, streams=1, pre_s=0.5, post_s=1.0)
    frame = np.zeros((32, 48, 3), np.uint8)
    for _ in range(20):
        c.frame(0, frame, 10)
    first = c.event(0, "run-0-1")
    for _ in range(5):  # half-way through the post-roll
        c.frame(0, frame, 10)
    assert c.event(0, "run-0-2") == first  # extended: post-roll restarts from here
    assert not Path(first).exists()  # named at once, written when the post-roll ends
    for _ in range(30):
        c.frame(0, frame, 10)
    c.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip-run-0-1.mp4"]
    assert duration_s(Path(first)) == pytest.approx((5 + 5 + 10) / 10, abs=0.15)


def test_disk_cap_deletes_the_oldest_clips_first(tmp_path):
    logs = []
    now = time.time()
    for i, name in enumerate(("clip-a.mp4", "clip-b.mp4", "clip-c.mp4")):
        (tmp_path / name).write_bytes(b"\0" * 400_000)
        os.utime(tmp_path / name, (now - 100 + i, now - 100 + i))
    (tmp_path / "notes.txt").write_bytes(b"\0" * 400_000)  # not a clip: never touched
    c = EventClips(tmp_path, streams=1, pre_s=0.2, post_s=0.2, max_mb=1.0, log=logs.append)
    frame = np.zeros((32, 48, 3), np.uint8)
    c.event(0, "new")
    for _ in range(10):
        c.frame(0, frame, 25)
    c.close()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["clip-b.mp4", "clip-c.mp4", "clip-new.mp4", "notes.txt"]
    assert c.deleted == 1 and c.written == [str(tmp_path / "clip-new.mp4")]
    assert any("deleted the 1 oldest" in m for m in logs), logs


def test_bad_clip_length_is_one_line(tmp_path, rgb_run):
    model, video = rgb_run
    p = cli("run", model, "--source", video, "--event-clips", tmp_path / "c",
            "--clip-pre", "600", check=False)  # fmt: skip
    one_line_error(p, "--clip-pre", "600")


def test_emit_every_extends_one_clip_over_the_run(tmp_path, rgb_run):
    model, video = rgb_run
    ev, clips = tmp_path / "ev.jsonl", tmp_path / "clips"
    cli("run", model, "--source", video, "--events", ev, "--event-clips", clips,
        "--emit", "every", "--clip-pre", "1", "--clip-post", "1", "-q")  # fmt: skip
    events = [json.loads(x) for x in ev.read_text().splitlines()]
    assert len(events) == 66 and len({e["clip"] for e in events}) == 1
    assert [p.name for p in clips.iterdir()] == [Path(events[0]["clip"]).name]
    assert duration_s(Path(events[0]["clip"])) == pytest.approx(135 / FPS, abs=0.15)
