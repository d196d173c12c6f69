"""`edgeaction bench` and `edgeaction.engine.bench`: trtexec-style timing of a runner."""

import json

import numpy as np
import pytest

from edgeaction.engine import open_runner
from edgeaction.engine.bench import (
    benchmark,
    format_summary,
    parse_batches,
    parse_percentiles,
    summarize,
)
from edgeaction.errors import EdgeActionError
from tests.conftest import cli, cli_no_tf
from tests.conftest import one_line_error as _one_line_error

FAST = ("--duration-s", "0.2", "--warmup-ms", "20")


def _check_stats(s, percentiles=("90", "95", "99")):
    assert s["min"] <= s["median"] <= s["max"]
    assert s["min"] <= s["mean"] <= s["max"]
    vals = [s["percentiles"][p] for p in percentiles]
    assert vals == sorted(vals)
    assert s["min"] <= vals[0] and vals[-1] <= s["max"]


def test_bench_json_fields_and_numbers(tmp_path, tiny_onnx):
    out = tmp_path / "b.json"
    p = cli("bench", tiny_onnx, "--batch", "1,4,8", "--iterations", "30", *FAST, "--json", out)
    r = json.loads(out.read_text())
    assert [b["batch"] for b in r["batches"]] == [1, 4, 8]
    assert r["backend"] == "onnxruntime" and r["provider"] == "CPUExecutionProvider"
    assert r["contract"] == {
        "name": "tiny",
        "frames": 4,
        "height": 32,
        "width": 32,
        "layout": "NTHWC",
        "dtype": "float32",
        "modality": "rgb",
    }
    m = r["machine"]
    assert m["cores"] >= 1 and m["python"] and m["numpy"] and m["onnxruntime"]
    assert "gpu" in m and "jetson_power_mode" in m
    assert r["platform"]["kind"] in ("cpu", "dgpu", "jetson") and r["platform"]["name"]
    assert r["settings"]["iterations"] == 30 and r["settings"]["duration_s"] == 0.2
    for b in r["batches"]:
        assert b["runs"] >= 30 and b["seconds"] >= 0.2
        t = b["throughput"]
        assert t["qps"] > 0
        assert t["clips_per_s"] == pytest.approx(t["qps"] * b["batch"])
        assert t["frames_per_s"] == pytest.approx(t["clips_per_s"] * 4)
        _check_stats(b["latency_ms"])
        assert b["stages_ms"] == {}
    assert r["skipped"] == [] and r["end_to_end"] is None
    for n in (1, 4, 8):
        assert f"=== Performance summary (batch {n}) ===" in p.stdout
    assert "Throughput:" in p.stdout and "percentile(99%)" in p.stdout


def test_iterations_beat_duration(tiny_onnx):
    r = benchmark(tiny_onnx, batches="2", warmup_ms=0, duration_s=0, iterations=25)
    (b,) = r["batches"]
    assert b["batch"] == 2 and b["runs"] >= 25


class _StagedRunner:
    """Wraps a runner: a smaller max batch and TensorRT-like stage timings."""

    def __init__(self, inner):
        self._inner = inner
        self.contract = inner.contract
        self.name = "fake-trt"
        self.max_batch = 4
        self.last_timings = None

    def __enter__(self):
        self._inner.activate()
        return self

    def __exit__(self, *exc):
        self._inner.deactivate()

    def infer(self, feed, check_inputs=True):
        out = self._inner.infer(feed, check_inputs)
        self.last_timings = {
            "enqueue_ms": 0.02,
            "h2d_ms": 0.1,
            "compute_ms": 0.5,
            "d2h_ms": 0.05,
            "other": 1.0,
        }
        return out


def test_stage_timings_and_max_batch(tiny_onnx):
    runner = _StagedRunner(open_runner(tiny_onnx))
    r = benchmark(
        tiny_onnx, batches=[1, 4, 8], warmup_ms=5, duration_s=0.05, iterations=5, runner=runner
    )
    assert [b["batch"] for b in r["batches"]] == [1, 4]
    assert r["skipped"][0]["batch"] == 8 and "maximum batch 4" in r["skipped"][0]["reason"]
    st = r["batches"][0]["stages_ms"]
    assert set(st) == {"enqueue_ms", "h2d_ms", "compute_ms", "d2h_ms", "other"}
    assert st["compute_ms"]["median"] == pytest.approx(0.5)
    text = format_summary(r)
    assert "GPU Compute Time: min = 0.5000 ms" in text and "H2D Latency: min = 0.1000" in text
    assert "other: min = 1.0000 ms" in text and "batch 8: skipped" in text
    assert "Enqueue Time: min = 0.0200 ms" in text


def test_parsers_and_summarize():
    assert parse_batches("1, 4,8,4") == [1, 4, 8]
    assert parse_percentiles("99,90") == [90.0, 99.0]
    for bad in ("", ",", "0", "-1", "1,x", "2.5", "1,,2"):
        with pytest.raises(EdgeActionError, match="--batch"):
            parse_batches(bad)
    for bad in ("0", "101", "a"):
        with pytest.raises(EdgeActionError, match="--percentiles"):
            parse_percentiles(bad)
    s = summarize(np.arange(1, 101), [50, 90, 99, 100])
    assert s["percentiles"] == {"50": 50.0, "90": 90.0, "99": 99.0, "100": 100.0}
    assert s["min"] == 1 and s["max"] == 100 and s["median"] == 50.5


@pytest.mark.parametrize(
    "batch, needle",
    [("1,x", "--batch"), ("0", ">= 1"), ("4,-2", ">= 1"), (",", "at least one")],
)
def test_bad_batch_is_one_line(tiny_onnx, batch, needle):
    _one_line_error(cli("bench", tiny_onnx, "--batch", batch, *FAST, check=False), needle)


def test_bad_percentiles_and_missing_model(tmp_path, tiny_onnx):
    _one_line_error(
        cli("bench", tiny_onnx, "--percentiles", "90,200", check=False), "--percentiles"
    )
    _one_line_error(cli("bench", tmp_path / "nope.onnx", check=False), "not found")


def test_plot_png(tmp_path, tiny_onnx):
    from PIL import Image

    png = tmp_path / "b.png"
    cli("bench", tiny_onnx, "--batch", "1,2,4", *FAST, "--plot", png)
    with Image.open(png) as im:
        assert im.format == "PNG" and im.width > 400 and im.height > 200
        a = np.asarray(im.convert("L"))
    assert a.std() > 5 and (a < 128).mean() > 0.005  # drawn on, not blank
    assert not list(tmp_path.glob(".*partial*"))


def test_end_to_end_real_clip(tmp_path, tiny_onnx, real_clips):
    clip = real_clips / "gesture_open_hand.mp4"
    out = tmp_path / "e.json"
    p = cli("bench", tiny_onnx, *FAST, "--iterations", "3", "--end-to-end", clip, "--json", out)
    e = json.loads(out.read_text())["end_to_end"]
    assert e["clip"] == str(clip) and e["runs"] >= 3 and e["frames_decoded"] == 4
    for k in ("decode", "preprocess", "infer", "total"):
        _check_stats(e["stages_ms"][k])
    st = e["stages_ms"]
    assert st["total"]["min"] >= st["decode"]["min"] and e["clips_per_s"] > 0
    assert "=== End to end (batch 1, gesture_open_hand.mp4) ===" in p.stdout


def test_bench_imports_no_tensorflow(tmp_path, tiny_onnx):
    cli_no_tf(
        "bench", tiny_onnx, "--batch", "1,2", "--duration-s", "0.05", "--warmup-ms", "5",
        "--json", tmp_path / "b.json", "--plot", tmp_path / "b.png",
    )  # fmt: skip
