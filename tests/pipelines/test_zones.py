"""Zones (regions of interest) per stream: `run --roi STREAM:NAME=X,Y,W,H`.

Real GStreamer sources (`test://smpte`: colour bars, white at the left, blue at the right
of the top two thirds), a real ONNX Runtime model whose scores follow the mean colour, so
zones over different bars classify differently.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgeaction.options import roi
from edgeaction.pipelines import RunOptions, Runtime
from edgeaction.pipelines.zones import ZoneCrops
from tests.commands import usage_error
from tests.conftest import cli, one_line_error

BARS = "test://smpte?frames=40"  # 320x240
# square zones in the top bars: white (left) and blue (right)
LEFT, RIGHT = roi("0:left=0,20,40,40"), roi("0:right=276,20,40,40")


def _events(p: Path) -> list[dict]:
    return [json.loads(x) for x in p.read_text().splitlines()]


def _run(model, sources, zones, tmp_path, **kw) -> tuple[dict, list[dict]]:
    ev = tmp_path / "ev.jsonl"
    opts = RunOptions(**{"emit": "every", "stride": 4, **kw.pop("options", {})})
    rt = Runtime(model, sources, events=ev, options=opts, zones=zones, **kw)
    return rt.run(), _events(ev)


# ---- the runtime ---------------------------------------------------------------------------
def test_events_name_the_zone_and_both_zones_of_a_stream_classify(tiny_onnx, tmp_path):
    m, events = _run(tiny_onnx, [BARS, "test://ball?frames=40"], [LEFT, RIGHT], tmp_path)
    zoned = [e for e in events if e["stream"] == 0]
    whole = [e for e in events if e["stream"] == 1]
    by_zone = {z: [e for e in zoned if e["zone"] == z] for z in ("left", "right")}
    assert len(by_zone["left"]) == len(by_zone["right"]) == 10, zoned  # (40-4)/4+1 each
    assert len(zoned) == 20
    # white bar vs blue bar: the colour model tells them apart
    assert {e["label"] for e in by_zone["left"]} == {"a"}
    assert {e["label"] for e in by_zone["right"]} == {"b"}
    # a stream without --roi is one whole-frame zone, its events as before (no `zone`)
    assert len(whole) == 10 and all("zone" not in e for e in whole)
    row = m["streams"][0]
    assert row["windows"] == 20 and row["frames"] == 40
    assert row["zones"] == [
        {"zone": "left", "windows": 10, "label": "a"},
        {"zone": "right", "windows": 10, "label": "b"},
    ]
    assert "zones" not in m["streams"][1]


def test_the_batch_mixes_zones(tiny_onnx, tmp_path):
    m, _ = _run(tiny_onnx, [BARS], [LEFT, RIGHT], tmp_path)
    # both zones' windows are ready with the same frame and share every runner call
    assert m["max_batch_zones"] == 2 and m["mean_batch_zones"] == 2.0, m
    assert m["mean_batch"] >= 2.0 and m["windows"] == 20  # more when windows wait (load)


def test_zones_with_the_feature_cache(tiny_split, tmp_path):
    zones = [LEFT, RIGHT, roi("0:all=0,0,320,240")]
    m, events = _run(tiny_split, [BARS], zones, tmp_path, options={"feature_cache": "on"})
    assert m["feature_cache"] is True
    counts = {z: sum(e["zone"] == z for e in events) for z in ("left", "right", "all")}
    assert counts == {"left": 10, "right": 10, "all": 10}
    assert m["max_batch_zones"] == 3


def test_the_emit_policy_is_per_zone(tiny_onnx, tmp_path):
    # "change": one event per zone (their labels differ, and never change)
    _, events = _run(tiny_onnx, [BARS], [LEFT, RIGHT], tmp_path, options={"emit": "change"})
    assert [(e["zone"], e["label"]) for e in events] == [("left", "a"), ("right", "b")]


def test_the_annotated_video_draws_each_zone(tiny_onnx, tmp_path):
    import cv2

    vid = tmp_path / "ann.mp4"
    _run(tiny_onnx, [BARS], [LEFT, RIGHT], tmp_path, out_video=vid)
    cap = cv2.VideoCapture(str(vid))
    for _ in range(30):
        ok, bgr = cap.read()
    assert ok and bgr.shape == (480, 640, 3)  # the display branch: 640 wide
    x = 276 * 2  # the right zone's left edge, in display pixels, over the red bar
    edge, inside = bgr[80, x : x + 2].mean(0), bgr[80, x - 12]
    assert inside[1] < 60 and edge[1] > 150, (edge, inside)  # red bar vs the orange frame


def test_zone_crops_take_the_zone_and_scale_it_to_the_model_size():
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:, :80] = (255, 0, 0)
    frame[:, 80:] = (0, 0, 255)
    crops = ZoneCrops([roi("0:l=0,0,100,100"), roi("0:r=200,100,100,100")], 32, 16, "BGR")
    crops.fit(320, 240, 160, 120, "stream 0")  # display frame at half the source size
    out = crops(frame)
    assert out.shape == (2, 16, 32, 3)
    # square zones into 32x16: 16x16 in the middle, black borders left and right (as videoscale)
    assert (out[0, :, 8:24] == (0, 0, 255)).all() and (out[1, :, 8:24] == (255, 0, 0)).all()
    assert not out[:, :, :8].any() and not out[:, :, 24:].any()


# ---- frames the sub-sampling drops are not copied out ----------------------------------------
BALL_ZONES = [roi("0:a=0,0,200,200"), roi("0:b=120,40,200,200")]  # as benchmarks/zones.py


def _stream_frames(subsample: int) -> list:
    import queue

    from edgeaction.pipelines.sources import Stream, parse_source

    q: queue.Queue = queue.Queue()
    spec = parse_source("test://ball?live=0&frames=9")
    s = Stream(0, spec, q, 32, 32, zones=BALL_ZONES, subsample=subsample).start()
    frames = []
    while (m := q.get(timeout=30))[0] not in ("eos", "error"):
        if m[0] == "frame":
            s.release()
            frames.append(m[2])
    s.stop()
    assert m[0] == "eos", m
    return frames


def test_a_zoned_stream_copies_out_only_the_frames_the_windows_keep():
    """Every frame is still delivered (counted, numbered, its display frame kept); a frame
    the consumer's sub-sampling drops carries no zones (nothing copied), and the frames
    it keeps carry exactly the crops they carried before."""
    every, half = _stream_frames(1), _stream_frames(2)
    assert [f.index for f in half] == [f.index for f in every] == list(range(9))
    assert [f.pts for f in half] == [f.pts for f in every]
    assert all(f.zones is None and f.image is None for f in half[1::2])
    for f, g in zip(half[0::2], every[0::2], strict=True):
        assert f.zones.shape == (2, 32, 32, 3) and (f.zones == g.zones).all()


def _dir(p: Path) -> Path:
    p.mkdir()
    return p


def test_events_are_the_same_when_dropped_frames_are_not_copied(tiny_split, tmp_path, monkeypatch):
    from edgeaction.pipelines.sources import Stream

    opts = {"feature_cache": "on", "subsample": 2, "stride": 2}
    src = ["test://ball?live=0&frames=40", "test://smpte?live=0&frames=40"]
    zones = [*BALL_ZONES, roi("1:left=0,20,40,40")]
    _, skipped = _run(tiny_split, src, zones, _dir(tmp_path / "a"), options=opts)
    init = Stream.__init__
    monkeypatch.setattr(
        Stream, "__init__", lambda self, *a, **kw: init(self, *a, **{**kw, "subsample": 1})
    )
    _, copied = _run(tiny_split, src, zones, _dir(tmp_path / "b"), options=opts)
    assert len(skipped) == 3 * 9  # (20 kept - 4) / 2 + 1 windows per zone

    def same(events):  # all but the run's id
        key = lambda e: (e["stream"], e["zone"], e["window"])  # noqa: E731
        return [{k: v for k, v in e.items() if k != "id"} for e in sorted(events, key=key)]

    assert same(skipped) == same(copied)


# ---- validation: one line, non-zero exit -------------------------------------------------
@pytest.mark.parametrize(
    "value, needles",
    [
        ("0:court", ["--roi", "STREAM:NAME=X,Y,W,H"]),
        ("0:co urt=1,2,3,4", ["--roi", "STREAM:NAME=X,Y,W,H"]),
        ("0:court=1,2,0,4", ["--roi", "W,H must be >= 1"]),
        ("0:court=1,2,3,-4", ["--roi", "W,H must be >= 1"]),
        ("0:court=1.5,2,3,4", ["--roi", "X must be a whole number"]),
    ],
)
def test_bad_roi_syntax_is_argparse_one_line(tmp_path, tiny_onnx, value, needles):
    p = cli("run", tiny_onnx, "--source", BARS, "--roi", value, check=False)
    usage_error(p, *needles)


@pytest.mark.parametrize(
    "rois, needles",
    [
        (["2:door=0,0,10,10"], ["--roi 2:door", "no stream 2", "0 to 1"]),
        (["0:a=0,0,10,10", "0:a=5,5,10,10"], ["--roi 0:a", "given twice for stream 0"]),
    ],
)
def test_unknown_stream_and_duplicate_names_fail_one_line(tmp_path, tiny_onnx, rois, needles):
    args = [x for r in rois for x in ("--roi", r)]
    ev = tmp_path / "ev.jsonl"
    p = cli(
        "run", tiny_onnx, "--source", BARS, "--source", BARS, *args, "--events", ev, check=False
    )
    one_line_error(p, *needles)
    assert not ev.exists()


def test_a_zone_outside_the_frame_fails_one_line_naming_stream_and_zone(tmp_path, tiny_onnx):
    ev = tmp_path / "ev.jsonl"
    p = cli(
        "run", tiny_onnx, "--source", BARS, "--roi", "0:court=120,80,640,400", "--events", ev,
        check=False,
    )  # fmt: skip
    one_line_error(p, "stream 0", "'court'", "320x240")
    assert not ev.exists()


# ---- jetson deepstream: the same zones in nvdspreprocess' roi-params-src-N ----------------
def test_deepstream_writes_the_zones_into_roi_params(tmp_path, tiny_onnx):
    from edgeaction._lazy import gst

    gst()
    from gi.repository import GLib

    out = tmp_path / "ds"
    cli(
        "jetson", "deepstream", tiny_onnx, "--out", out, "--streams", 3,
        "--roi", "0:court=120,80,640,400", "--roi", "0:bench=0,0,200,200",
        "--roi", "2:door=10,20,30,40",
    )  # fmt: skip
    kf = GLib.KeyFile.new()
    text = (out / "config_preprocess.txt").read_text()
    kf.load_from_data(text, len(text.encode()), GLib.KeyFileFlags.NONE)
    groups = kf.get_groups()[0]
    assert groups == ["property", "user-configs", "group-0", "group-1"], groups
    # stream 1 has no zones: processed whole, as before
    assert kf.get_string("group-0", "src-ids") == "1"
    assert kf.get_integer("group-0", "process-on-roi") == 0
    assert kf.get_string("group-1", "src-ids") == "0;2"
    assert kf.get_integer("group-1", "process-on-roi") == 1
    assert kf.get_integer_list("group-1", "roi-params-src-0") == [120, 80, 640, 400, 0, 0, 200, 200]
    assert kf.get_integer_list("group-1", "roi-params-src-2") == [10, 20, 30, 40]
    assert "roi-params-src-1" not in kf.get_keys("group-1")[0]
    # one sequence per zone or whole stream: the batch holds them all (2 + 1 + 1)
    assert kf.get_string("property", "network-input-shape").startswith("4;")
    infer = (out / "config_infer.txt").read_text()
    assert "\nbatch-size=4\n" in infer


def test_deepstream_roi_errors_are_one_line(tmp_path, tiny_onnx):
    base = ("jetson", "deepstream", tiny_onnx, "--out", tmp_path / "ds")
    one_line_error(cli(*base, "--roi", "1:door=0,0,5,5", check=False), "no stream 1")
    usage_error(cli(*base, "--roi", "0:door=0,0,0,5", check=False), "--roi", "W,H")
    assert not (tmp_path / "ds").exists()


def test_keypoint_models_refuse_zones_in_one_line(tmp_path):
    from edgeaction.contract import ModelContract
    from tests.pipelines.test_runtime import _pose_onnx

    c = ModelContract(
        name="posey", labels=("x", "y"), frames=6, height=32, width=32, modality="pose"
    )
    model = _pose_onnx(tmp_path / "pose.onnx", c)
    ev = tmp_path / "ev.jsonl"
    p = cli("run", model, "--source", BARS, "--roi", "0:a=0,0,40,40", "--events", ev, check=False)
    one_line_error(p, "--roi is not supported for keypoint models", "pose")
    assert not ev.exists()
