"""build-engine without TensorRT: one line, exit 2; arguments are checked before that.

Building an engine needs TensorRT and a GPU (neither here); these tests cover what is
decided without them. The API names the builder uses are checked against the real
bindings in `test_trt_api_surface.py`.
"""

import pytest

from edgeaction.engine.sidecar import sidecar_path
from edgeaction.engine.trt_common import parse_batch, version_tuple
from edgeaction.errors import EdgeActionError
from tests.conftest import cli, trt_importable


def _error_line(p) -> str:
    assert "Traceback" not in p.stderr, p.stderr
    lines = [x for x in p.stderr.strip().splitlines() if ": error:" in x]
    assert len(lines) == 1, p.stderr
    return lines[0]


@pytest.mark.skipif(trt_importable(), reason="TensorRT is importable here")
def test_build_engine_without_tensorrt_exits_2_with_one_line(tiny_onnx):
    p = cli("build-engine", tiny_onnx, "--batch", "1:2:4", check=False)
    assert p.returncode == 2
    line = _error_line(p)
    assert "TensorRT's Python package is not installed" in line
    assert "--system-site-packages" in line and "--backend onnxruntime" in line
    assert not list(tiny_onnx.parent.glob("*.engine*"))


def test_bad_arguments_fail_before_tensorrt_is_needed(tiny_onnx, tmp_path):
    p = cli("build-engine", tiny_onnx, "--batch", "8:4:1", check=False)
    assert p.returncode == 1 and "1 <= MIN <= OPT <= MAX" in _error_line(p)
    p = cli("build-engine", tiny_onnx, "--gpu-fallback", check=False)
    assert p.returncode == 1 and "--dla-core" in _error_line(p)
    p = cli("build-engine", tmp_path / "nope.onnx", check=False)
    assert p.returncode == 1 and "model not found" in _error_line(p)
    p = cli("build-engine", tiny_onnx, "--layer-info", tmp_path, check=False)
    assert p.returncode == 1 and "layer info file" in _error_line(p) and "directory" in p.stderr
    p = cli("build-engine", tiny_onnx, "--opt-level", "7", check=False)
    assert p.returncode == 2 and "--opt-level" in p.stderr


def test_parse_batch():
    assert parse_batch("1:4:8") == (1, 4, 8)
    assert parse_batch("2") == (2, 2, 2)
    assert parse_batch((1, 1, 16)) == (1, 1, 16)
    for bad in ("0:1:2", "1:x:2", "1:2", "4:2:8", (1, 2)):
        with pytest.raises(EdgeActionError, match="--batch"):
            parse_batch(bad)


def test_version_tuple_and_sidecar_name(tmp_path):
    assert version_tuple("10.3.0.26") == (10, 3)
    assert version_tuple("11.4.0.106") == (11, 4)
    assert version_tuple("8.6.1.post1") == (8, 6)
    assert version_tuple("10") == (10, 0)
    assert sidecar_path(tmp_path / "m_b8_fp16_sm87.engine").name == "m_b8_fp16_sm87.engine.json"
