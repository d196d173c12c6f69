"""`edgeaction export`: tf2onnx conversion, embedded contract, parity, refusals."""

import json

import numpy as np
import pytest

from edgeaction.contract import ModelContract, contract_from_onnx
from edgeaction.engine import OrtRunner
from tests.conftest import cli
from tests.conftest import one_line_error as _one_line_error

pytestmark = pytest.mark.slow


def test_export_embeds_contract_and_matches_keras(exported, trained_run):
    onnx_path = exported / "model.onnx"
    c = contract_from_onnx(onnx_path)
    assert c == ModelContract.load(trained_run)
    assert c.producer["tf2onnx"] == "1.17.0" and c.producer["onnx_opset"] == "17"
    assert ModelContract.load(exported / "contract.json") == c
    rep = json.loads((exported / "export_report.json").read_text())
    assert rep["max_abs_diff"] < 1e-4 and rep["top1_agreement"] == 1.0
    # export runs the TensorRT pre-flight on what it wrote
    assert rep["tensorrt_preflight"]["model.onnx trt10"].endswith("ready for TensorRT 10")
    with OrtRunner(onnx_path) as r:
        ins = r.get_input_metadata()["frames"]
        assert ins.shape[0] is None and ins.shape[1:] == (4, 32, 32, 3)  # dynamic batch
        p = r.classify(np.zeros((5, 4, 32, 32, 3), np.float32))
    assert p.shape == (5, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert not list(exported.glob(".*partial*"))


def test_export_refuses_a_contract_that_does_not_fit(trained_run, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(trained_run, bad)
    c = ModelContract.load(bad)
    ModelContract(
        name=c.name, labels=("a", "b"), frames=c.frames, height=c.height, width=c.width
    ).save(bad)
    p = cli("export", bad, "--out", tmp_path / "o", check=False)
    assert p.returncode == 1 and "outputs 3 classes but the contract has 2 labels" in p.stderr
    assert not (tmp_path / "o" / "model.onnx").exists()


def test_export_refuses_a_non_keras_file(tmp_path):
    (tmp_path / "model.keras").write_text("zip? no")
    (tmp_path / "contract.json").write_text(
        ModelContract(name="x", labels=("a", "b"), frames=2, height=16, width=16).to_json()
    )
    p = cli("export", tmp_path / "model.keras", "--out", tmp_path / "o", check=False)
    assert (
        p.returncode == 1
        and "not a loadable Keras model" in p.stderr
        and "Traceback" not in p.stderr
    )


_LAMBDA_MODEL = """
import sys, keras
inp = keras.Input((2, 16, 16, 3), name="frames")
x = keras.layers.Lambda(lambda t: t * 2.0)(inp)
x = keras.layers.Flatten()(x)
out = keras.layers.Dense(2, activation="softmax", name="probs")(x)
keras.Model(inp, out).save(sys.argv[1])
"""


def test_export_refuses_lambda_layers_with_a_fix(tmp_path):
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, "-c", _LAMBDA_MODEL, str(tmp_path / "model.keras")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    ModelContract(name="x", labels=("a", "b"), frames=2, height=16, width=16).save(tmp_path)
    p = cli("export", tmp_path, "--out", tmp_path / "o", check=False)
    _one_line_error(p, "Lambda", "registered custom layer")
    assert not (tmp_path / "o" / "model.onnx").exists()


def test_export_output_dir_that_is_a_file(trained_run, tmp_path):
    (tmp_path / "o").write_text("a file")
    p = cli("export", trained_run, "--out", tmp_path / "o", check=False)
    _one_line_error(p, "not a directory")
    assert (tmp_path / "o").read_text() == "a file"
