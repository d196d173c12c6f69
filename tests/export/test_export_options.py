"""`edgeaction export --data/--fp16/--split`: held-out parity, float16 model, encoder/head."""

import json
import subprocess
import sys

import numpy as np
import pytest

from edgeaction.contract import CONTRACT_KEY, ModelContract, contract_from_onnx
from tests.conftest import cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported_all(trained_run, synth_data, tmp_path_factory):
    """The edge-tiny GRU run exported with every option: --data, --fp16, --split."""
    out = tmp_path_factory.mktemp("export_all")
    p = cli("export", trained_run, "--out", out, "--data", synth_data, "--fp16", "--split")
    return out, p


def _onnx(path):
    import onnx

    return onnx.load(str(path))


def _ort(path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _report(d):
    return json.loads((d / "export_report.json").read_text())


def test_parity_runs_on_seeded_inputs_without_data(exported):
    rep = _report(exported)
    assert rep["parity_source"] == "seeded random inputs" and rep["parity_clips"] == 4
    assert sorted(rep["bytes"]) == ["model.onnx"]
    assert not (exported / "model_fp16.onnx").exists() and not (exported / "head.onnx").exists()


def test_parity_runs_on_held_out_clips_of_data(exported_all, synth_data):
    from edgeaction.datasets import discover

    out, p = exported_all
    rep = _report(out)
    n_test = len(discover(synth_data).split("test"))
    assert rep["parity_source"] == f"held-out clips from {synth_data} (test)"
    assert rep["parity_clips"] == n_test > 0
    assert rep["max_abs_diff"] < 1e-4 and rep["top1_agreement"] == 1.0
    steps = [line.split(":")[0] for line in p.stdout.splitlines()]
    for step in ("parity inputs", "convert", "parity", "fp16", "split"):
        assert steps.count(step) == 1, p.stdout


def test_fp16_model_is_float16_inside_float32_outside(exported_all, trained_run):
    from onnx import TensorProto

    out, _ = exported_all
    m = _onnx(out / "model_fp16.onnx")
    for v in [*m.graph.input, *m.graph.output]:
        assert v.type.tensor_type.elem_type == TensorProto.FLOAT, v.name
    floats = [t for t in m.graph.initializer if t.data_type in (TensorProto.FLOAT16, 1)]
    half = [t for t in floats if t.data_type == TensorProto.FLOAT16]
    assert half and len(half) >= 0.9 * len(floats)
    conv = {n.input[1] for n in m.graph.node if n.op_type == "Conv"}
    assert conv and all(
        t.data_type == TensorProto.FLOAT16 for t in m.graph.initializer if t.name in conv
    )
    c = contract_from_onnx(out / "model_fp16.onnx")
    assert c == ModelContract.load(trained_run) and c.dtype == "float32"
    assert c.producer["onnx_fp16"].startswith("onnxruntime.transformers.float16")
    rep = _report(out)
    assert rep["fp16_top1_agreement"] >= 0.98 and 0 <= rep["fp16_max_abs_diff"] < 0.05
    assert "Softmax" in rep["fp16_kept_float32"]
    assert rep["fp16_flip_margin"] is None or rep["fp16_top1_agreement"] < 1
    assert rep["fp16_cpu_float32_ops"] is None or isinstance(rep["fp16_cpu_float32_ops"], list)
    assert rep["bytes"]["model_fp16.onnx"] < 0.65 * rep["bytes"]["model.onnx"]
    x = np.random.default_rng(3).uniform(-1, 1, (3, 4, 32, 32, 3)).astype(np.float32)
    p16 = _ort(out / "model_fp16.onnx").run(None, {"frames": x})[0]
    p32 = _ort(out / "model.onnx").run(None, {"frames": x})[0]
    assert p16.dtype == np.float32 and np.allclose(p16.sum(1), 1, atol=1e-3)
    assert np.abs(p16 - p32).max() < 0.05


def test_split_head_of_encoder_equals_the_whole_model(exported_all, trained_run):
    out, _ = exported_all
    contract = ModelContract.load(trained_run)
    enc, head, whole = _ort(out / "encoder.onnx"), _ort(out / "head.onnx"), _ort(out / "model.onnx")
    (ei,), (hi,) = enc.get_inputs(), head.get_inputs()
    assert ei.name == "frame" and ei.shape[1:] == [32, 32, 3] and not isinstance(ei.shape[0], int)
    assert enc.get_outputs()[0].name == "features"
    f = enc.get_outputs()[0].shape[-1]
    assert hi.name == "features" and hi.shape[1:] == [4, f]
    assert head.get_outputs()[0].name == contract.output_name
    for part, sess in (("encoder", enc), ("head", head)):
        meta = json.loads(sess.get_modelmeta().custom_metadata_map["edgeaction.split"])
        assert meta["part"] == part and meta["features"] == f
        assert ModelContract.from_dict(meta["contract"]) == contract
        assert CONTRACT_KEY not in sess.get_modelmeta().custom_metadata_map
    x = np.random.default_rng(5).uniform(-1, 1, (6, 4, 32, 32, 3)).astype(np.float32)
    feats = enc.run(None, {"frame": x.reshape(-1, 32, 32, 3)})[0]
    assert feats.shape == (24, f)
    p = head.run(None, {"features": feats.reshape(6, 4, f)})[0]
    ref = whole.run(None, {"frames": x})[0]
    assert np.abs(p - ref).max() < 1e-4 and (p.argmax(1) == ref.argmax(1)).all()
    rep = _report(out)
    assert rep["features"] == f and rep["split_max_abs_diff"] < 1e-4
    assert rep["split_top1_agreement"] == 1.0


BUILD = """
import sys
from pathlib import Path
from edgeaction.contract import ModelContract
from edgeaction.train.models import build_model
for arch, modality in (("pose-lstm", "pose"), ("seed-b", "rgb+pose"), ("hands", "hands")):
    c = ModelContract(name=arch, labels=("a", "b", "c"), frames=4, height=32, width=32,
                      modality=modality)
    d = Path(sys.argv[1]) / arch
    d.mkdir(parents=True)
    build_model(arch, c).save(d / "model.keras")
    c.save(d)
"""


@pytest.fixture(scope="module")
def pose_runs(tmp_path_factory):
    """Untrained pose-lstm, seed-b and hands runs (no encoder sub-model)."""
    root = tmp_path_factory.mktemp("pose_runs")
    subprocess.run([sys.executable, "-c", BUILD, str(root)], check=True, capture_output=True)
    return root


def _one_line_error(p, text):
    err = p.stderr.strip()
    assert p.returncode == 1 and text in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err


def test_split_needs_an_encoder(pose_runs, tmp_path):
    for arch in ("pose-lstm", "seed-b", "hands"):
        p = cli("export", pose_runs / arch, "--out", tmp_path / arch, "--split", check=False)
        _one_line_error(p, "--split needs a model with a per-frame 'encoder' sub-model")
        d = tmp_path / arch
        assert not d.exists() or not any(d.iterdir())


def test_data_parity_refuses_a_cache_of_another_kind(pose_runs, synth_data, tmp_path):
    cache = tmp_path / "hands"
    cache.mkdir()
    (cache / "index.json").write_text(json.dumps({"version": 2, "kind": "hands", "clips": {}}))
    out = tmp_path / "out"
    run = pose_runs / "pose-lstm"
    p = cli("export", run, "--out", out, "--data", synth_data, "--keypoints", cache, check=False)
    _one_line_error(p, "holds hands keypoints, model pose-lstm reads pose")
    p = cli("export", run, "--out", out, "--keypoints", cache, check=False)
    _one_line_error(p, "--keypoints needs --data")
    assert not out.exists() or not any(out.iterdir())


def test_hands_parity_runs_on_random_hand_keypoints(pose_runs, tmp_path):
    from edgeaction.keypoints.features import HAND_LANDMARKS, found, random_input, random_raw

    raw = random_raw("hands", 64, 16, np.random.default_rng(0))
    present = raw.reshape(64, 16, 2, -1)[..., HAND_LANDMARKS * 3]
    assert set(np.unique(present)) == {0.0, 1.0}  # hands come and go, as MediaPipe reports
    assert not found(raw.reshape(-1, raw.shape[-1]), "hands").all()
    c = ModelContract.load(pose_runs / "hands" / "contract.json")
    x = random_input(c, 4, np.random.default_rng(0))
    assert x.shape == c.keypoint_shape(4) and np.isfinite(x).all()
    p = cli("export", pose_runs / "hands", "--out", tmp_path)
    assert "random hands keypoints through hands-v1" in p.stdout, p.stdout
    assert "top-1 agreement 100%" in p.stdout and (tmp_path / "model.onnx").is_file()
