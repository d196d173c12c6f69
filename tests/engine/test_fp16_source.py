"""The float16 graph a strongly typed TensorRT builds FP16 engines from.

TensorRT is not needed for this part of `build_engine`: the graph is picked (export's
`model_fp16.onnx`) or converted and compared with float32 under ONNX Runtime before
TensorRT sees it, so all of it runs here on real ONNX models.
"""

import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from edgeaction.contract import split_part_from_onnx
from edgeaction.engine.fp16_source import check_inputs, fp16_source
from edgeaction.errors import EdgeActionError
from edgeaction.fsutil import write_checksums


def _float_types(path) -> set[int]:
    m = onnx.load(str(path))
    return {t.data_type for t in m.graph.initializer if t.data_type in (1, 10)}


def _io_types(path) -> set[int]:
    m = onnx.load(str(path))
    return {v.type.tensor_type.elem_type for v in [*m.graph.input, *m.graph.output]}


def test_whole_model_is_converted_and_checked(tiny_split, tiny_contract, tmp_path):
    lines = []
    graph, facts = fp16_source(
        tiny_split / "model.onnx", None, tiny_contract, tmp_path, log=lines.append
    )
    assert graph.parent == tmp_path and graph.name == "model_fp16.onnx"
    onnx.checker.check_model(onnx.load(str(graph)), full_check=True)
    # float16 weights inside, float32 inputs and outputs (keep_io_types)
    assert onnx.TensorProto.FLOAT16 in _float_types(graph)
    assert _io_types(graph) == {onnx.TensorProto.FLOAT}
    assert "converted on the fly" in facts["graph"] and "Softmax" in facts["kept_float32"]
    assert 0 < facts["max_abs_diff"] < 1e-2 and facts["top1_agreement"] >= 0.875
    assert facts["check_inputs"] == "8 seeded random clips"
    assert any("top-1 agreement" in x for x in lines)
    # the figures are the real ones: recompute them
    feed, _ = check_inputs(tiny_split / "model.onnx", None, tiny_contract)
    a = ort.InferenceSession(str(tiny_split / "model.onnx")).run(None, feed)[0]
    b = ort.InferenceSession(str(graph)).run(None, feed)[0]
    assert np.isclose(np.abs(a - b).max(), facts["max_abs_diff"])


def test_exported_fp16_graph_is_taken_and_its_checksum_verified(
    tiny_split, tiny_contract, tmp_path
):
    converted, _ = fp16_source(tiny_split / "model.onnx", None, tiny_contract, tmp_path, print)
    given = tiny_split / "model_fp16.onnx"
    shutil.copy(converted, given)
    graph, facts = fp16_source(tiny_split / "model.onnx", None, tiny_contract, tmp_path, print)
    assert graph == given and facts == {"graph": "model_fp16.onnx from edgeaction export --fp16"}
    write_checksums(tiny_split, {"model_fp16.onnx": "0" * 64})
    with pytest.raises(EdgeActionError, match="model_fp16.onnx does not match the sha256"):
        fp16_source(tiny_split / "model.onnx", None, tiny_contract, tmp_path, print)


def test_split_parts_are_converted_with_their_own_inputs(tiny_split, tiny_contract, tmp_path):
    enc_part = split_part_from_onnx(tiny_split / "encoder.onnx")
    head_part = split_part_from_onnx(tiny_split / "head.onnx")
    # export writes no float16 parts, and a model_fp16.onnx beside them is not theirs
    (tiny_split / "model_fp16.onnx").write_bytes(b"not used for parts")
    enc, ef = fp16_source(tiny_split / "encoder.onnx", enc_part, tiny_contract, tmp_path, print)
    head, hf = fp16_source(tiny_split / "head.onnx", head_part, tiny_contract, tmp_path, print)
    assert enc.name == "encoder_fp16.onnx" and head.name == "head_fp16.onnx"
    assert "top1_agreement" not in ef and ef["check_inputs"] == "32 seeded random frames"
    frames, _ = check_inputs(tiny_split / "encoder.onnx", enc_part, tiny_contract)
    ref = ort.InferenceSession(str(tiny_split / "encoder.onnx")).run(None, frames)[0]
    assert ef["max_rel_diff"] == pytest.approx(ef["max_abs_diff"] / np.abs(ref).max())
    assert 0 < ef["max_rel_diff"] < 1e-2
    assert hf["check_inputs"] == "encoder features of 8 seeded random clips"
    assert hf["top1_agreement"] >= 0.875 and hf["max_abs_diff"] < 1e-2
    feed, _ = check_inputs(tiny_split / "head.onnx", head_part, tiny_contract)
    feats = feed["features"]
    assert feats.shape == (8, tiny_contract.frames, 16) and feats.dtype == np.float32
    assert feats.std() > 0  # real encoder features of the clips, not zeros


def test_head_without_its_encoder_is_one_line(tiny_split, tiny_contract, tmp_path):
    head_part = split_part_from_onnx(tiny_split / "head.onnx")
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(tiny_split / "head.onnx", alone / "head.onnx")
    with pytest.raises(EdgeActionError, match="no encoder.onnx beside it"):
        fp16_source(alone / "head.onnx", head_part, tiny_contract, tmp_path, print)


def test_low_agreement_warns_but_builds(tiny_contract, tmp_path):
    """A model whose scores tie to float16 precision flips top-1: warned, not refused."""
    from onnx import TensorProto, helper, numpy_helper

    from edgeaction.contract import CONTRACT_KEY

    c = tiny_contract
    # logits = mean(x) * w with w rows nearly equal: classes differ by < float16 epsilon
    w = np.array([[1.0, 1.0 + 1e-5, 1.0 - 1e-5]] * 3, np.float32)
    g = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["frames"], ["m"], axes=[1, 2, 3], keepdims=0),
            helper.make_node("MatMul", ["m", "w"], ["z"]),
            helper.make_node("Mul", ["z", "k"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
        ],
        "ties",
        [helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["N", 4, 32, 32, 3])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.float32(100.0), "k")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    m.metadata_props.add(key=CONTRACT_KEY, value=c.to_json())
    onnx.save(m, str(tmp_path / "ties.onnx"))
    lines = []
    graph, facts = fp16_source(tmp_path / "ties.onnx", None, c, tmp_path, lines.append)
    assert graph.exists() and facts["top1_agreement"] < 0.98
    assert any(x.startswith("WARNING:") and "--no-fp16" in x for x in lines), lines


def test_unconvertible_graph_is_one_line(tiny_contract, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x01garbage")
    with pytest.raises(EdgeActionError, match="cannot convert bad.onnx to float16") as e:
        fp16_source(bad, None, tiny_contract, tmp_path, print)
    assert "\n" not in str(e.value) and "--no-fp16" in str(e.value)


def test_pose_model_is_checked_on_keypoints(tmp_path):
    from edgeaction.contract import ModelContract
    from tests.pipelines.test_runtime import _pose_onnx

    c = ModelContract(
        name="posey", labels=("x", "y"), frames=6, height=32, width=32, modality="pose"
    )
    model = _pose_onnx(tmp_path / "pose.onnx", c)
    feed, what = check_inputs(model, None, c)
    assert list(feed) == ["pose"] and feed["pose"].shape == (8, 6, 132)
    assert 0 <= feed["pose"].min() and feed["pose"].max() <= 1  # normalised landmarks
    graph, facts = fp16_source(model, None, c, tmp_path, print)
    assert facts["top1_agreement"] >= 0.875 and facts["check_inputs"] == what
