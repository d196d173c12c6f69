"""`export --triton DIR`: Triton model repository layout, config fields, Triton's own schema."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeaction.commands.export import write_triton as write_export_triton
from edgeaction.contract import ModelContract
from edgeaction.errors import EdgeActionError
from edgeaction.export import triton, triton_schema
from edgeaction.export.triton import (
    check_triton_config,
    triton_config,
    triton_model_name,
    write_triton_repo,
)
from edgeaction.export.triton_schema import parse_config
from tests.conftest import cli, make_onnx


def _one_line_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert msg and "\n" not in msg
    return msg


def _hidden(repo):
    return sorted(p.name for p in repo.iterdir() if p.name.startswith("."))


@pytest.fixture
def onnx_path(tmp_path, tiny_contract):
    return make_onnx(tmp_path / "model.onnx", tiny_contract)


def _onnx_for(path, contract):
    """A small real ONNX model with the inputs and output a contract describes (any
    layout, dtype or pose input): each input cast, averaged per sample, summed → MatMul →
    Softmax; the batch axis is dynamic."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    types = {"TYPE_FP32": TensorProto.FLOAT, "TYPE_FP16": TensorProto.FLOAT16}
    types["TYPE_UINT8"] = TensorProto.UINT8
    inputs, (oname, _, (classes,)) = triton_schema.expected_tensors(contract)
    vis, nodes, means = [], [], []
    for i, (name, dtype, dims) in enumerate(inputs):
        vis.append(helper.make_tensor_value_info(name, types[dtype], ["N", *dims]))
        nodes.append(helper.make_node("Cast", [name], [f"f{i}"], to=TensorProto.FLOAT))
        axes = list(range(1, len(dims) + 1))
        nodes.append(helper.make_node("ReduceMean", [f"f{i}"], [f"m{i}"], axes=axes, keepdims=0))
        means.append(f"m{i}")
    w = np.ones((1, classes), np.float32)
    nodes += [
        helper.make_node("Sum", means, ["s"]),
        helper.make_node("Unsqueeze", ["s", "one"], ["s1"]),
        helper.make_node("MatMul", ["s1", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [oname], axis=-1),
    ]
    out = helper.make_tensor_value_info(oname, TensorProto.FLOAT, ["N", classes])
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([1]), "one")]
    g = helper.make_graph(nodes, "g", vis, [out], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, str(path))
    return path


def _engine(tmp_path, contract, name="model.engine"):
    d = tmp_path / "engine"
    d.mkdir(exist_ok=True)
    (d / name).write_bytes(b"not really a plan, but Triton's file all the same")
    contract.save(d)
    return d / name


# ---- layout and fields -----------------------------------------------------------------
def test_repo_layout_and_every_field(tmp_path, tiny_contract, onnx_path):
    repo = tmp_path / "repo"
    model_dir = write_triton_repo(onnx_path, tiny_contract, repo)
    assert model_dir == repo / "tiny"
    files = sorted(str(p.relative_to(model_dir)) for p in model_dir.rglob("*") if p.is_file())
    assert files == ["1/model.onnx", "config.pbtxt", "labels.txt"]
    assert (model_dir / "1" / "model.onnx").read_bytes() == onnx_path.read_bytes()
    assert (model_dir / "labels.txt").read_text() == "a\nb\nc\n"
    assert _hidden(repo) == []

    conf = parse_config((model_dir / "config.pbtxt").read_text())
    assert conf.name == "tiny" and conf.platform == "onnxruntime_onnx"
    assert conf.max_batch_size == 8
    (inp,) = conf.input
    assert (inp.name, triton_schema.enum_name(inp, "data_type")) == ("frames", "TYPE_FP32")
    assert list(inp.dims) == list(tiny_contract.input_shape()[1:]) == [4, 32, 32, 3]
    (out,) = conf.output
    assert (out.name, triton_schema.enum_name(out, "data_type")) == ("probs", "TYPE_FP32")
    assert list(out.dims) == [3] and out.label_filename == "labels.txt"
    assert list(conf.dynamic_batching.preferred_batch_size) == [4, 8]
    assert conf.dynamic_batching.max_queue_delay_microseconds == 2000
    ((count, kind),) = [(g.count, triton_schema.enum_name(g, "kind")) for g in conf.instance_group]
    assert (count, kind) == (1, "KIND_GPU")
    assert list(conf.parameters) == ["edgeaction.contract"]
    embedded = ModelContract.from_json(conf.parameters["edgeaction.contract"].string_value)
    assert embedded == tiny_contract and embedded.producer == tiny_contract.producer
    assert check_triton_config(model_dir, tiny_contract, kind="onnx") == conf
    assert check_triton_config(model_dir / "config.pbtxt") == conf  # embedded contract


def test_config_text_for_the_tiny_contract(tiny_contract):
    text = triton_config(tiny_contract)
    head = text.split("parameters {")[0]
    assert (
        head.split("\n", 2)[2]
        == """\
name: "tiny"
platform: "onnxruntime_onnx"
max_batch_size: 8
input {
  name: "frames"
  data_type: TYPE_FP32
  dims: [4, 32, 32, 3]
}
output {
  name: "probs"
  data_type: TYPE_FP32
  dims: [3]
  label_filename: "labels.txt"
}
instance_group {
  count: 1
  kind: KIND_GPU
}
dynamic_batching {
  preferred_batch_size: [4, 8]
  max_queue_delay_microseconds: 2000
}
"""
    )
    assert text.endswith("}\n") and '  key: "edgeaction.contract"\n' in text


def test_options_layouts_and_dtypes(tmp_path, onnx_path):
    c = ModelContract(
        name="clf", labels=("x", "y"), frames=8, height=16, width=24, layout="NCTHW", dtype="uint8"
    )
    d = write_triton_repo(
        _onnx_for(tmp_path / "clf.onnx", c),
        c,
        tmp_path / "r",
        max_batch_size=16,
        preferred_batch=(8, 2, 16),
        queue_delay_us=0,
        instances=3,
        device="cpu",
    )
    conf = check_triton_config(d, c)
    assert list(conf.input[0].dims) == [3, 8, 16, 24]
    assert triton_schema.enum_name(conf.input[0], "data_type") == "TYPE_UINT8"
    assert conf.max_batch_size == 16
    assert list(conf.dynamic_batching.preferred_batch_size) == [2, 8, 16]
    assert conf.dynamic_batching.max_queue_delay_microseconds == 0
    (g,) = conf.instance_group
    assert (g.count, triton_schema.enum_name(g, "kind")) == (3, "KIND_CPU")
    # default preferred sizes never exceed max_batch_size; an empty list leaves it to Triton
    small = parse_config(triton_config(c, max_batch_size=2))
    assert list(small.dynamic_batching.preferred_batch_size) == [2]
    empty = parse_config(triton_config(c, preferred_batch=()))
    assert empty.HasField("dynamic_batching") and not empty.dynamic_batching.preferred_batch_size


def test_pose_models_get_their_inputs(tmp_path, onnx_path):
    both = ModelContract(
        name="seed-b", labels=("a", "b"), frames=20, height=64, width=64, modality="rgb+pose"
    )
    model = _onnx_for(tmp_path / "both.onnx", both)
    conf = check_triton_config(write_triton_repo(model, both, tmp_path / "r"), both)
    assert [i.name for i in conf.input] == ["frames", "pose"]
    assert list(conf.input[0].dims) == [20, 64, 64, 3]
    assert list(conf.input[1].dims) == [20, 132]
    assert triton_schema.enum_name(conf.input[1], "data_type") == "TYPE_FP32"
    only = ModelContract(
        name="pose-lstm", labels=("a", "b"), frames=30, height=1, width=1, modality="pose"
    )
    model = _onnx_for(tmp_path / "only.onnx", only)
    conf = check_triton_config(write_triton_repo(model, only, tmp_path / "r"), only)
    assert [(i.name, list(i.dims)) for i in conf.input] == [("pose", [30, 132])]


def test_engine_gives_a_tensorrt_plan(tmp_path, tiny_contract):
    engine = _engine(tmp_path, tiny_contract)
    d = write_triton_repo(engine, None, tmp_path / "r")  # contract.json beside the engine
    assert (d / "1" / "model.plan").read_bytes() == engine.read_bytes()
    assert not (d / "1" / "model.onnx").exists()
    conf = check_triton_config(d, tiny_contract, kind="tensorrt")
    assert conf.platform == "tensorrt_plan"
    with pytest.raises(EdgeActionError) as e:
        check_triton_config(d, tiny_contract, kind="onnx")
    assert "platform must be 'onnxruntime_onnx'" in _one_line_error(e)
    with pytest.raises(EdgeActionError) as e:
        write_triton_repo(engine, tiny_contract, tmp_path / "r", device="cpu")
    assert "GPU only" in _one_line_error(e)


def test_contract_read_from_the_onnx_model(tmp_path, tiny_contract, onnx_path):
    d = write_triton_repo(onnx_path, None, tmp_path / "r")
    assert check_triton_config(d, tiny_contract).name == "tiny"


# ---- replacing -------------------------------------------------------------------------
def test_rewrite_replaces_the_model_dir_as_a_whole(tmp_path, tiny_contract, onnx_path):
    repo = tmp_path / "r"
    d = write_triton_repo(onnx_path, tiny_contract, repo)
    (d / "stale.txt").write_text("from an older write")
    write_triton_repo(_engine(tmp_path, tiny_contract), tiny_contract, repo)
    files = sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())
    assert files == ["1/model.plan", "config.pbtxt", "labels.txt"]
    assert _hidden(repo) == [] and sorted(p.name for p in repo.iterdir()) == ["tiny"]
    check_triton_config(d, tiny_contract, kind="tensorrt")


def test_a_failed_write_leaves_the_old_model(tmp_path, tiny_contract, onnx_path, monkeypatch):
    repo = tmp_path / "r"
    d = write_triton_repo(onnx_path, tiny_contract, repo)
    before = (d / "config.pbtxt").read_text()

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(triton.shutil, "copyfile", full_disk)
    with pytest.raises(EdgeActionError) as e:
        write_triton_repo(onnx_path, tiny_contract, repo, max_batch_size=4)
    assert "No space left on device" in _one_line_error(e)
    monkeypatch.undo()
    assert (d / "config.pbtxt").read_text() == before and _hidden(repo) == []

    real_rename = os.rename

    def refuse_new(src, dst):
        if str(src).endswith(".partial"):
            raise OSError(13, "Permission denied")
        return real_rename(src, dst)

    monkeypatch.setattr(triton.os, "rename", refuse_new)
    with pytest.raises(EdgeActionError) as e:
        write_triton_repo(onnx_path, tiny_contract, repo, max_batch_size=4)
    monkeypatch.undo()
    assert "Permission denied" in _one_line_error(e)
    assert (d / "config.pbtxt").read_text() == before and _hidden(repo) == []
    check_triton_config(d, tiny_contract)


def test_refuses_to_replace_a_foreign_directory(tmp_path, tiny_contract, onnx_path):
    repo = tmp_path / "r"
    (repo / "tiny").mkdir(parents=True)
    (repo / "tiny" / "notes.md").write_text("mine")
    with pytest.raises(EdgeActionError) as e:
        write_triton_repo(onnx_path, tiny_contract, repo)
    assert "not a Triton model directory" in _one_line_error(e)
    assert (repo / "tiny" / "notes.md").read_text() == "mine" and _hidden(repo) == []


# ---- bad inputs ------------------------------------------------------------------------
def test_bad_inputs_fail_on_one_line(tmp_path, tiny_contract, onnx_path):
    afile = tmp_path / "repo.txt"
    afile.write_text("x")
    cases = [
        (lambda: write_triton_repo(onnx_path, tiny_contract, afile), "is a file"),
        (
            lambda: write_triton_repo(tmp_path / "missing.onnx", tiny_contract, tmp_path / "r"),
            "model not found",
        ),
        (lambda: write_triton_repo(tmp_path, tiny_contract, tmp_path / "r"), "not a model file"),
        (
            lambda: write_triton_repo(onnx_path, tiny_contract, tmp_path / "r", kind="tensorrt"),
            "does not match the extension",
        ),
        (
            lambda: write_triton_repo(onnx_path, tiny_contract, tmp_path / "r", kind="tflite"),
            "kind must be",
        ),
        (lambda: triton_config(tiny_contract, max_batch_size=0), "max_batch_size"),
        (lambda: triton_config(tiny_contract, preferred_batch=[4, 16]), "preferred batch size"),
        (lambda: triton_config(tiny_contract, preferred_batch=[4, 4]), "unique"),
        (lambda: triton_config(tiny_contract, instances=0), "instances"),
        (lambda: triton_config(tiny_contract, device="tpu"), "device"),
        (lambda: triton_model_name(" /// "), "no valid Triton model name"),
        (
            lambda: triton_config(
                ModelContract(name="x", labels=("a\nb", "c"), frames=2, height=8, width=8)
            ),
            "line break",
        ),
        (lambda: check_triton_config(tmp_path / "nowhere"), "no Triton model configuration"),
    ]
    for call, text in cases:
        with pytest.raises(EdgeActionError) as e:
            call()
        assert text in _one_line_error(e)
    assert not (tmp_path / "r").exists() or _hidden(tmp_path / "r") == []


def test_model_names_are_sanitised(tmp_path, onnx_path):
    assert triton_model_name("my model/v2") == "my_model_v2"
    assert triton_model_name("..edge-tiny.v1") == "edge-tiny.v1"
    c = ModelContract(name="run 3: ünïcode", labels=("a", "b"), frames=2, height=8, width=8)
    d = write_triton_repo(_onnx_for(tmp_path / "u.onnx", c), c, tmp_path / "r")
    assert d.name == "run_3_n_code"
    assert check_triton_config(d, c).name == "run_3_n_code"


def test_check_catches_edits(tmp_path, tiny_contract, onnx_path):
    d = write_triton_repo(onnx_path, tiny_contract, tmp_path / "r")
    cfg = d / "config.pbtxt"
    good = cfg.read_text()
    edits = [
        ("dims: [4, 32, 32, 3]", "dims: [-1, 4, 32, 32, 3]", "no batch axis"),
        ("data_type: TYPE_FP32", "data_type: TYPE_FP16", "data_type must be TYPE_FP32"),
        ("max_batch_size: 8", "max_batch_size: 0", "max_batch_size"),
        ("preferred_batch_size: [4, 8]", "preferred_batch_size: [4, 16]", "preferred"),
        ("kind: KIND_GPU", "kind: KIND_MODEL", "instance kind"),
        ("count: 1", "count: 1\n  gpus: [0]", "count and kind only"),
        ('name: "tiny"', 'name: "other"', "name must be"),
        ('platform: "onnxruntime_onnx"', 'platform: "pytorch_libtorch"', "platform must be"),
        ("max_batch_size: 8", 'max_batch_size: 8\nbackend: "python"', "unexpected fields"),
        ('label_filename: "labels.txt"', 'label_filename: "l.txt"', "label_filename must be"),
    ]
    for old, new, text in edits:
        cfg.write_text(good.replace(old, new, 1))
        with pytest.raises(EdgeActionError) as e:
            check_triton_config(d, tiny_contract)
        assert text in _one_line_error(e), (old, new)
    cfg.write_text(good)
    (d / "labels.txt").write_text("b\na\nc\n")
    with pytest.raises(EdgeActionError) as e:
        check_triton_config(d, tiny_contract)
    assert "labels.txt must hold" in _one_line_error(e)
    (d / "labels.txt").write_text("a\nb\nc\n")
    other = ModelContract(name="tiny", labels=("a", "b", "d"), frames=4, height=32, width=32)
    with pytest.raises(EdgeActionError) as e:
        check_triton_config(d, other)
    assert "embedded contract differs" in _one_line_error(e)
    shutil.rmtree(d / "1")
    with pytest.raises(EdgeActionError) as e:
        check_triton_config(d, tiny_contract)
    assert "needs the model file" in _one_line_error(e)


# ---- Triton's own schema ----------------------------------------------------------------
# The real `ModelConfig` (tritonclient 2.73's generated model_config_pb2) decides, as it
# does in Triton: each edit below is one Triton refuses (or takes), see issue 16.
TRITON_REJECTS = [
    ("max_batch_size: 8", "max_batchsize: 8", 'no field named "max_batchsize"'),
    ("kind: KIND_GPU", "kind: KIND_TPU", "no value named KIND_TPU"),
    ("data_type: TYPE_FP32", "data_type: TYPE_FLOAT32", "no value named TYPE_FLOAT32"),
    ("max_batch_size: 8", 'max_batch_size: "8"', 'max_batch_size: "8"\''),
    ("max_batch_size: 8", "max_batch_size: 8\nmax_batch_size: 4", 'multiple "max_batch_size"'),
    ('name: "tiny"', 'name: "tiny"\nname: "tiny"', 'multiple "name"'),
    ("data_type: TYPE_FP32", 'data_type: "TYPE_FP32"', 'no value named "TYPE_FP32"'),
    # the old hand parser and checks let these two through
    ("max_batch_size: 8", "max_batch_size: 4294967296", "Value out of range"),
    (
        "parameters {",
        'parameters { key: "n" value { string_valu: "x" } }\nparameters {',
        "string_valu",
    ),
]


@pytest.mark.parametrize("old, new, why", TRITON_REJECTS)
def test_what_triton_refuses_is_refused_naming_the_field(
    tmp_path, tiny_contract, onnx_path, old, new, why
):
    d = write_triton_repo(onnx_path, tiny_contract, tmp_path / "r")
    cfg = d / "config.pbtxt"
    cfg.write_text(cfg.read_text().replace(old, new, 1))
    with pytest.raises(EdgeActionError) as e:
        check_triton_config(d, tiny_contract)
    msg = _one_line_error(e)
    assert "not a valid Triton ModelConfig" in msg and why in msg, msg
    assert msg.startswith(f"{cfg}:"), msg  # file:line:column


def test_what_triton_takes_is_taken(tmp_path, tiny_contract, onnx_path):
    """`< ... >` blocks and hexadecimal integers are text format too (protobuf.dev spec)."""
    d = write_triton_repo(onnx_path, tiny_contract, tmp_path / "r")
    cfg = d / "config.pbtxt"
    good = check_triton_config(d, tiny_contract)
    text = cfg.read_text().replace("max_batch_size: 8", "max_batch_size: 0x8", 1)
    text = text.replace("dynamic_batching {", "dynamic_batching <", 1)
    head, tail = text.split("dynamic_batching <", 1)
    text = head + "dynamic_batching <" + tail.replace("}", ">", 1)
    text = text.replace("output {", "output: <", 1).replace('"labels.txt"\n}', '"labels.txt"\n>')
    assert "0x8" in text and "dynamic_batching <" in text and "output: <" in text
    cfg.write_text(text)
    assert check_triton_config(d, tiny_contract) == good


def test_round_trip_through_the_real_message(tiny_contract):
    """What we write parses with Triton's message and equals what we meant (written here
    the way Triton's docs write a config)."""
    from google.protobuf import text_format

    meant = text_format.Parse(
        """
        name: "tiny"
        platform: "onnxruntime_onnx"
        max_batch_size: 8
        input [ { name: "frames" data_type: TYPE_FP32 dims: [ 4, 32, 32, 3 ] } ]
        output [ { name: "probs" data_type: TYPE_FP32 dims: [ 3 ] label_filename: "labels.txt" } ]
        dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 2000 }
        instance_group [ { count: 2 kind: KIND_GPU } ]
        """,
        triton_schema.model_config(),
    )
    meant.parameters["edgeaction.contract"].string_value = json.dumps(
        tiny_contract.to_dict(), separators=(",", ":")
    )
    text = triton_config(tiny_contract, instances=2)
    got = text_format.Parse(text, triton_schema.model_config_pb2().ModelConfig())
    assert got == meant
    assert parse_config(text) == meant and triton_schema.config_text(got) == text
    both = ModelContract(
        name="seed-b", labels=("a", "b"), frames=20, height=64, width=64, modality="rgb+pose"
    )
    conf = parse_config(triton_config(both, device="cpu", preferred_batch=()))
    assert [(i.name, list(i.dims)) for i in conf.input] == [
        ("frames", [20, 64, 64, 3]),
        ("pose", [20, 132]),
    ]
    assert conf.HasField("dynamic_batching") and not conf.dynamic_batching.preferred_batch_size
    assert triton_schema.enum_name(conf.instance_group[0], "kind") == "KIND_CPU"
    assert triton_schema.embedded_contract(conf, "t") == both


@given(st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=4, unique=True))
def test_any_labels_survive_the_text_format(labels):
    labels = [s for s in labels if (s + "\n").splitlines() == [s]]
    if len(labels) < 2:
        return
    c = ModelContract(name="m", labels=tuple(labels), frames=2, height=8, width=8)
    conf = parse_config(triton_config(c))
    assert triton_schema.embedded_contract(conf, "t").labels == tuple(labels)


def test_a_missing_tritonclient_names_the_extra(tiny_contract, monkeypatch):
    triton_schema.model_config_pb2.cache_clear()
    monkeypatch.setitem(sys.modules, "tritonclient", None)  # as if not installed
    try:
        with pytest.raises(EdgeActionError) as e:
            triton_config(tiny_contract)
        msg = _one_line_error(e)
        assert "pip install 'edgeaction[train]'" in msg and "tritonclient==2.73.0" in msg
    finally:
        monkeypatch.undo()
        triton_schema.model_config_pb2.cache_clear()
    assert "name: " in triton_config(tiny_contract)


def test_export_triton_without_tritonclient_fails_before_exporting(tmp_path, monkeypatch, capsys):
    from edgeaction.cli import main

    triton_schema.model_config_pb2.cache_clear()
    monkeypatch.setitem(sys.modules, "tritonclient", None)
    try:
        rc = main(["export", str(tmp_path / "no-run"), "--out", str(tmp_path / "o"),
                   "--triton", str(tmp_path / "t")])  # fmt: skip
    finally:
        monkeypatch.undo()
        triton_schema.model_config_pb2.cache_clear()
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "edgeaction[train]" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "o").exists()


def test_the_generated_module_loads_without_grpc():
    code = (
        "import sys; from edgeaction.export import triton_schema as s; "
        "c = s.model_config(); assert c.DESCRIPTOR.full_name == 'inference.ModelConfig'; "
        "print(sorted(m for m in ('grpc', 'tritonclient.grpc') if m in sys.modules))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "[]"


# ---- `export --triton` checks what it writes ---------------------------------------------
def test_export_triton_on_an_exported_model(tmp_path, tiny_split):
    """The step `edgeaction export --triton` runs after the ONNX export, on an export
    directory (model.onnx + contract.json, as export writes them)."""
    repo = tmp_path / "triton"
    model_dir = write_export_triton(tiny_split, repo)
    contract = ModelContract.load(tiny_split)
    assert model_dir == repo / triton_model_name(contract.name)
    conf = check_triton_config(model_dir, contract, kind="onnx")
    assert list(conf.input[0].dims) == list(contract.input_shape()[1:])
    assert (model_dir / "1" / "model.onnx").read_bytes() == (tiny_split / "model.onnx").read_bytes()


def test_export_triton_fails_on_one_line_when_the_model_disagrees(tmp_path, tiny_contract):
    """A contract.json that does not describe model.onnx (8 frames vs 4): Triton would
    refuse the model on load; export refuses to write it."""
    out = tmp_path / "export"
    out.mkdir()
    make_onnx(out / "model.onnx", tiny_contract, embed=False, frames=8)
    tiny_contract.save(out)
    repo = tmp_path / "triton"
    with pytest.raises(EdgeActionError) as e:
        write_export_triton(out, repo)
    msg = _one_line_error(e)
    assert "dims [4, 32, 32, 3] do not match model.onnx's [8, 32, 32, 3]" in msg, msg
    assert sorted(p.name for p in repo.iterdir()) == []  # nothing half-written
    # a good model already there stays
    good = write_triton_repo(make_onnx(tmp_path / "good.onnx", tiny_contract), None, repo)
    before = (good / "config.pbtxt").read_text()
    with pytest.raises(EdgeActionError):
        write_export_triton(out, repo)
    assert (good / "config.pbtxt").read_text() == before and _hidden(repo) == []
    assert (good / "1" / "model.onnx").read_bytes() == (tmp_path / "good.onnx").read_bytes()


def test_check_refuses_a_model_that_disagrees_and_a_missing_labels_file(
    tmp_path, tiny_contract, onnx_path
):
    d = write_triton_repo(onnx_path, tiny_contract, tmp_path / "r")
    other = ModelContract(name="x", labels=("a", "b", "c"), frames=8, height=32, width=32)
    make_onnx(d / "1" / "model.onnx", other, frames=8)  # swapped behind our back
    with pytest.raises(EdgeActionError) as e:
        check_triton_config(d, tiny_contract)
    assert "do not match model.onnx's [8, 32, 32, 3]" in _one_line_error(e)
    shutil.copyfile(onnx_path, d / "1" / "model.onnx")
    (d / "labels.txt").unlink()
    with pytest.raises(EdgeActionError) as e:
        check_triton_config(d, tiny_contract)
    assert "cannot read the labels file" in _one_line_error(e)


# ---- through the CLI -------------------------------------------------------------------
@pytest.mark.slow
def test_cli_export_writes_a_triton_repository(trained_run, tmp_path):
    out, repo = tmp_path / "o", tmp_path / "triton"
    p = cli("export", trained_run, "--out", out, "--triton", repo)
    contract = ModelContract.load(out)
    model_dir = repo / triton_model_name(contract.name)
    assert f"wrote Triton model {model_dir}" in p.stdout
    conf = check_triton_config(model_dir, contract, kind="onnx")
    assert list(conf.input[0].dims) == list(contract.input_shape()[1:])
    assert (model_dir / "1" / "model.onnx").read_bytes() == (out / "model.onnx").read_bytes()
    assert _hidden(repo) == []
