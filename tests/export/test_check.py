"""`edgeaction check`: TensorRT pre-flight on handmade ONNX models and a real tf2onnx export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeaction.errors import EdgeActionError
from edgeaction.export.check import CheckReport, format_table, op_table, preflight
from tests.conftest import cli, cli_no_tf, make_onnx
from tests.conftest import one_line_error as _one_line_error

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _save(path, nodes, inputs, outputs, inits=(), opset=17, extra_opsets=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    opsets = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, v) for d, v in extra_opsets)]
    m = helper.make_model(g, opset_imports=opsets)
    m.ir_version = 8 if opset <= 17 else 10
    onnx.save(m, str(path))
    return path


def _vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def _relu(path, shape=("N", 4), opset=17):
    return _save(
        path,
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        [_vi("x", shape)],
        [_vi("y", shape)],
        opset=opset,
    )


def _codes(r: CheckReport, level=None):
    return [f.code for f in r.findings if level is None or f.level == level]


def test_clean_model_passes(tmp_path, tiny_onnx):
    r = preflight(tiny_onnx)
    assert r.ready and r.counts["blocker"] == 0 and r.opset == 17
    assert r.ops == {"ReduceMean": 1, "MatMul": 1, "Softmax": 1} and r.nodes == 3
    batch = [f for f in r.findings if f.code == "dynamic-batch"]
    assert len(batch) == 1 and batch[0].level == "info" and batch[0].node == "frames"
    p = cli("check", tiny_onnx)
    assert p.returncode == 0, p.stderr
    last = p.stdout.strip().splitlines()[-1]
    assert last == "0 blockers, 0 warnings: ready for TensorRT 10"
    assert "dynamic-batch" in p.stdout and "onnx/onnx-tensorrt docs/operators.md" in p.stdout


def test_unsupported_op_blocks_and_names_node(tmp_path):
    assert op_table(10)["ops"]["Unique"]["supported"] is False  # per the shipped list
    m = _save(
        tmp_path / "u.onnx",
        [helper.make_node("Unique", ["x"], ["y"], name="dedupe_labels", sorted=1)],
        [_vi("x", [8])],
        [_vi("y", ["U"])],
    )
    p = cli("check", m, check=False)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    row = next(x for x in p.stdout.splitlines() if x.startswith("blocker"))
    assert "unsupported-op" in row and "Unique/dedupe_labels" in row
    assert p.stdout.strip().endswith("1 blocker: TensorRT 10 will not build this model")


def test_dynamic_time_axis_blocks(tmp_path, tiny_contract):
    m = make_onnx(tmp_path / "t.onnx", tiny_contract)
    model = onnx.load(str(m))
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "T"
    onnx.save(model, str(m))
    r = preflight(m)
    (b,) = r.blockers
    assert b.code == "dynamic-dim" and b.node == "frames" and "1 ('T')" in b.message
    assert "fixed" in b.message and "batch axis only" in b.message
    assert "dynamic-batch" in _codes(r, "info")


def _int64_model(path, value):
    k = numpy_helper.from_array(np.array([value], np.int64), "k")
    nodes = [
        helper.make_node("Cast", ["k"], ["kf"], to=TensorProto.FLOAT, name="cast_k"),
        helper.make_node("Add", ["x", "kf"], ["y"], name="add_k"),
    ]
    return _save(path, nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])], inits=[k])


def test_int64_weights_small_warn_huge_block(tmp_path):
    r = preflight(_int64_model(tmp_path / "small.onnx", 3))
    assert r.ready and "int64" in _codes(r, "warning")
    r = preflight(_int64_model(tmp_path / "huge.onnx", 3_000_000_000))
    (b,) = r.blockers
    assert b.code == "int64-range" and b.node == "k" and "3000000000" in b.message


def test_int64_max_slice_end_is_harmless(tmp_path):
    inits = [
        numpy_helper.from_array(np.array([1], np.int64), "starts"),
        numpy_helper.from_array(np.array([np.iinfo(np.int64).max], np.int64), "ends"),
        numpy_helper.from_array(np.array([1], np.int64), "axes"),
    ]
    node = helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["y"], name="tail")
    m = _save(tmp_path / "s.onnx", [node], [_vi("x", [1, 4])], [_vi("y", [1, 3])], inits=inits)
    r = preflight(m)
    assert r.ready, format_table(r)
    assert any(f.code == "int64" and f.level == "info" for f in r.findings)


def _loop_model(path):
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["v_in", "one"], ["v_out"]),
        ],
        "body",
        [
            _vi("i", [], TensorProto.INT64),
            _vi("cond_in", [], TensorProto.BOOL),
            _vi("v_in", [1, 4]),
        ],
        [_vi("cond_out", [], TensorProto.BOOL), _vi("v_out", [1, 4])],
        initializer=[numpy_helper.from_array(np.ones((1, 4), np.float32), "one")],
    )
    inits = [
        numpy_helper.from_array(np.array(3, np.int64), "M"),
        numpy_helper.from_array(np.array(True), "cond"),
    ]
    loop = helper.make_node("Loop", ["M", "cond", "x"], ["y"], name="rnn_loop", body=body)
    return _save(path, [loop], [_vi("x", [1, 4])], [_vi("y", [1, 4])], inits=inits)


def test_loop_warns(tmp_path):
    r = preflight(_loop_model(tmp_path / "loop.onnx"))
    assert r.ready, format_table(r)
    (w,) = [f for f in r.findings if f.code == "control-flow"]
    assert w.level == "warning" and w.op == "Loop" and w.node == "rnn_loop"
    assert "loop layer" in w.message and "slower than an LSTM op" in w.message
    assert r.ops == {"Loop": 1, "Identity": 1, "Add": 1}  # the body counts too


def test_loop_scan_output_needs_a_constant_trip_count(tmp_path):
    m = _loop_model(tmp_path / "scan.onnx")
    model = onnx.load(str(m))
    body = model.graph.node[0].attribute[0].g
    body.node.append(helper.make_node("Identity", ["v_out"], ["s"]))
    body.output.append(_vi("s", [1, 4]))
    model.graph.node[0].output.append("ys")
    model.graph.output.append(_vi("ys", ["M", 1, 4]))
    del model.graph.initializer[0]  # M becomes a graph input
    model.graph.input.append(_vi("M", [], TensorProto.INT64))
    onnx.save(model, str(m))
    r = preflight(m)
    assert r.ready, format_table(r)
    (w,) = [f for f in r.findings if f.code == "loop-scan"]
    assert w.level == "warning" and "1 scan output" in w.message and w.node == "rnn_loop"
    assert any(f.code == "int64" and f.node == "M" for f in r.warnings)  # INT64 input


def test_opset_range_per_major(tmp_path):
    m = _relu(tmp_path / "o21.onnx", opset=21)
    p = cli("check", m, check=False)
    assert p.returncode == 1 and "opset 21 is outside 9..20" in p.stdout
    assert preflight(m, trt_major=11).ready  # TensorRT 11 reads opsets 9..25


def test_custom_domain_and_float64_block(tmp_path):
    node = helper.make_node("FusedGelu", ["x"], ["y"], domain="com.microsoft", name="g")
    m = _save(
        tmp_path / "c.onnx",
        [node],
        [_vi("x", [1, 4])],
        [_vi("y", [1, 4])],
        extra_opsets=[("com.microsoft", 1)],
    )
    r = preflight(m)
    assert "custom-domain" in _codes(r, "blocker") and r.ops == {"com.microsoft:FusedGelu": 1}
    d = _relu(tmp_path / "d.onnx")
    model = onnx.load(str(d))
    for vi in (*model.graph.input, *model.graph.output):
        vi.type.tensor_type.elem_type = TensorProto.DOUBLE
    onnx.save(model, str(d))
    r = preflight(d)
    assert {f.code for f in r.blockers} == {"float64"}


def test_trt11_strong_typing_info(tiny_onnx):
    r = preflight(tiny_onnx, trt_major=11)
    (f,) = [f for f in r.findings if f.code == "strongly-typed"]
    assert f.level == "info" and "--fp16 (model_fp16.onnx)" in f.message
    assert "strongly-typed" not in _codes(preflight(tiny_onnx, trt_major=10))


def test_not_onnx_is_one_line_error(tmp_path):
    (tmp_path / "a.onnx").write_text("plain text, not a protobuf\n")
    _one_line_error(cli("check", tmp_path / "a.onnx", check=False), "not an ONNX model")
    (tmp_path / "b.onnx").write_bytes(np.random.default_rng(0).bytes(4096))
    p = cli("check", tmp_path / "b.onnx", check=False)
    assert p.returncode == 1 and "not an ONNX model" in _one_line_error(p)
    _one_line_error(cli("check", tmp_path / "none.onnx", check=False), "not found")
    with pytest.raises(EdgeActionError, match="--trt must be one of 10, 11"):
        preflight(tmp_path / "a.onnx", trt_major=9)


def test_json_report(tmp_path, tiny_onnx):
    (tmp_path / "exp").mkdir()
    tiny_onnx.rename(tmp_path / "exp" / "model.onnx")
    out = tmp_path / "rep" / "check.json"
    out.parent.mkdir()
    p = cli("check", tmp_path / "exp", "--trt", "11", "--json", out)  # an export dir works
    assert p.returncode == 0
    d = json.loads(out.read_text())
    assert d["path"].endswith("model.onnx")
    assert d["trt_major"] == 11 and d["opset"] == 17 and d["ready"] is True
    assert d["counts"] == {"blocker": 0, "warning": 0, "info": len(d["findings"])}
    assert d["summary"] == "0 blockers, 0 warnings: ready for TensorRT 11"
    assert d["ops"]["MatMul"] == 1 and "onnx/onnx-tensorrt" in d["source"]
    assert set(d["findings"][0]) == {"level", "code", "op", "node", "message"}
    assert not list(out.parent.glob(".*partial*"))


def test_json_report_on_blockers(tmp_path):
    m = _relu(tmp_path / "dyn.onnx", shape=("N", "F"))
    out = tmp_path / "c.json"
    assert cli("check", m, "--json", out, check=False).returncode == 1
    d = json.loads(out.read_text())
    assert d["ready"] is False and d["counts"]["blocker"] == 1
    assert d["findings"][0]["code"] == "dynamic-dim"


def test_help_and_no_tensorflow(tiny_onnx):
    p = cli("check", "--help")
    assert p.returncode == 0 and "--trt {10,11}" in p.stdout and "exit status" in p.stdout
    cli_no_tf("check", tiny_onnx, block=("tensorflow", "keras", "tf2onnx", "tensorrt"))


@pytest.mark.slow
def test_real_gru_export_is_ready_with_a_loop_warning(exported):
    r = preflight(exported / "model.onnx")
    assert r.ready, format_table(r)
    assert r.opset == 17 and "Loop" in r.ops
    loops = [f for f in r.findings if f.code == "control-flow"]
    assert loops and all(f.level == "warning" and f.op == "Loop" for f in loops)
    p = cli("check", exported)
    assert p.returncode == 0 and "ready for TensorRT 10" in p.stdout.splitlines()[-1]
