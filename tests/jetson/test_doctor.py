"""`edgeaction doctor` on this machine (CPU only) and on fake Jetson roots (tests/jetson/fixtures)."""

from __future__ import annotations

import json
import shutil

import pytest

from edgeaction import machine as ep
from tests.conftest import cli, cli_no_tf
from tests.jetson.test_power import FIXTURES, ORIN, FakeTools

XAVIER = FIXTURES / "xavier_r35_5"
MALFORMED = FIXTURES / "malformed"


def _doctor(*args, env=None) -> dict:
    return json.loads(cli("doctor", "--json", *args, env=env).stdout)


@pytest.fixture(scope="module")
def here() -> dict:
    if ep.is_jetson() or shutil.which("nvidia-smi"):
        pytest.skip("this test describes a machine with no Jetson and no NVIDIA GPU")
    return _doctor()


def test_json_on_this_machine(here):
    from edgeaction._lazy import gst

    Gst, _ = gst()
    p = here["platform"]
    assert p["kind"] == "cpu" and p["jetson"] is None and p["gpu"] is None and p["power"] is None
    assert here["versions"]["gstreamer"] in Gst.version_string()
    assert here["gstreamer"]["version_string"] == Gst.version_string()
    el = here["gstreamer"]["elements"]
    assert el["x264enc"]["present"] and el["x264enc"]["install"] is None
    assert el["appsink"]["present"] and el["decodebin"]["present"]
    assert not el["nvinfer"]["present"] and "DeepStream" in el["nvinfer"]["install"]
    b = here["backends"]
    assert b["onnxruntime"]["ready"] and "CPUExecutionProvider" in b["onnxruntime"]["providers"]
    assert b["onnxruntime"]["label"].startswith("onnxruntime (CPU")
    assert not b["tensorrt"]["ready"]
    assert b["tensorrt"]["reason"].startswith("import tensorrt failed:")
    assert b["tensorrt"]["install"]
    assert "onnxruntime (CPU)" in here["ready"]
    assert here["summary"].startswith("ready: onnxruntime (CPU)")
    assert "not ready: tensorrt (import tensorrt failed" in here["summary"]
    assert here["versions"]["python"] and here["versions"]["numpy"]
    assert set(here["extras"]) == {"runtime", "train", "pose", "cuda"}
    for x in here["extras"].values():
        assert (x["install"] is None) == x["installed"]


def test_human_report(here):
    p = cli("doctor")
    assert p.returncode == 0 and p.stderr == ""
    lines = p.stdout.splitlines()
    assert any(ln.split()[:3] == ["ok", "cpu", "CPU"] for ln in lines)
    assert any(ln.split()[:2] == ["ok", "x264enc"] for ln in lines)
    i = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["missing", "nvinfer"])
    assert "fix:" in lines[i + 1] and "DeepStream" in lines[i + 1]
    assert any(ln.split()[:2] == ["missing", "tensorrt"] for ln in lines)
    assert lines[-1] == here["summary"]
    # the table is aligned: every row's name column starts at the same place
    rows = [ln for ln in lines if ln.startswith("  ok ") or ln.startswith("  missing ")]
    assert len({ln.index(ln.split()[1]) for ln in rows}) == 1


def test_doctor_imports_no_tensorflow():
    p = cli_no_tf("doctor", "--json")
    r = json.loads(p.stdout)
    assert r["extras"]["train"]["packages"]["tensorflow"] is None  # blocked, so reported missing
    assert "tensorflow" in r["extras"]["train"]["missing"]
    assert "train" in r["extras"]["train"]["install"]


def test_fake_orin_r36_4(tmp_path):
    t = FakeTools(tmp_path, clocks="on")
    r = _doctor("--root", ORIN, env=t.env)
    p = r["platform"]
    assert p["kind"] == "jetson"
    j = p["jetson"]
    assert j["model"] == "NVIDIA Jetson AGX Orin Developer Kit"  # trailing NUL dropped
    assert (j["l4t"], j["jetpack"], j["board"], j["error"]) == ("36.4.0", "6.1", "generic", None)
    assert p["power"] == {"mode": "MAXN", "id": 0, "clocks": "on"}
    v = r["versions"]
    assert (v["cuda"], v["cudnn"], v["deepstream"]) == ("12.6.68", "9.3.0.75", "7.1")
    assert v["tensorrt"] == "10.3.0.30"  # from the libnvinfer10 package: no bindings here
    trt = r["backends"]["tensorrt"]
    assert not trt["ready"] and "nvidia-jetpack" in trt["install"]
    assert "--system-site-packages" in trt["install"]
    nv = r["gstreamer"]["elements"]["nvv4l2decoder"]
    if not nv["present"]:
        assert nv["install"] == "sudo apt install nvidia-l4t-gstreamer"
    if not r["gstreamer"]["elements"]["nvinfer"]["present"]:
        assert "deepstream-7.1" in r["gstreamer"]["elements"]["nvinfer"]["install"]
    text = cli("doctor", "--root", ORIN, env=t.env).stdout
    assert "NVIDIA Jetson AGX Orin Developer Kit, L4T 36.4.0, JetPack 6.1" in text
    assert "MAXN (id 0), clocks on" in text


def test_fake_xavier_r35_5():
    r = _doctor("--root", XAVIER)
    j = r["platform"]["jetson"]
    assert j["model"] == "NVIDIA Jetson Xavier NX Developer Kit"
    assert (j["l4t"], j["jetpack"], j["board"]) == ("35.5.0", "5.1.3", "t186ref")
    assert r["versions"]["deepstream"] is None


def test_malformed_release_is_unknown():
    r = _doctor("--root", MALFORMED)
    j = r["platform"]["jetson"]
    assert (
        r["platform"]["kind"] == "jetson" and j["model"] == "NVIDIA Jetson Orin Nano Developer Kit"
    )
    assert j["l4t"] is None and j["jetpack"] is None and "unrecognised" in j["error"]
    text = cli("doctor", "--root", MALFORMED).stdout
    assert "L4T unknown, JetPack unknown" in text and "unknown  L4T" in text


def test_fake_dgpu(tmp_path):
    if ep.is_jetson():
        pytest.skip("on a Jetson the Jetson wins")
    b = tmp_path / "bin"
    b.mkdir()
    smi = b / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB'\n")
    smi.chmod(0o755)
    import os

    r = _doctor("--root", tmp_path, env={"PATH": f"{b}{os.pathsep}{os.environ['PATH']}"})
    p = r["platform"]
    assert p["kind"] == "dgpu" and p["gpu"]["name"] == "NVIDIA H100 80GB HBM3"
    assert p["summary"] == "NVIDIA H100 80GB HBM3 (driver 550.54.15, 81559 MiB)"
    assert "tensorrt-cu12" in r["backends"]["tensorrt"]["install"]


@pytest.mark.parametrize(
    "l4t, jp",
    [("36.3.0", "6.0"), ("36.4.0", "6.1"), ("36.4.3", "6.2"), ("36.4.4", "6.2.1"),
     ("35.5.0", "5.1.3"), ("35.4.1", "5.1.2"), ("35.9.9", "5.1.x"), ("36.4", "6.1"),
     (None, None), ("99.0.0", None)],
)  # fmt: skip
def test_jetpack_mapping(l4t, jp):
    assert ep.jetpack_for(l4t) == jp


def test_probes_never_raise(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "nv_tegra_release").write_bytes(b"\xff\xfe# R3x (release)\x00")
    assert ep.is_jetson(tmp_path) and ep.l4t_release(tmp_path) is None
    assert ep.jetson_model(tmp_path) is None
    for f in (ep.cuda_version, ep.cudnn_version, ep.deepstream_version):
        f(tmp_path / "nowhere")
    assert ep.dpkg_versions(["libnvinfer10"], tmp_path) == {}
    assert ep.run_tool([str(tmp_path / "no-such-tool")]) is None
    assert ep.gst_elements(["no_such_element_xyz"]) == {"no_such_element_xyz": False}


def test_pycuda_counts_as_the_cuda_binding(tmp_path, monkeypatch):
    """The TensorRT runner takes pycuda where cuda-python is absent (engine/cuda_mem.py)."""
    from edgeaction.jetson.doctor import diagnose
    from edgeaction.machine import has_module

    if has_module("cuda"):
        pytest.skip("cuda-python is installed here")
    (tmp_path / "pycuda").mkdir()
    (tmp_path / "pycuda" / "__init__.py").write_text("")  # found, never imported
    cuda = diagnose()["extras"]["cuda"]
    assert not cuda["installed"] and "pycuda" in cuda["install"]
    monkeypatch.syspath_prepend(str(tmp_path))
    cuda = diagnose()["extras"]["cuda"]
    assert cuda["installed"] and cuda["packages"] == {"pycuda": "installed"}
