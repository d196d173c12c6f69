import json

import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.pipelines import run_file
from edgeaction.video import VideoReader, probe_file


def test_run_writes_events_and_annotated_video(tmp_path, tiny_onnx, synth_video):
    ev, vid = tmp_path / "ev.jsonl", tmp_path / "ann.mp4"
    s = run_file(tiny_onnx, synth_video, events=ev, out_video=vid, stride=2)
    lines = [json.loads(x) for x in ev.read_text().splitlines()]
    # 48 frames, T=4, stride 2 -> windows end at 3,5,...,47
    assert s.frames == 48 and s.windows == len(lines) == 23
    first = lines[0]
    assert set(first) >= {
        "stream",
        "source",
        "pts",
        "frame",
        "window",
        "label",
        "score",
        "top_k",
        "model",
    }
    assert first["window"] == [0, 3] and first["frame"] == 3 and first["label"] in ("a", "b", "c")
    assert first["pts"] == pytest.approx(3 / 15, abs=1e-3) and 0 < first["score"] <= 1
    assert [x["frame"] for x in lines] == list(range(3, 48, 2))
    assert probe_file(vid)["size"][0] == 640
    assert len(list(VideoReader(vid, 64, 64))) == 48
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann.mp4", "ev.jsonl", "tiny.onnx"]


def test_real_avi_runs(tmp_path, tiny_onnx, real_clips):
    s = run_file(tiny_onnx, real_clips / "ucf101_apply_eye_makeup.avi", events=tmp_path / "e.jsonl")
    assert s.frames >= 163 and s.windows == (s.frames - 4) // 2 + 1 and s.fps > 0


def test_bad_source_leaves_no_outputs(tmp_path, tiny_onnx):
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    with pytest.raises(EdgeActionError, match="not a video"):
        run_file(tiny_onnx, bad, events=tmp_path / "e.jsonl", out_video=tmp_path / "o.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4", "tiny.onnx"]
