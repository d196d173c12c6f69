"""One registry of backends (`engine.backends`) over the one runner interface."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgeaction.engine import open_runner
from edgeaction.engine.backends import (
    BACKENDS,
    backend_choices,
    open_model,
    runs_on,
    select_backend,
)
from edgeaction.engine.base import BaseRunner
from edgeaction.engine.sidecar import write_engine
from edgeaction.engine.split import SplitRunner
from edgeaction.engine.trt import TrtRunner
from edgeaction.errors import EdgeActionError


def _fake_engine(path, contract):
    """Engine bytes never deserialised here, with a real sidecar (sha256 and all)."""
    meta = {"contract": contract.to_dict(), "tensorrt": "10.3.0", "device": {}, "precision": "fp16"}
    return write_engine(path, b"plan bytes", meta)


@pytest.mark.parametrize("suffix", [".engine", ".plan", ".trt"])
def test_open_runner_takes_every_engine_suffix(tmp_path, tiny_contract, suffix):
    # Before the registry, `.trt` (taken by evaluate, bench and --triton) was refused here.
    engine = _fake_engine(tmp_path / f"m{suffix}", tiny_contract)
    for backend in ("onnxruntime", "tensorrt", "auto"):
        r = open_runner(engine, backend=backend)
        assert isinstance(r, TrtRunner) and r.backend == "tensorrt"
        assert r.contract == tiny_contract
    assert runs_on(engine, "onnxruntime") == "tensorrt"


def test_every_backend_is_a_runner_of_the_kinds_it_opens():
    for name, b in BACKENDS.items():
        if name == "keras":
            continue  # importing it is TensorFlow's import (test_evaluate covers it)
        cls = b.runner_class()
        assert issubclass(cls, BaseRunner) and cls.backend == name
    assert backend_choices() == ["onnxruntime", "tensorrt"]
    assert backend_choices(include_keras=True, auto=True) == [
        "auto",
        "onnxruntime",
        "tensorrt",
        "keras",
    ]


def test_select_backend_strict_and_lenient():
    assert select_backend("onnx").name == "onnxruntime"
    assert select_backend("tensorrt-engine").name == "tensorrt"
    assert select_backend("keras", include_keras=True).name == "keras"
    assert select_backend("tensorrt-engine", "onnxruntime", strict=False).name == "tensorrt"
    with pytest.raises(EdgeActionError, match="is a TensorRT engine; --backend onnxruntime"):
        select_backend("tensorrt-engine", "onnxruntime", what="m.trt")
    with pytest.raises(EdgeActionError, match="--backend must be one of auto, onnxruntime"):
        select_backend("onnx", "keras")
    with pytest.raises(EdgeActionError, match="--backend must be one of"):
        select_backend("onnx", "tflite")


def test_open_model_resolves_directories(tmp_path, tiny_onnx):
    d = tmp_path / "export"
    d.mkdir()
    shutil.copy(tiny_onnx, d / "model.onnx")
    with open_model(d) as r:
        assert r.backend == "onnxruntime"
        out = r.classify(np.zeros((2, 4, 32, 32, 3), np.float32))
    assert out.shape == (2, 3)
    with pytest.raises(EdgeActionError, match="is a Keras model"):
        (d / "model.keras").write_bytes(b"zip")
        open_model(d / "model.keras")


def test_split_runner_of_an_engine_runs_its_parts_on_tensorrt(tiny_split, tiny_contract):
    engine = _fake_engine(tiny_split / "model.trt", tiny_contract)
    # the parts are .onnx files, built into engines: TensorRT must be importable
    with pytest.raises(EdgeActionError, match="TensorRT") as e:
        SplitRunner(engine, backend="onnxruntime")
    assert e.value.exit_code == 2


def test_the_runtime_never_opens_a_keras_model(tmp_path, tiny_contract):
    (tmp_path / "model.keras").write_bytes(b"zip")
    tiny_contract.save(tmp_path)
    with pytest.raises(EdgeActionError, match="is a Keras model; give an .onnx file"):
        open_runner(tmp_path / "model.keras")
    with pytest.raises(
        EdgeActionError, match="--backend must be one of auto, onnxruntime, tensorrt"
    ):
        open_runner(tmp_path / "model.keras", backend="keras")
    assert runs_on(tmp_path / "m.onnx", "onnxruntime") == "onnxruntime"


def test_registering_keras_imports_nothing_of_it(tiny_onnx):
    code = (
        "import sys\n"
        "from edgeaction.engine import open_runner\n"
        "from edgeaction.cli import build_parser\n"
        f"with open_runner({str(tiny_onnx)!r}) as r: pass\n"
        "build_parser()\n"
        "bad = [m for m in sys.modules if m.startswith(('edgeaction.keras_runner', "
        "'tensorflow', 'keras'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())
