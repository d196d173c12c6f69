"""Hand-keypoint models end to end on real gesture clips: export, evaluate, compare, `run`.

The real MediaPipe Hands, GStreamer and ONNX Runtime. A small `hands` model is built with
Keras (untrained, in a child process: this process never imports TensorFlow) and
exported with `edgeaction export --data`, whose parity check extracts the held-out
clips' keypoints on the fly. The clips are three short EgoGestAR gestures read in place
from ../shared/data/egogestar_dev (never copied).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import cli, cli_no_tf, one_line_error

EGO = Path(__file__).resolve().parents[2] / "../shared/data/egogestar_dev"
#: the shortest clips of three labels (about 1.1-1.8 s of 640x480 each)
CLIPS = {
    "down": "down/testvideo_down_17.mp4",
    "left": "left/testvideo_left_2.mp4",
    "right": "right/testvideo_right_3.mp4",
}
FRAMES = 16

BUILD = f"""
import sys
from pathlib import Path
from edgeaction.contract import ModelContract
from edgeaction.train.models import build_model
c = ModelContract(name="hands-test", labels={tuple(CLIPS)!r}, frames={FRAMES}, height=64,
                  width=64, modality="hands", producer={{"arch": "hands"}})
d = Path(sys.argv[1])
d.mkdir(parents=True)
build_model("hands", c).save(d / "model.keras")
c.save(d)
"""


def _events(p: Path) -> list[dict]:
    return [json.loads(x) for x in p.read_text().splitlines()]


def _predictions(out: Path) -> dict[str, dict]:
    with open(out / "predictions.csv", newline="") as f:
        return {r["clip"]: r for r in csv.DictReader(f)}


def _data(root: Path, clips: dict[str, str]) -> Path:
    """A manifest data set of the given EgoGestAR clips (absolute paths), all `test`."""
    root.mkdir(parents=True, exist_ok=True)
    rows = ["path,label,split"] + [f"{(EGO / p).resolve()},{lab},test" for lab, p in clips.items()]
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def ego(tmp_path_factory) -> Path:
    if not all((EGO / p).is_file() for p in CLIPS.values()):
        pytest.skip(f"EgoGestAR development clips not found at {EGO} (../shared beside the repo)")
    return _data(tmp_path_factory.mktemp("ego"), CLIPS)


@pytest.fixture(scope="module")
def hands_model(ego, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """An untrained `hands` model exported with parity on the clips of `ego`."""
    root = tmp_path_factory.mktemp("hands_model")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(
        [sys.executable, "-c", BUILD, str(root / "run")], check=True, capture_output=True, env=env
    )
    p = cli("export", root / "run", "--out", root / "export", "--data", ego, "--allow-outside-root")
    return root / "export" / "model.onnx", p


def test_export_checks_parity_on_keypoints_extracted_on_the_fly(hands_model):
    model, p = hands_model
    assert model.is_file()
    assert "parity inputs: 3 held-out clips" in p.stdout, p.stdout
    assert "top-1 agreement 100%" in p.stdout, p.stdout


def test_evaluate_extracts_on_the_fly_as_the_cache_holds_them(hands_model, ego, tmp_path):
    model, _ = hands_model
    cache = tmp_path / "hands"
    cli("keypoints", ego, "--kind", "hands", "--out", cache, "--allow-outside-root")
    outs = {}
    for name, extra in (("fly", ()), ("cache", ("--keypoints", cache))):
        outs[name] = tmp_path / name
        cli_no_tf("evaluate", model, ego, "--out", outs[name], "--allow-outside-root", *extra)
    fly, cached = _predictions(outs["fly"]), _predictions(outs["cache"])
    assert len(fly) == 3 and fly == cached  # same predicted labels and scores, clip by clip
    m = {k: json.loads((v / "metrics.json").read_text()) for k, v in outs.items()}
    assert m["fly"]["keypoints"].startswith("extracted on the fly (MediaPipe hands)")
    assert m["cache"]["keypoints"] == f"cache {cache}"
    assert m["fly"]["accuracy"] == m["cache"]["accuracy"] and m["fly"]["bad_clips"] == 0


def test_a_cache_of_another_kind_is_one_line(hands_model, tmp_path):
    model, _ = hands_model
    one = _data(tmp_path / "two", {k: CLIPS[k] for k in ("down", "left")})
    pose = tmp_path / "pose"
    cli("keypoints", one, "--kind", "pose", "--out", pose, "--allow-outside-root")
    for cmd in (("evaluate", model, one), ("compare", model, model, "--data", one)):
        p = cli_no_tf(*cmd, "--keypoints", pose, "--allow-outside-root", check=False)
        one_line_error(p, "holds pose keypoints", "reads hands", "--kind hands", alone=True)
    p = cli_no_tf("evaluate", model, one, "--keypoints", tmp_path / "nope", check=False)
    one_line_error(p, "keypoint cache", "not found", "edgeaction keypoints", alone=True)


def _check_events(events: list[dict], labels: tuple, frames: int) -> None:
    for e in events:
        assert e["label"] in labels and 0.0 <= e["score"] <= 1.0, e
        start, end = e["window"]
        assert end - start + 1 == frames and e["frame"] == end, e
        assert [x[0] for x in e["top_k"]] and e["top_k"][0][0] == e["label"], e
        assert e["model"] == "hands-test"


def test_run_classifies_a_real_clip(hands_model, tmp_path):
    from edgeaction.pipelines.runtime import RunOptions, Runtime

    model, _ = hands_model
    clip = EGO / "left" / "testvideo_left_10.mp4"  # 105 frames, a hand in every one
    ev = tmp_path / "ev.jsonl"
    m = Runtime(model, [str(clip)], events=ev, options=RunOptions(emit="every")).run()
    s = m["streams"][0]
    stride = m["stride"]
    assert s["state"] == "ended" and s["frames"] == 105 and s["dropped"] == 0
    assert s["windows"] == (105 - FRAMES) // stride + 1
    lat = m["latency_ms"]
    assert lat["keypoints"]["count"] == 105  # MediaPipe once per kept frame
    assert lat["features"]["count"] == m["batches"]  # hands-v1 once per runner call
    events = _events(ev)
    assert len(events) == s["windows"]
    _check_events(events, tuple(CLIPS), FRAMES)
    assert [e["window"][0] for e in events] == [k * stride for k in range(len(events))]


def test_run_without_any_hand_and_wide_frames(hands_model, tmp_path):
    """No hand in any frame still classifies; a display branch wider than 640 is scaled
    down for MediaPipe; two streams each get their own keypoint thread."""
    from edgeaction.pipelines.runtime import RunOptions, Runtime

    model, _ = hands_model
    sources = ["test://ball?frames=40&live=0&width=1280&height=720", "test://snow?frames=40&live=0"]
    ev = tmp_path / "ev.jsonl"
    rt = Runtime(model, sources, events=ev, out_video=tmp_path / "videos",
                 options=RunOptions(emit="every", display_width=960, stride=8))  # fmt: skip
    m = rt.run()
    for s in m["streams"]:
        assert s["state"] == "ended" and s["frames"] == 40 and s["windows"] == 4, s
        assert Path(s["video"]).is_file()
    assert m["latency_ms"]["keypoints"]["count"] == 80
    events = _events(ev)
    assert sorted({e["stream"] for e in events}) == [0, 1] and len(events) == 8
    _check_events(events, tuple(CLIPS), FRAMES)


def test_features_of_a_window_without_a_hand_are_finite():
    from edgeaction.contract import ModelContract
    from edgeaction.keypoints import RAW_DIMS, compute

    c = ModelContract(name="h", labels=("a", "b"), frames=FRAMES, height=1, width=1,
                      modality="hands")  # fmt: skip
    x = compute(c.keypoint_features, np.zeros((2, FRAMES, RAW_DIMS["hands"]), np.float32))
    assert x.shape == c.keypoint_shape(2) and np.isfinite(x).all()
