"""The same conformance checks for every runner available on this machine."""

import numpy as np
import pytest

from edgeaction.engine import OrtRunner, open_runner
from edgeaction.errors import EdgeActionError
from edgeaction.preprocess import normalize
from tests.conftest import make_onnx

RUNNERS = [
    pytest.param("onnxruntime", id="ort"),
    pytest.param("tensorrt", id="trt", marks=pytest.mark.gpu),
]


#: Agreement expected between two runs of one runner. An engine built from an `.onnx`
#: model is FP16 (the default), and TensorRT may pick other kernels per batch size.
ATOL = {"onnxruntime": 1e-6, "tensorrt": 2e-3}


@pytest.fixture(params=RUNNERS)
def runner(request, tiny_onnx, tmp_path):
    return open_runner(tiny_onnx, backend=request.param, cache_dir=tmp_path / "engines")


def _atol(runner) -> float:
    return ATOL["tensorrt" if runner.name.startswith("tensorrt") else "onnxruntime"]


def _clips(contract, n, seed=0):
    rng = np.random.default_rng(seed)
    return normalize(
        rng.integers(0, 256, (n, *contract.input_shape()[1:]), dtype=np.uint8), contract
    )


def test_lifecycle_and_metadata(runner, tiny_contract):
    with pytest.raises(EdgeActionError, match="activate"):
        runner.infer({"frames": _clips(tiny_contract, 1)})
    with runner as r:
        assert r.is_active
        ins, outs = r.get_input_metadata(), r.get_output_metadata()
        assert list(ins) == ["frames"] and ins["frames"].shape[1:] == (4, 32, 32, 3)
        assert list(outs) == ["probs"] and outs["probs"].dtype == np.float32
    assert not runner.is_active


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_outputs_are_probabilities_for_any_batch(runner, tiny_contract, batch):
    with runner as r:
        p = r.infer({"frames": _clips(tiny_contract, batch)})["probs"]
    assert p.shape == (batch, 3) and np.allclose(p.sum(1), 1, atol=max(1e-5, _atol(r)))
    assert r.last_inference_s is not None and r.last_inference_s > 0


def test_batched_equals_one_by_one(runner, tiny_contract):
    x = _clips(tiny_contract, 4, seed=1)
    with runner as r:
        whole = r.classify(x)
        single = np.concatenate([r.classify(x[i : i + 1]) for i in range(4)])
    assert np.allclose(whole, single, atol=_atol(r))


def test_matches_numpy_reference(tiny_onnx, tiny_contract):
    import onnx
    from onnx import numpy_helper

    w = numpy_helper.to_array(
        [i for i in onnx.load(str(tiny_onnx)).graph.initializer if i.name == "w"][0]
    )
    x = _clips(tiny_contract, 2)
    logits = x.mean(axis=(1, 2, 3)) @ w
    ref = np.exp(logits - logits.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    with OrtRunner(tiny_onnx) as r:
        assert np.allclose(r.classify(x), ref, atol=1e-5)


def test_bad_feeds_are_refused(runner, tiny_contract):
    with runner as r:
        with pytest.raises(EdgeActionError, match="must have shape"):
            r.infer({"frames": np.zeros((1, 5, 32, 32, 3), np.float32)})
        with pytest.raises(EdgeActionError, match="must be float32"):
            r.infer({"frames": np.zeros((1, 4, 32, 32, 3), np.float64)})
        with pytest.raises(EdgeActionError, match="feed has inputs"):
            r.infer({"clip": np.zeros((1, 4, 32, 32, 3), np.float32)})


def test_contract_that_disagrees_with_the_model_is_refused(tmp_path, tiny_contract):
    p = make_onnx(tmp_path / "m.onnx", tiny_contract, frames=8)
    with pytest.raises(
        EdgeActionError, match="contract wants 4 frames, onnxruntime:m.onnx input has 8"
    ):
        OrtRunner(p).activate()


def test_missing_and_non_onnx_files(tmp_path):
    with pytest.raises(EdgeActionError, match="not found"):
        open_runner(tmp_path / "x.onnx")
    (tmp_path / "x.onnx").write_text("not a model")
    with pytest.raises(EdgeActionError, match="not a loadable ONNX model"):
        open_runner(tmp_path / "x.onnx")


def test_tensorrt_backend_without_tensorrt_says_what_to_do(tiny_onnx):
    try:
        import tensorrt  # noqa: F401

        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    with pytest.raises(EdgeActionError, match="--backend onnxruntime") as e:
        open_runner(tiny_onnx, backend="tensorrt")
    assert e.value.exit_code == 2


def test_spinning_threads_can_be_turned_off(tiny_onnx, tiny_contract):
    key = "session.intra_op.allow_spinning"
    with OrtRunner(tiny_onnx, spin=False) as r:  # what the streaming runtime asks for
        assert r._sess.get_session_options().get_session_config_entry(key) == "0"
        clip = np.zeros((1, *tiny_contract.input_shape()[1:]), np.float32)
        assert r.classify(clip).shape == (1, 3)
    with OrtRunner(tiny_onnx) as r, pytest.raises(RuntimeError):  # ORT's default otherwise
        r._sess.get_session_options().get_session_config_entry(key)  # (not set)
