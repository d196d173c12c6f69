"""One owner of model file names and kinds: `edgeaction.artefacts`."""

import shutil

import pytest

from edgeaction.artefacts import (
    ENGINE,
    ENGINE_SUFFIXES,
    KERAS,
    ONNX,
    engine_sidecar_path,
    resolve_model,
)
from edgeaction.errors import EdgeActionError


def test_every_engine_suffix_is_an_engine(tmp_path):
    for suffix in (".engine", ".plan", ".trt", ".TRT"):
        f = tmp_path / f"m{suffix}"
        f.write_bytes(b"plan")
        assert resolve_model(f) == (ENGINE, f)
    assert ENGINE_SUFFIXES == (".engine", ".plan", ".trt")
    assert engine_sidecar_path(tmp_path / "m.trt").name == "m.trt.json"


def test_a_directory_stands_for_its_model_in_the_callers_order(tmp_path, tiny_onnx):
    d = tmp_path / "both"
    d.mkdir()
    shutil.copy(tiny_onnx, d / "model.onnx")
    (d / "model.keras").write_bytes(b"zip")
    assert resolve_model(d) == (KERAS, d / "model.keras")
    assert resolve_model(d, (ONNX, KERAS)) == (ONNX, d / "model.onnx")
    assert resolve_model(d, (ONNX, ENGINE)) == (ONNX, d / "model.onnx")


@pytest.mark.parametrize(
    "name, kinds, needle",
    [
        ("nope.onnx", (ONNX,), "model not found"),
        ("notes.txt", (ONNX, ENGINE), "is not a model file; give an .onnx file"),
        ("m.keras", (ONNX, ENGINE), "is a Keras model; give an .onnx file"),
        ("m.engine", (ONNX,), "is a TensorRT engine; give an .onnx file or export directory"),
        ("empty_dir", (ONNX, ENGINE), "is a directory without model.onnx"),
    ],
)
def test_wrong_models_are_one_line(tmp_path, name, kinds, needle):
    p = tmp_path / name
    if name == "empty_dir":
        p.mkdir()
    elif not name.startswith("nope"):
        p.write_bytes(b"x")
    with pytest.raises(EdgeActionError, match=needle) as e:
        resolve_model(p, kinds)
    assert "\n" not in str(e.value)


def test_a_checker_may_take_any_suffix(tmp_path):
    f = tmp_path / "model.bin"
    f.write_bytes(b"x")
    assert resolve_model(f, (ONNX,), any_suffix=True) == (ONNX, f)
