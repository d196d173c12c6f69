"""The multi-stream runtime: real GStreamer sources, a real ONNX Runtime model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.pipelines import EmitPolicy, LabelSmoother, RunOptions, Runtime
from edgeaction.video import VideoReader, probe_file
from tests.conftest import cli, one_line_error
from tests.rtsp import free_port, kill, rtsp_server_available, start_server


def _events(p: Path) -> list[dict]:
    return [json.loads(x) for x in p.read_text().splitlines()]


def _windows(n: int, t: int, stride: int) -> int:
    return 0 if n < t else (n - t) // stride + 1


# ---- smoothing and the emit policy -----------------------------------------------------------
def test_majority_smoother_needs_a_majority_to_change():
    s = LabelSmoother(3)
    a, b = np.array([0.9, 0.1]), np.array([0.2, 0.8])
    assert [s.update(p)[0] for p in (a, a, b, a, b, b, b)] == [0, 0, 0, 0, 1, 1, 1]
    k, score, mean = LabelSmoother(2).update(b)
    assert k == 1 and score == pytest.approx(0.8) and mean.shape == (2,)


def test_ema_smoother_and_passthrough():
    s = LabelSmoother(3, "ema")  # alpha 0.5
    s.update(np.array([1.0, 0.0]))
    k, score, p = s.update(np.array([0.0, 1.0]))
    assert p.tolist() == [0.5, 0.5] and score == 0.5
    assert LabelSmoother(1).update(np.array([0.3, 0.7]))[:2] == (1, pytest.approx(0.7))
    with pytest.raises(EdgeActionError, match="--smooth"):
        LabelSmoother(0)
    with pytest.raises(EdgeActionError, match="--smooth-mode"):
        LabelSmoother(2, "median")


def test_emit_policy():
    ch, ev = EmitPolicy("change"), EmitPolicy("every")
    labels = ["a", "a", "b", "b", "a"]
    assert [ch(x) for x in labels] == [True, False, True, False, True]
    assert all(ev(x) for x in labels)
    with pytest.raises(EdgeActionError, match="--emit"):
        EmitPolicy("sometimes")


def test_options_are_checked(tiny_onnx, synth_video):
    for bad, needle in (
        (RunOptions(max_batch=0), "--max-batch"),
        (RunOptions(batch_timeout_ms=-1), "--batch-timeout-ms"),
        (RunOptions(feature_cache="maybe"), "--feature-cache"),
        (RunOptions(duration_s=0), "--duration"),
    ):
        with pytest.raises(EdgeActionError, match=needle):
            Runtime(tiny_onnx, [str(synth_video)], options=bad)


# ---- many streams ----------------------------------------------------------------------------
def test_three_streams_batched_in_order(tmp_path, tiny_onnx, synth_video, real_clips):
    clip = real_clips / "ucf101_apply_eye_makeup.avi"
    sources = [str(synth_video), str(clip), "test://smpte?frames=40&live=0"]
    ev, met = tmp_path / "ev.jsonl", tmp_path / "m.json"
    rt = Runtime(
        tiny_onnx,
        sources,
        events=ev,
        metrics=met,
        options=RunOptions(stride=2, emit="every", max_batch=8),
    )
    m = rt.run()
    assert json.loads(met.read_text())["frames"] == m["frames"]
    by = {s["stream"]: s for s in m["streams"]}
    assert by[0]["frames"] == 48 and by[2]["frames"] == 40 and by[1]["frames"] >= 163
    events = _events(ev)
    for i, s in by.items():
        assert s["state"] == "ended" and s["dropped"] == 0 and s["error"] is None
        mine = [e for e in events if e["stream"] == i]
        assert s["windows"] == len(mine) == _windows(s["frames"], 4, 2)
        ends = [e["frame"] for e in mine]
        assert ends == list(range(3, s["frames"], 2))[: len(ends)]  # in order, none lost
        assert all(e["window"] == [e["frame"] - 3, e["frame"]] for e in mine)
    assert events[0]["model"] == "tiny" and len(events[0]["top_k"]) == 3
    # cross-stream batching: fewer runner calls than windows, never above max_batch
    assert m["batches"] < m["windows"] and 1 < m["mean_batch"] <= 8
    lat = m["latency_ms"]
    assert lat["infer"]["count"] == m["batches"] and lat["window"]["count"] == m["windows"]
    assert by[0]["decode_ms"]["count"] == 48 and m["peak_rss_mb"] > 0


def test_emit_change_and_smoothing_reduce_events(tmp_path, tiny_onnx, synth_video):
    every = Runtime(tiny_onnx, [str(synth_video)], events=tmp_path / "a.jsonl",
                    options=RunOptions(stride=1, emit="every")).run()  # fmt: skip
    change = Runtime(tiny_onnx, [str(synth_video)], events=tmp_path / "b.jsonl",
                     options=RunOptions(stride=1, emit="change", smooth=3)).run()  # fmt: skip
    a, b = _events(tmp_path / "a.jsonl"), _events(tmp_path / "b.jsonl")
    assert len(a) == every["windows"] == 45 and change["windows"] == 45
    assert 1 <= len(b) < len(a)
    assert all(x["label"] != y["label"] for x, y in zip(b, b[1:], strict=False))


def test_one_bad_stream_does_not_stop_the_others(tmp_path, tiny_onnx, synth_video):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    p = cli("run", tiny_onnx, "--source", bad, "--source", synth_video,
            "--events", tmp_path / "ev.jsonl", "--emit", "every", "-q")  # fmt: skip
    assert "Traceback" not in p.stderr
    err = [x for x in p.stderr.splitlines() if "bad.mp4" in x and "stream 0" in x]
    assert err and "not a video" in err[0], p.stderr
    events = _events(tmp_path / "ev.jsonl")
    assert {e["stream"] for e in events if "label" in e} == {1}
    assert any(e.get("event") == "error" and e["stream"] == 0 for e in events)


def test_no_stream_could_run_fails_and_leaves_nothing(tmp_path, tiny_onnx):
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    out = tmp_path / "out"
    out.mkdir()
    p = cli("run", tiny_onnx, "--source", bad, "--source", "v4l2:///dev/video97",
            "--events", out / "ev.jsonl", "--out-video", out, "-q", check=False)  # fmt: skip
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert list(out.iterdir()) == []


def test_single_bad_source_is_one_line(tmp_path, tiny_onnx):
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    p = cli("run", tiny_onnx, "--source", bad, "--events", tmp_path / "e.jsonl", check=False)
    one_line_error(p, "not a video")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["bad.mp4", "tiny.onnx"]


def test_unwritable_events_fail_before_decoding(tmp_path, tiny_onnx, synth_video):
    p = cli("run", tiny_onnx, "--source", synth_video, "--events", tmp_path, check=False)
    one_line_error(p, "is a directory")


def test_contract_mismatch_is_one_line(tmp_path, tiny_contract, synth_video):
    from tests.conftest import make_onnx

    m = make_onnx(tmp_path / "m.onnx", tiny_contract, frames=6)
    p = cli("run", m, "--source", synth_video, check=False)
    one_line_error(p, "m.onnx")


def test_videos_per_stream_and_metrics(tmp_path, tiny_onnx, synth_video):
    out = tmp_path / "vids"
    m = Runtime(tiny_onnx, [str(synth_video), "test://ball?frames=30&live=0"], events=None,
                out_video=out, options=RunOptions(display_width=320)).run()  # fmt: skip
    vids = sorted(out.glob("*.mp4"))
    assert [v.name for v in vids] == ["stream0-seq.mp4", "stream1-ball.mp4"]
    assert probe_file(vids[0])["size"][0] == 320
    assert len(list(VideoReader(vids[0], 32, 32))) == 48
    assert len(list(VideoReader(vids[1], 32, 32))) == 30
    assert [s["video"] for s in m["streams"]] == [str(v) for v in vids]
    assert not [x for x in out.iterdir() if x.name.startswith(".")]


def test_several_streams_run_onnx_runtime_one_thread_per_operator(tiny_split):
    """Several streams: one ONNX Runtime thread per operator (their decoders use the other
    cores); one stream keeps ONNX Runtime's default; `--ort-threads` says otherwise."""
    from edgeaction.pipelines.classifier import open_model

    two = ["test://ball?frames=8&live=0", "test://snow?frames=8&live=0"]
    assert Runtime(tiny_split, two[:1], events=None).ort_threads() is None
    assert Runtime(tiny_split, two, events=None).ort_threads() == 1
    given = RunOptions(ort_threads=2)
    assert Runtime(tiny_split, two, events=None, options=given).ort_threads() == 2
    assert Runtime(tiny_split, two, events=None).run()["ort_threads"] == 1
    _, split = open_model(tiny_split, "onnxruntime", None, None, "on", None, threads=1)
    with split:
        for part in (split.encoder, split.head_runner):
            assert part._sess.get_session_options().intra_op_num_threads == 1
    with pytest.raises(EdgeActionError, match="--ort-threads must be an integer >= 1"):
        RunOptions(ort_threads=0).check()


def test_live_stream_for_a_duration(tmp_path, tiny_onnx):
    m = Runtime(tiny_onnx, ["test://ball?fps=30", "test://snow?fps=30"], events=tmp_path / "e.jsonl",
                options=RunOptions(duration_s=2.0, emit="every")).run()  # fmt: skip
    assert m["stopped_by"] == "duration" and 1.9 < m["seconds"] < 4
    for s in m["streams"]:
        assert 30 <= s["frames"] <= 75 and s["windows"] >= 10
        assert s["decoded"] == s["frames"] + s["dropped"]


def test_sigint_flushes_events_and_finalises_the_video(tmp_path, tiny_onnx):
    ev, vid = tmp_path / "ev.jsonl", tmp_path / "ann.mp4"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    p = subprocess.Popen(
        [sys.executable, "-m", "edgeaction.cli", "run", str(tiny_onnx), "--source",
         "test://ball?fps=30", "--events", str(ev), "--out-video", str(vid), "--emit", "every",
         "-q"],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (ev.exists() and ev.stat().st_size > 3000):
            time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert "stopped by SIGINT" in err and "Traceback" not in err
    events = _events(ev)
    assert len(events) >= 12 and all("label" in e for e in events)
    n = len(list(VideoReader(vid, 32, 32)))
    assert n >= 20
    assert sorted(x.name for x in tmp_path.iterdir()) == ["ann.mp4", "ev.jsonl", "tiny.onnx"]


# ---- keypoint models (pose; hands: tests/keypoints/test_keypoints_runtime.py) ---------------
def _pose_onnx(path: Path, contract) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgeaction.contract import CONTRACT_KEY

    k = contract.keypoints * 4
    w = np.random.default_rng(0).normal(0, 1, (k, contract.num_classes)).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["pose"], ["m"], axes=[1], keepdims=0),
            helper.make_node("MatMul", ["m", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
        ],
        "pose",
        [helper.make_tensor_value_info("pose", TensorProto.FLOAT, ["N", contract.frames, k])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", contract.num_classes])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    m.metadata_props.add(key=CONTRACT_KEY, value=contract.to_json())
    onnx.save(m, str(path))
    return path


def test_pose_model_gets_landmarks_per_frame(tmp_path, real_clips):
    from edgeaction.contract import ModelContract

    c = ModelContract(
        name="posey", labels=("x", "y"), frames=6, height=32, width=32, modality="pose", stride=3
    )
    model = _pose_onnx(tmp_path / "pose.onnx", c)
    clip = real_clips / "ucf101_apply_eye_makeup.avi"
    m = Runtime(model, [str(clip)], events=tmp_path / "e.jsonl",
                options=RunOptions(emit="every")).run()  # fmt: skip
    s = m["streams"][0]
    assert s["windows"] == _windows(s["frames"], 6, 3) and s["windows"] > 10
    assert m["latency_ms"]["keypoints"]["count"] == s["frames"]
    assert m["latency_ms"]["features"]["count"] == m["batches"]
    assert {e["label"] for e in _events(tmp_path / "e.jsonl")} <= {"x", "y"}


# ---- per-frame feature cache -----------------------------------------------------------------
@pytest.mark.parametrize("stride", [1, 3])
def test_feature_cache_equals_whole_clip_inference(tmp_path, tiny_split, synth_video, stride):
    runs = {}
    for mode in ("on", "off"):
        ev = tmp_path / f"{mode}.jsonl"
        runs[mode] = Runtime(tiny_split, [str(synth_video), "test://smpte?frames=20&live=0"],
                             events=ev, options=RunOptions(stride=stride, emit="every",
                             feature_cache=mode, max_batch=4)).run()  # fmt: skip
        runs[mode]["events_list"] = _events(ev)
    on, off = runs["on"], runs["off"]
    assert on["feature_cache"] and not off["feature_cache"]
    assert on["windows"] == off["windows"] == _windows(48, 4, stride) + _windows(20, 4, stride)
    # each frame through the encoder once, instead of T times per window
    assert on["latency_ms"]["encode"]["count"] >= 1 and "infer" not in on["latency_ms"]
    key = lambda e: (e["stream"], e["frame"])  # noqa: E731
    a, b = sorted(on["events_list"], key=key), sorted(off["events_list"], key=key)
    assert [key(x) for x in a] == [key(x) for x in b]
    for x, y in zip(a, b, strict=True):
        assert x["label"] == y["label"] and x["window"] == y["window"]
        px, py = dict(x["top_k"]), dict(y["top_k"])
        assert all(abs(px[k] - py[k]) <= 1e-4 + 1e-4 for k in px)  # 1e-4 + rounding


def test_feature_cache_auto_only_when_windows_overlap(tmp_path, tiny_split, synth_video):
    run = lambda s: Runtime(tiny_split, [str(synth_video)], events=None,  # noqa: E731
                            options=RunOptions(stride=s)).run()  # fmt: skip
    assert run(2)["feature_cache"] and not run(4)["feature_cache"]


def test_feature_cache_on_needs_the_parts(tmp_path, tiny_onnx, synth_video):
    p = cli("run", tiny_onnx, "--source", synth_video, "--feature-cache", "on", check=False)
    one_line_error(p, "--split")


# ---- a lost RTSP camera while another stream runs --------------------------------------------
@pytest.mark.skipif(not rtsp_server_available(), reason="GstRtspServer or x264enc not installed")
def test_rtsp_outage_is_reported_and_other_streams_go_on(tmp_path, tiny_onnx):
    import threading

    port = free_port()
    server = start_server(port, tmp_path)
    ev, met = tmp_path / "ev.jsonl", tmp_path / "m.json"
    partial = ev  # appended live
    url = f"rtsp://admin:s3cret@127.0.0.1:{port}/cam"
    rt = Runtime(tiny_onnx, [url, "test://ball?fps=30"], events=ev, metrics=met,
                 options=RunOptions(emit="every"))  # fmt: skip
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(rt.run()))

    def wait_for(pred, timeout=40):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = partial.read_text().splitlines() if partial.exists() else []
            if pred([json.loads(x) for x in lines if x.endswith("}")]):
                return
            time.sleep(0.2)
        raise AssertionError("timed out waiting for the events")

    try:
        t.start()
        wait_for(lambda es: sum(e["stream"] == 0 and "label" in e for e in es) >= 3)
        kill(server)
        wait_for(lambda es: any(e.get("event") == "gap" for e in es))
        time.sleep(1.0)
        server = start_server(port, tmp_path)
        wait_for(lambda es: any(e.get("event") == "resumed" for e in es), timeout=60)
        resumed_at = len(partial.read_text().splitlines())
        wait_for(lambda es: sum(e["stream"] == 0 and "label" in e for e in es[resumed_at:]) >= 3)
    finally:
        rt.request_stop("test")
        t.join(30)
        kill(server)
    events = _events(ev)
    text = ev.read_text() + met.read_text()
    assert "s3cret" not in text and "admin:" not in text  # credentials never leave the URL
    gap = next(e for e in events if e.get("event") == "gap")
    resumed = next(e for e in events if e.get("event") == "resumed")
    assert gap["stream"] == resumed["stream"] == 0 and resumed["gap_s"] > 0
    s0, s1 = result["streams"]
    assert s0["reconnects"] >= 1 and s0["gap_s"] > 0 and s0["error"] is None
    # the test stream never paused: ~30 fps over the whole run, outage included
    assert s1["frames"] >= 0.8 * 30 * result["seconds"] and s1["dropped"] == 0
    ends = [e["frame"] for e in events if e["stream"] == 0 and "label" in e]
    assert ends == sorted(ends) and len(set(ends)) == len(ends)


def test_realtime_file_plays_at_its_own_rate(tmp_path, tiny_onnx, synth_video):
    m = Runtime(tiny_onnx, [f"{synth_video}?realtime=1"], events=None).run()
    s = m["streams"][0]  # 48 frames at 15 fps: about 3.2 s, not a fraction of a second
    assert s["frames"] + s["dropped"] == 48 and 2.5 < m["seconds"] < 8
    assert 12 < s["fps"] < 18


def _discover(path: Path) -> tuple[float, float]:
    """(duration in seconds, frame rate) of a video, as GStreamer's discoverer reads them."""
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstPbutils", "1.0")
    from gi.repository import Gst, GstPbutils

    Gst.init(None)
    info = GstPbutils.Discoverer.new(10 * Gst.SECOND).discover_uri(path.resolve().as_uri())
    video = info.get_video_streams()[0]
    return info.get_duration() / Gst.SECOND, video.get_framerate_num() / video.get_framerate_denom()


def test_annotated_video_keeps_the_source_frame_rate(tmp_path, tiny_onnx, synth_video):
    # synth_video: 48 frames at 15 fps (3.2 s); it used to come out at 25 fps (1.92 s).
    vid = tmp_path / "ann.mp4"
    cli("run", tiny_onnx, "--source", synth_video, "--out-video", vid, "-q")
    duration, fps = _discover(vid)
    assert fps == pytest.approx(15.0)
    assert duration == pytest.approx(48 / 15, abs=0.1)
    duration, fps = _discover(synth_video)
    assert fps == pytest.approx(15.0) and duration == pytest.approx(3.2, abs=0.1)
