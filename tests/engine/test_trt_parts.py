"""The feature cache on TensorRT: split-part engines, what is decided before TensorRT runs.

An engine built from `encoder.onnx` or `head.onnx` records its `SplitPart` in the
sidecar; `TrtRunner` serves it only as that part. The runtime builds part engines from
an `.onnx` model on `--backend tensorrt` with a batch profile that follows the run.
Building and running them needs a GPU (`gpu`-marked below); the stub-library run of the
real bindings is in `test_trt_api_surface.py`.
"""

import json

import numpy as np
import pytest

from edgeaction.contract import split_part_from_onnx
from edgeaction.engine.sidecar import sidecar_path, write_engine
from edgeaction.engine.trt import TrtRunner
from edgeaction.errors import EdgeActionError
from edgeaction.pipelines.runtime import RunOptions, Runtime


def _fake_engine(path, contract, part=None):
    """Engine bytes that are never deserialised here, with a real sidecar (sha256 and all)."""
    meta = {
        "contract": contract.to_dict(),
        "tensorrt": "10.3.0",
        "device": {"name": "Orin", "compute_capability": "8.7"},
        "precision": "fp16",
    }
    if part is not None:
        meta["split_part"] = part.to_dict()
    return write_engine(path, b"plan bytes", meta)


def test_part_engine_serves_only_its_part(tiny_split, tiny_contract, tmp_path):
    enc = split_part_from_onnx(tiny_split / "encoder.onnx")
    head = split_part_from_onnx(tiny_split / "head.onnx")
    e = _fake_engine(tmp_path / "encoder_b16_fp16_sm87.engine", tiny_contract, enc)
    assert json.loads(sidecar_path(e).read_text())["split_part"]["part"] == "encoder"
    r = TrtRunner(e, part=enc)
    assert r.part == enc and r.contract == tiny_contract
    with pytest.raises(EdgeActionError, match="holds the split encoder, not a whole model"):
        TrtRunner(e)
    with pytest.raises(EdgeActionError, match="holds the split encoder, not the split head"):
        TrtRunner(e, part=head)
    whole = _fake_engine(tmp_path / "model_b8_fp16_sm87.engine", tiny_contract)
    with pytest.raises(EdgeActionError, match="holds a whole model, not the split head"):
        TrtRunner(whole, part=head)
    with pytest.raises(EdgeActionError, match="engine.split.SplitRunner"):
        TrtRunner(e, part=enc).classify(np.zeros((1, 4, 32, 32, 3), np.float32))


def test_engine_sidecar_with_a_bad_part_is_one_line(tiny_contract, tmp_path):
    e = _fake_engine(tmp_path / "encoder.engine", tiny_contract)
    side = json.loads(sidecar_path(e).read_text())
    side["split_part"] = {"part": "encoder"}
    sidecar_path(e).write_text(json.dumps(side))
    with pytest.raises(EdgeActionError, match="encoder.engine sidecar lacks one of"):
        TrtRunner(e)


def test_runtime_profile_follows_streams_and_max_batch(tiny_split, tiny_contract, tmp_path):
    def opts(sources, backend="tensorrt", model=tiny_split, **kw):
        rt = Runtime(model, sources, events=None, backend=backend, options=RunOptions(**kw))
        return rt.trt_build_options()

    assert opts(["test://ball"]) == {"fp16": True, "batch": (1, 1, 8)}
    assert opts(["test://ball"] * 3, max_batch=4) == {"fp16": True, "batch": (1, 3, 4)}
    assert opts(["test://ball"] * 12) == {"fp16": True, "batch": (1, 8, 8)}
    rt = Runtime(tiny_split, ["test://ball"], events=None, backend="tensorrt", fp16=False)
    assert rt.trt_build_options()["fp16"] is False
    assert opts(["test://ball"], backend="onnxruntime") is None
    # a given engine runs as it is; the options serve the parts of `--feature-cache on`
    engine = _fake_engine(tmp_path / "m.engine", tiny_contract)
    assert opts(["test://ball"] * 2, backend="onnxruntime", model=engine)["batch"] == (1, 2, 8)
    # every engine suffix (artefacts.ENGINE_SUFFIXES) runs on TensorRT, `.trt` too
    trt_file = _fake_engine(tmp_path / "m.trt", tiny_contract)
    assert opts(["test://ball"] * 2, backend="onnxruntime", model=trt_file)["batch"] == (1, 2, 8)


@pytest.mark.gpu
def test_part_engines_match_onnxruntime_and_are_reused(tiny_split, tiny_contract, tmp_path):
    from edgeaction.engine.split import SplitRunner

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    cache = tmp_path / "engines"
    with SplitRunner(tiny_split) as ref:
        want = ref.head(ref.encode(frames)[:8].reshape(2, 4, -1))
    with SplitRunner(tiny_split, backend="tensorrt", cache_dir=cache) as s:
        got = s.head(s.encode(frames)[:8].reshape(2, 4, -1))
        assert s.encoder_max_batch == 16 and s.head_max_batch == 8
    assert np.allclose(got, want, atol=2e-3)
    built = sorted(cache.glob("*.engine"))
    assert [p.name.split("-")[0] for p in built] == ["encoder", "head"]
    for e in built:
        side = json.loads(sidecar_path(e).read_text())
        assert side["precision"] == "fp16" and side["split_part"]["part"] in e.name
    stamps = [p.stat().st_mtime_ns for p in built]
    with SplitRunner(tiny_split, backend="tensorrt", cache_dir=cache) as s:
        s.encode(frames[:1])
    assert [p.stat().st_mtime_ns for p in built] == stamps  # reused, not rebuilt
