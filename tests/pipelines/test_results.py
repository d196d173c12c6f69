"""`Runtime.results()`, the public iterator, and the example app built on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from edgeaction.pipelines import Result, RunOptions, Runtime
from edgeaction.video import VideoReader
from tests.conftest import ROOT


def test_results_are_the_windows_in_order_and_match_the_events(tmp_path, tiny_onnx, synth_video):
    ev = tmp_path / "ev.jsonl"
    rt = Runtime(
        tiny_onnx, [str(synth_video)], events=ev, options=RunOptions(emit="every", stride=4)
    )
    assert rt.report is None
    results = list(rt.results())
    assert all(isinstance(r, Result) for r in results)
    assert [r.window for r in results] == [(k * 4, k * 4 + 3) for k in range(12)]  # 48 frames, T=4
    assert {r.label for r in results} <= {"a", "b", "c"} and all(0 <= r.score <= 1 for r in results)
    events = [json.loads(x) for x in ev.read_text().splitlines()]
    assert [e.pop("id").rsplit("-", 1)[1] for e in events] == [str(k + 1) for k in range(12)]
    assert events == [r.event() for r in results]
    assert rt.report["windows"] == 12 and rt.report["streams"][0]["state"] == "ended"


def test_leaving_the_loop_early_finishes_the_run(tmp_path, tiny_onnx):
    ev, vid = tmp_path / "ev.jsonl", tmp_path / "ann.mp4"
    rt = Runtime(tiny_onnx, ["test://ball?fps=30"], events=ev, out_video=vid,
                 options=RunOptions(emit="every"))  # fmt: skip
    seen = []
    for r in rt.results():  # a live source that never ends
        seen.append(r)
        if len(seen) == 5:
            break
    m = rt.report
    assert m is not None and m["stopped_by"] == "stopped"
    assert m["windows"] >= 5 and len(ev.read_text().splitlines()) == m["windows"]
    assert len(list(VideoReader(vid, 32, 32))) == m["streams"][0]["frames"]
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")]  # nothing partial


# The example as a script, in a child that cannot import TensorFlow (exit 99 if it did).
_NO_TF_APP = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx"):
            raise ModuleNotFoundError("blocked: " + name, name=name)
sys.meta_path.insert(0, Block())
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    if any(m.split(".")[0] in ("tensorflow", "keras", "tf2onnx") for m in sys.modules):
        sys.exit(99)
"""


def _app(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    p = subprocess.run(
        [sys.executable, "-c", _NO_TF_APP, str(ROOT / "examples" / "action_app.py"), *map(str, args)],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )  # fmt: skip
    assert p.returncode != 99, p.stderr[-2000:]
    return p


def test_example_app_classifies_a_synthetic_clip(tmp_path, tiny_onnx, synth_video):
    vid = tmp_path / "ann.mp4"
    p = _app(tiny_onnx, synth_video, "--stride", 4, "--out-video", vid)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 12 and lines[0].startswith("frames 0-3: ") and lines[-1].endswith(")")
    assert "48 frames, 12 windows" in p.stderr
    assert len(list(VideoReader(vid, 32, 32))) == 48
    bad = _app(tiny_onnx, Path(tmp_path / "missing.mp4"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1 and "video file not found" in bad.stderr
