"""`engine.split`: encoder + head runners of a model exported with `--split`."""

import json

import numpy as np
import pytest

from edgeaction.contract import SPLIT_KEY, ModelContract, SplitPart, split_part_from_onnx
from edgeaction.engine import OrtRunner, open_runner
from edgeaction.engine.split import SplitRunner, find_split
from edgeaction.errors import EdgeActionError
from edgeaction.preprocess import normalize
from tests.conftest import cli, make_onnx, make_split, trt_importable


def _clips(contract, n, seed=0):
    """uint8 clips whose frames differ (per-frame brightness and a moving bright block)."""
    rng = np.random.default_rng(seed)
    t, h, w = contract.frames, contract.height, contract.width
    x = rng.integers(0, 256, (n, t, h, w, 3)).astype(np.int32)
    x += rng.integers(-80, 80, (n, t, 1, 1, 3))
    for i in range(n):
        for j in range(t):
            y0, x0 = rng.integers(0, h - 8), rng.integers(0, w - 8)
            x[i, j, y0 : y0 + 8, x0 : x0 + 8] = 255
    return np.clip(x, 0, 255).astype(np.uint8)


def _split_probs(s, clips):
    n, t = clips.shape[:2]
    feats = s.encode(clips.reshape(n * t, *clips.shape[2:]))
    assert feats.dtype == np.float32 and feats.shape == (n * t, s.features)
    return s.head(feats.reshape(n, t, s.features))


@pytest.mark.parametrize("batch", [1, 5])
def test_head_of_encoded_frames_equals_the_whole_model(tiny_split, tiny_contract, batch):
    clips = _clips(tiny_contract, batch, seed=batch)
    with OrtRunner(tiny_split / "model.onnx") as whole:
        ref = whole.classify(normalize(clips, tiny_contract))
    with SplitRunner(tiny_split) as s:
        assert s.contract == tiny_contract and s.features == 16
        assert s.encoder_max_batch is None and s.head_max_batch is None
        probs = _split_probs(s, clips)
        # frame by frame, as the runtime's cache does, gives the same features
        one = np.stack([s.encode(c) for c in clips])
        assert np.allclose(one.reshape(-1, 16), s.encode(clips.reshape(-1, 32, 32, 3)), atol=1e-6)
        assert s.encoder.last_inference_s > 0 and s.head_runner.last_inference_s > 0
    assert probs.shape == (batch, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert np.abs(probs - ref).max() < 1e-4
    assert batch == 1 or ref.std(0).max() > 1e-3  # clips told apart: the check is not vacuous


def test_frame_order_matters(tiny_split, tiny_contract):
    clips = _clips(tiny_contract, 3, seed=7)
    with SplitRunner(tiny_split / "model.onnx") as s:
        f = s.encode(clips.reshape(-1, 32, 32, 3)).reshape(3, 4, 16)
        assert np.abs(s.head(f) - s.head(f[:, ::-1].copy())).max() > 1e-4


def test_encode_normalises_like_preprocess_for_any_contract(tmp_path):
    c = ModelContract(
        name="bgr",
        labels=("x", "y"),
        frames=2,
        height=16,
        width=16,
        colour="BGR",
        scale=1 / 127.5,
        mean=(0.9, 1.0, 1.1),
        std=(0.2, 0.5, 0.8),
    )
    d = make_split(tmp_path / "bgr", c, seed=3, features=8)
    clips = _clips(c, 2, seed=9)
    with OrtRunner(d / "model.onnx") as whole, SplitRunner(d) as s:
        ref = whole.classify(normalize(clips, c))
        assert np.abs(_split_probs(s, clips) - ref).max() < 1e-4


def test_find_split(tiny_split, tiny_contract, tmp_path):
    enc, head = tiny_split / "encoder.onnx", tiny_split / "head.onnx"
    assert find_split(tiny_split) == (enc, head)
    assert find_split(tiny_split / "model.onnx") == (enc, head)
    # an export without --split
    plain = tmp_path / "plain"
    plain.mkdir()
    make_onnx(plain / "model.onnx", tiny_contract)
    assert find_split(plain) is None
    with pytest.raises(EdgeActionError, match=r"no encoder.onnx and head.onnx.*--split") as e:
        SplitRunner(plain / "model.onnx")
    assert "\n" not in str(e.value)


def test_parts_of_another_model_fail_in_one_line(tiny_split, tiny_contract):
    other = ModelContract(name="other", labels=("a", "b"), frames=4, height=32, width=32)
    make_onnx(tiny_split / "model.onnx", other)
    for call in (find_split, SplitRunner):
        with pytest.raises(EdgeActionError, match="another contract.*export --split") as e:
            call(tiny_split)
        assert "\n" not in str(e.value)


def test_incomplete_or_foreign_parts_fail_in_one_line(tiny_split):
    (tiny_split / "head.onnx").rename(tiny_split / "h.onnx")
    with pytest.raises(EdgeActionError, match="has encoder.onnx but no head.onnx"):
        find_split(tiny_split)
    (tiny_split / "encoder.onnx").rename(tiny_split / "head.onnx")
    (tiny_split / "h.onnx").rename(tiny_split / "encoder.onnx")
    with pytest.raises(EdgeActionError, match="holds the split head, not the encoder"):
        find_split(tiny_split)


def test_wrong_inputs_fail_in_one_line(tiny_split):
    with SplitRunner(tiny_split) as s:
        bad_frames = [
            np.zeros((2, 32, 32, 3), np.float32),
            np.zeros((2, 16, 32, 3), np.uint8),
            np.zeros((2, 4, 32, 32, 3), np.uint8),
        ]
        for x in bad_frames:
            with pytest.raises(EdgeActionError, match=r"encode\(\) takes uint8 frames") as e:
                s.encode(x)
            assert "\n" not in str(e.value)
        for f in (
            np.zeros((2, 4, 16), np.float64),
            np.zeros((2, 3, 16), np.float32),
            np.zeros((4, 16), np.float32),
        ):
            with pytest.raises(EdgeActionError, match=r"head\(\) takes float32 features"):
                s.head(f)
        with pytest.raises(EdgeActionError, match="numpy array"):
            s.head([[0.0]])
        assert s.encode(np.zeros((0, 32, 32, 3), np.uint8)).shape == (0, 16)
        assert s.head(np.zeros((0, 4, 16), np.float32)).shape == (0, 3)
    with pytest.raises(EdgeActionError, match="activate"):
        s.encode(np.zeros((1, 32, 32, 3), np.uint8))


def test_part_runners_check_feeds_and_refuse_classify(tiny_split):
    # open_runner on a part: a BaseRunner checked against its split metadata
    r = open_runner(tiny_split / "encoder.onnx")
    assert r.part is not None and r.part.part == "encoder"
    with r:
        out = r.infer({"frame": np.zeros((3, 32, 32, 3), np.float32)})
        assert out["features"].shape == (3, 16)
        with pytest.raises(EdgeActionError, match=r"must have shape \[None, 32, 32, 3\]"):
            r.infer({"frame": np.zeros((3, 32, 30, 3), np.float32)})
        with pytest.raises(EdgeActionError, match="must be float32"):
            r.infer({"frame": np.zeros((3, 32, 32, 3), np.uint8)})
        with pytest.raises(EdgeActionError, match="split model, not a clip classifier"):
            r.classify(np.zeros((1, 4, 32, 32, 3), np.float32))


def test_part_metadata_round_trip_and_graph_checks(tiny_split, tiny_contract):
    from edgeaction.export.onnx_export import SPLIT_KEY as EXPORT_KEY

    assert SPLIT_KEY == EXPORT_KEY
    part = split_part_from_onnx(tiny_split / "head.onnx")
    assert part.part == "head" and part.input_shape(2) == (2, 4, 16)
    assert SplitPart.from_json(part.to_json()) == part and part.contract == tiny_contract
    assert split_part_from_onnx(tiny_split / "model.onnx") is None
    with pytest.raises(EdgeActionError, match="wants input \\[None, 4, 16\\]"):
        part.check_io({"features": (None, 4, 8)}, {"probs": (None, 3)}, what="g")
    with pytest.raises(EdgeActionError, match="wants 3 outputs per item"):
        part.check_io({"features": (None, 4, 16)}, {"probs": (None, 5)}, what="g")
    with pytest.raises(EdgeActionError, match="wants input 'features'"):
        part.check_io({"x": (None, 4, 16)}, {"probs": (None, 3)}, what="g")
    bad = {**part.to_dict(), "frames": 8}
    with pytest.raises(EdgeActionError, match="frames 8 differs"):
        SplitPart.from_json(json.dumps(bad))
    with pytest.raises(EdgeActionError, match="lacks one of"):
        SplitPart.from_json(json.dumps({"part": "head"}))
    # a part runner for the wrong model's contract is refused
    other = ModelContract(name="other", labels=("a", "b"), frames=4, height=32, width=32)
    with pytest.raises(EdgeActionError, match="is the head of model 'tiny'"):
        OrtRunner(tiny_split / "head.onnx", contract=other, part=part)


@pytest.mark.skipif(trt_importable(), reason="TensorRT is importable here")
def test_tensorrt_parts_without_tensorrt_and_bad_backend_are_one_line(tiny_split):
    """On TensorRT each part becomes a TrtRunner over its ONNX file (built on activate);
    without TensorRT that fails at once with exit 2, before anything is built."""
    with pytest.raises(EdgeActionError) as e:
        SplitRunner(tiny_split, backend="tensorrt")
    assert e.value.exit_code == 2 and "TensorRT's Python package is not installed" in str(e.value)
    with pytest.raises(EdgeActionError, match="--backend must be one of"):
        SplitRunner(tiny_split, backend="tflite")
    with pytest.raises(EdgeActionError, match="model not found"):
        SplitRunner(tiny_split / "nope.onnx")


@pytest.fixture(scope="module")
def exported_split(trained_run, tmp_path_factory):
    """The edge-tiny run of `trained_run` exported with --split (no --data, no --fp16)."""
    out = tmp_path_factory.mktemp("export_split")
    cli("export", trained_run, "--out", out, "--split")
    return out


@pytest.mark.slow
def test_split_runner_equals_whole_keras_export(exported_split):
    c = ModelContract.load(exported_split)
    clips = _clips(c, 4, seed=11)
    with OrtRunner(exported_split / "model.onnx") as whole, SplitRunner(exported_split) as s:
        ref = whole.classify(normalize(clips, c))
        probs = _split_probs(s, clips)
    assert np.abs(probs - ref).max() < 1e-4
    assert (probs.argmax(1) == ref.argmax(1)).all()
