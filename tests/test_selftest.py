"""`edgeaction selftest`: its comparisons on real runners here, the whole suite on a GPU."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeaction.contract import ModelContract
from edgeaction.engine.ort import OrtRunner
from edgeaction.engine.probe import make_probe_export
from edgeaction.selftest import TOLERANCE, _agreement, format_table, gpu_present, run_selftest
from tests.conftest import cli, one_line_error, trt_importable

PROBE = ModelContract(name="probe", labels=("a", "b", "c"), frames=8, height=64, width=64)


def test_without_a_gpu_it_is_one_line_and_writes_nothing(tmp_path):
    if gpu_present() is None:
        pytest.skip("this machine may have an NVIDIA GPU")
    p = cli("selftest", "--work", tmp_path / "w", "--json", tmp_path / "st.json", check=False)
    one_line_error(p, "no NVIDIA GPU here", "Jetson or an NVIDIA GPU machine")
    assert p.returncode == 1 and not (tmp_path / "w").exists()
    assert not (tmp_path / "st.json").exists()


def test_the_probe_model_is_one_model_in_parts(tmp_path):
    """The model selftest builds engines from: the whole graph equals head(encoder)."""
    d = make_probe_export(tmp_path / "probe", PROBE)
    rng = np.random.default_rng(1)
    x = rng.random((3, 8, 64, 64, 3), dtype=np.float32)
    with OrtRunner(d / "model.onnx") as whole, OrtRunner(d / "encoder.onnx") as enc:
        with OrtRunner(d / "head.onnx") as head:
            p = whole.infer({"frames": x})["probs"]
            f = enc.infer({"frame": x.reshape(-1, 64, 64, 3)})["features"].reshape(3, 8, -1)
            q = head.infer({"features": f})["probs"]
    np.testing.assert_allclose(p, q, atol=1e-5)
    assert p.shape == (3, 3)


def test_agreement_passes_a_same_model_and_fails_another(tmp_path):
    """The parity check on two real ONNX Runtime runners: the same graph passes with
    diff 0; a model with other weights fails on top-1 (what a broken engine would do)."""
    a = make_probe_export(tmp_path / "a", PROBE, seed=0) / "model.onnx"
    b = make_probe_export(tmp_path / "b", PROBE, seed=5) / "model.onnx"
    with OrtRunner(a) as ra, OrtRunner(a) as ra2, OrtRunner(b) as rb:
        same = _agreement(ra, ra2, "fp32")
        other = _agreement(ra, rb, "fp16")
    assert same[0] == "pass" and same[2]["max_abs_diff"] == 0.0, same
    assert other[0] == "fail" and other[2]["top1_agreement"] < TOLERANCE["fp16"][1], other
    table = format_table(
        {"checks": [{"check": "parity fp16", "status": other[0], "detail": other[1]}],
         "passed": False}
    )  # fmt: skip
    assert "parity fp16  FAIL" in table and table.endswith("selftest: FAILED (1 checks)")


@pytest.mark.gpu
def test_the_whole_suite_passes_on_this_gpu(tmp_path):
    if not trt_importable():
        pytest.skip("TensorRT is not installed here")
    report = run_selftest(work=tmp_path / "w", log=print)
    print(json.dumps(report, indent=2, default=str))
    failed = [r for r in report["checks"] if r["status"] == "fail"]
    assert report["passed"] and not failed, failed


def test_on_a_machine_without_tensorrt_every_check_reports_and_none_crashes(tmp_path):
    """The suite itself (what `run_selftest` runs after its GPU probe) on this machine:
    the model is made, and every check that needs CUDA or TensorRT is a FAIL row with a
    one-line reason; the Jetson-only check is a SKIP. Nothing raises."""
    from edgeaction.selftest import CHECKS, _run

    lines = []
    report = _run(tmp_path / "w", None, lines.append)
    rows = {r["check"]: r for r in report["checks"]}
    assert list(rows) == list(CHECKS) and len(lines) == len(CHECKS)
    assert rows["model"]["status"] == "pass"
    assert (tmp_path / "w" / "probe" / "encoder.onnx").is_file()
    if not trt_importable():
        assert rows["tensorrt"]["status"] == "fail" and "TensorRT" in rows["tensorrt"]["detail"]
        assert rows["engine fp16"]["detail"] == "TensorRT did not import (see the tensorrt check)"
        assert not report["passed"]
    assert rows["nvmm decode"]["status"] == "skip"
    assert all("\n" not in r["detail"] for r in rows.values())
