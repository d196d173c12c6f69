"""TrtRunner: what is decided before TensorRT runs (sidecar, contract), and GPU tests.

The sidecar check is a pure function over two dicts and is tested here; deserialising
and running an engine needs TensorRT and a GPU (`gpu`-marked, skipped without them).
"""

import json

import numpy as np
import pytest

from edgeaction.contract import ModelContract
from edgeaction.engine import open_runner
from edgeaction.engine.sidecar import read_sidecar, sidecar_mismatch, sidecar_path
from edgeaction.engine.trt import TrtRunner
from edgeaction.errors import EdgeActionError


def _sidecar(contract, trt="10.3.0", cc="8.7", name="Orin"):
    return {
        "contract": contract.to_dict(),
        "tensorrt": trt,
        "device": {"name": name, "compute_capability": cc},
        "precision": "fp16",
    }


def _trt_importable() -> bool:
    try:
        import tensorrt  # noqa: F401
    except Exception:
        return False
    return True


def test_sidecar_mismatch_names_what_differs(tiny_contract):
    built = _sidecar(tiny_contract)
    here = {"tensorrt": "10.3.0", "device": {"name": "Orin", "compute_capability": "8.7"}}
    assert sidecar_mismatch(built, here) is None
    assert sidecar_mismatch(built, {**here, "contract": tiny_contract}) is None
    why = sidecar_mismatch(built, {**here, "tensorrt": "10.7.0"})
    assert "TensorRT 10.3.0 (here 10.7.0)" in why
    why = sidecar_mismatch(
        built, {**here, "device": {"name": "RTX 4090", "compute_capability": "8.9"}}
    )
    assert "compute capability 8.7 (here 8.9)" in why and "GPU Orin (here RTX 4090)" in why
    other = ModelContract(name="other", labels=("x", "y"), frames=8, height=64, width=64)
    assert "model 'tiny'" in sidecar_mismatch(built, {**here, "contract": other})
    # unknown device (no cuda-python) does not count as a mismatch
    assert sidecar_mismatch(built, {**here, "device": {"name": None}}) is None


def test_engine_without_sidecar_is_refused(tmp_path):
    e = tmp_path / "m.engine"
    e.write_bytes(b"\0")
    with pytest.raises(EdgeActionError, match="has no sidecar m.engine.json"):
        open_runner(e)
    sidecar_path(e).write_text("[1, 2]")
    with pytest.raises(EdgeActionError, match="not an engine sidecar"):
        read_sidecar(e)


def test_engine_contract_comes_from_the_sidecar(tmp_path, tiny_contract):
    e = tmp_path / "m.plan"
    e.write_bytes(b"\0")  # never deserialised here: the checks below come first
    sidecar_path(e).write_text(json.dumps(_sidecar(tiny_contract)))
    r = open_runner(e)
    assert isinstance(r, TrtRunner) and r.contract == tiny_contract
    other = ModelContract(name="other", labels=("x", "y"), frames=8, height=64, width=64)
    with pytest.raises(EdgeActionError, match="serves model 'tiny'"):
        TrtRunner(e, contract=other)
    if not _trt_importable():
        with pytest.raises(EdgeActionError, match="--backend onnxruntime") as info:
            r.activate()
        assert info.value.exit_code == 2 and not r.is_active


@pytest.mark.gpu
def test_engine_runs_with_timings(tiny_onnx, tiny_contract):
    from edgeaction.engine.trt_build import build_engine

    engine = build_engine(tiny_onnx, fp16=False, batch=(1, 2, 4), log=lambda s: None)
    side = json.loads(sidecar_path(engine).read_text())
    assert side["precision"] == "fp32" and side["profiles"]["frames"][2][0] == 4
    x = np.random.default_rng(0).random((3, *tiny_contract.input_shape()[1:]), np.float32)
    with open_runner(engine) as r:
        p = r.infer({"frames": x})["probs"]
        assert r.max_batch == 4
        assert set(r.last_timings) == {"enqueue_ms", "h2d_ms", "compute_ms", "d2h_ms"}
    with open_runner(tiny_onnx) as ref:
        q = ref.infer({"frames": x})["probs"]
    assert p.shape == (3, 3) and np.allclose(p, q, atol=1e-4)
