"""`export --triton DIR`: Triton model repository layout, config fields, strict parser."""

import os
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeaction.contract import ModelContract
from edgeaction.errors import EdgeActionError
from edgeaction.export import triton
from edgeaction.export.triton import (
    PbEnum,
    check_triton_config,
    parse_pbtxt,
    triton_config,
    triton_model_name,
    write_triton_repo,
)
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

    conf = parse_pbtxt((model_dir / "config.pbtxt").read_text())
    assert conf["name"] == "tiny" and not isinstance(conf["name"], PbEnum)
    assert conf["platform"] == "onnxruntime_onnx"
    assert conf["max_batch_size"] == 8
    (inp,) = conf["input"]
    assert inp == {"name": "frames", "data_type": "TYPE_FP32", "dims": [4, 32, 32, 3]}
    assert isinstance(inp["data_type"], PbEnum)
    assert list(tiny_contract.input_shape()[1:]) == inp["dims"]  # no batch axis
    (out,) = conf["output"]
    assert out == {
        "name": "probs",
        "data_type": "TYPE_FP32",
        "dims": [3],
        "label_filename": "labels.txt",
    }
    assert conf["dynamic_batching"] == {
        "preferred_batch_size": [4, 8],
        "max_queue_delay_microseconds": 2000,
    }
    assert conf["instance_group"] == [{"count": 1, "kind": "KIND_GPU"}]
    assert isinstance(conf["instance_group"][0]["kind"], PbEnum)
    assert conf["parameters"]["key"] == "edgeaction.contract"
    embedded = ModelContract.from_json(conf["parameters"]["value"]["string_value"])
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
input [
  {
    name: "frames"
    data_type: TYPE_FP32
    dims: [ 4, 32, 32, 3 ]
  }
]
output [
  {
    name: "probs"
    data_type: TYPE_FP32
    dims: [ 3 ]
    label_filename: "labels.txt"
  }
]
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 2000
}
instance_group [
  {
    count: 1
    kind: KIND_GPU
  }
]
"""
    )
    assert text.endswith("}\n") and '  key: "edgeaction.contract"\n' in text


def test_options_layouts_and_dtypes(tmp_path, onnx_path):
    c = ModelContract(
        name="clf", labels=("x", "y"), frames=8, height=16, width=24, layout="NCTHW", dtype="uint8"
    )
    d = write_triton_repo(
        onnx_path,
        c,
        tmp_path / "r",
        max_batch_size=16,
        preferred_batch=(8, 2, 16),
        queue_delay_us=0,
        instances=3,
        device="cpu",
    )
    conf = check_triton_config(d, c)
    assert conf["input"][0]["dims"] == [3, 8, 16, 24] and conf["input"][0]["data_type"] == (
        "TYPE_UINT8"
    )
    assert conf["max_batch_size"] == 16
    assert conf["dynamic_batching"]["preferred_batch_size"] == [2, 8, 16]
    assert conf["dynamic_batching"]["max_queue_delay_microseconds"] == 0
    assert conf["instance_group"] == [{"count": 3, "kind": "KIND_CPU"}]
    # default preferred sizes never exceed max_batch_size; an empty list leaves it to Triton
    small = parse_pbtxt(triton_config(c, max_batch_size=2))
    assert small["dynamic_batching"]["preferred_batch_size"] == [2]
    assert (
        "preferred_batch_size"
        not in parse_pbtxt(triton_config(c, preferred_batch=()))["dynamic_batching"]
    )


def test_pose_models_get_their_inputs(tmp_path, onnx_path):
    both = ModelContract(
        name="seed-b", labels=("a", "b"), frames=20, height=64, width=64, modality="rgb+pose"
    )
    conf = check_triton_config(write_triton_repo(onnx_path, both, tmp_path / "r"), both)
    assert [i["name"] for i in conf["input"]] == ["frames", "pose"]
    assert conf["input"][0]["dims"] == [20, 64, 64, 3]
    assert conf["input"][1] == {"name": "pose", "data_type": "TYPE_FP32", "dims": [20, 132]}
    only = ModelContract(
        name="pose-lstm", labels=("a", "b"), frames=30, height=1, width=1, modality="pose"
    )
    conf = check_triton_config(write_triton_repo(onnx_path, only, tmp_path / "r"), only)
    assert conf["input"] == [{"name": "pose", "data_type": "TYPE_FP32", "dims": [30, 132]}]


def test_engine_gives_a_tensorrt_plan(tmp_path, tiny_contract):
    engine = _engine(tmp_path, tiny_contract)
    d = write_triton_repo(engine, None, tmp_path / "r")  # contract.json beside the engine
    assert (d / "1" / "model.plan").read_bytes() == engine.read_bytes()
    assert not (d / "1" / "model.onnx").exists()
    conf = check_triton_config(d, tiny_contract, kind="tensorrt")
    assert conf["platform"] == "tensorrt_plan"
    with pytest.raises(EdgeActionError) as e:
        check_triton_config(d, tiny_contract, kind="onnx")
    assert "platform must be 'onnxruntime_onnx'" in _one_line_error(e)
    with pytest.raises(EdgeActionError) as e:
        write_triton_repo(engine, tiny_contract, tmp_path / "r", device="cpu")
    assert "GPU only" in _one_line_error(e)


def test_contract_read_from_the_onnx_model(tmp_path, tiny_contract, onnx_path):
    d = write_triton_repo(onnx_path, None, tmp_path / "r")
    assert check_triton_config(d, tiny_contract)["name"] == "tiny"


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
    d = write_triton_repo(onnx_path, c, tmp_path / "r")
    assert d.name == "run_3_n_code"
    assert check_triton_config(d, c)["name"] == "run_3_n_code"


def test_check_catches_edits(tmp_path, tiny_contract, onnx_path):
    d = write_triton_repo(onnx_path, tiny_contract, tmp_path / "r")
    cfg = d / "config.pbtxt"
    good = cfg.read_text()
    edits = [
        ("dims: [ 4, 32, 32, 3 ]", "dims: [ -1, 4, 32, 32, 3 ]", "no batch axis"),
        ("data_type: TYPE_FP32", 'data_type: "TYPE_FP32"', "data_type must be"),
        ("max_batch_size: 8", "max_batch_size: 0", "max_batch_size"),
        ("preferred_batch_size: [ 4, 8 ]", "preferred_batch_size: [ 4, 16 ]", "preferred"),
        ("kind: KIND_GPU", "kind: KIND_TPU", "instance kind"),
        ('name: "tiny"', 'name: "other"', "name must be"),
        ("max_batch_size: 8", 'max_batch_size: 8\nbackend: "python"', "unexpected fields"),
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


# ---- the parser ------------------------------------------------------------------------
def test_parser_reads_triton_style_text():
    text = """
    # Triton docs style, with comments
    name: "m"   # trailing comment
    max_batch_size: 8
    input [ { name: "i0", data_type: TYPE_FP32, dims: [ -1, 16 ] } ]
    output: [ { name: 'o' dims: [ 3 ] } ];
    instance_group [ { count: 2 kind: KIND_CPU }, { kind: KIND_GPU gpus: [ 0, 1 ] } ]
    parameters: { key: "a" value: { string_value: "x\\"y\\\\z\\n\\101\\x42" } }
    parameters { key: "b" value { string_value: "one " "two" } }
    optimization { priority: PRIORITY_MAX cuda { graphs: true busy_wait_events: false } }
    scale: -1.5e3
    empty: []
    """
    c = parse_pbtxt(text)
    assert c["name"] == "m" and c["max_batch_size"] == 8
    assert c["input"] == [{"name": "i0", "data_type": "TYPE_FP32", "dims": [-1, 16]}]
    assert c["output"] == [{"name": "o", "dims": [3]}]
    assert c["instance_group"][1]["gpus"] == [0, 1]
    assert c["parameters"] == [
        {"key": "a", "value": {"string_value": 'x"y\\z\nAB'}},
        {"key": "b", "value": {"string_value": "one two"}},
    ]
    assert c["optimization"] == {
        "priority": "PRIORITY_MAX",
        "cuda": {"graphs": True, "busy_wait_events": False},
    }
    assert c["scale"] == -1500.0 and c["empty"] == []
    assert parse_pbtxt("") == {} and parse_pbtxt("# only a comment\n") == {}


@pytest.mark.parametrize(
    "text, why",
    [
        ("input { name: 1", "missing '}'"),
        ("name: 1 }", "unbalanced '}'"),
        ("input [ { name: 1 } ", "expected ',' or ']'"),
        ("dims: [ 1, 2", "expected ',' or ']'"),
        ("dims: [ 1, , 2 ]", "expected a value"),
        ("dims: [ 1, 2, ]", "expected a value"),
        ("name:", "expected a value"),
        ('name "x"', "expected ':' or '{'"),
        ("{ a: 1 }", "expected a field name"),
        ("a: 0x10", "bad number"),
        ("a: 1abc", "bad number"),
        ("a: 1.2.3", "bad number"),
        ("a: 08", "leading zero"),
        ("a: @", "unexpected character"),
        ("a: - b", "number after '-'"),
        ('a: "open', "unexpected character"),
        ('a: "bad \\q"', "unknown escape"),
        ('a: "\\400"', "above"),
        ('a: "\\xff"', "not valid UTF-8"),
        ("a < b: 1 >", "unexpected character"),
        ("dims [ 1, 2 ]", "must hold messages"),
        ("a: [ 1, { b: 2 } ]", "mixes messages and scalars"),
        ("a: 1 : 2", "expected a field name"),
        ("a { " + "b { " * 40 + "}" * 41, "nesting deeper"),
    ],
)
def test_parser_rejects_malformed_text(text, why):
    with pytest.raises(EdgeActionError) as e:
        parse_pbtxt(text, source="t.pbtxt")
    msg = _one_line_error(e)
    assert why in msg and msg.startswith("t.pbtxt:1:"), msg


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
def test_string_quoting_round_trips(s):
    assert parse_pbtxt(f"s: {triton._quote(s)}")["s"] == s


def test_googles_text_format_parser_accepts_the_config(tiny_contract):
    """An independent check: protobuf's own parser on a ModelConfig subset (same field
    numbers and types as triton-inference-server/common protobuf/model_config.proto)."""
    pytest.importorskip("google.protobuf")
    from google.protobuf import text_format

    both = ModelContract(
        name="seed-b", labels=("a", "b"), frames=20, height=64, width=64, modality="rgb+pose"
    )
    cls = _model_config_class()
    for c in (tiny_contract, both):
        msg = text_format.Parse(triton_config(c, instances=2), cls())
        assert msg.name == triton_model_name(c.name) and msg.platform == "onnxruntime_onnx"
        want = [list(c.input_shape()[1:])] if c.uses_frames else []
        want += [list(c.keypoint_shape()[1:])] if c.uses_keypoints else []
        assert [list(i.dims) for i in msg.input] == want
        assert list(msg.output[0].dims) == [c.num_classes]
        assert msg.output[0].label_filename == "labels.txt"
        assert list(msg.dynamic_batching.preferred_batch_size) == [4, 8]
        assert msg.instance_group[0].count == 2 and msg.instance_group[0].kind == 1  # KIND_GPU
        assert ModelContract.from_json(msg.parameters["edgeaction.contract"].string_value) == c
    with pytest.raises(text_format.ParseError):
        text_format.Parse(triton_config(tiny_contract).replace("dims", "dimz", 1), cls())


def _model_config_class():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name="edgeaction_test_model_config.proto", package="inference", syntax="proto3"
    )
    dtypes = "INVALID BOOL UINT8 UINT16 UINT32 UINT64 INT8 INT16 INT32 INT64 FP16 FP32 FP64"
    enum = fdp.enum_type.add(name="DataType")
    for i, n in enumerate([*dtypes.split(), "STRING", "BF16"]):
        enum.value.add(name=f"TYPE_{n}", number=i)

    def msg(parent, name, fields):
        m = parent.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name
        return m

    one, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    S, I32, I64, U64, E, M = (
        F.TYPE_STRING,
        F.TYPE_INT32,
        F.TYPE_INT64,
        F.TYPE_UINT64,
        F.TYPE_ENUM,
        F.TYPE_MESSAGE,
    )
    dt = ".inference.DataType"
    msg(
        fdp.message_type,
        "ModelInput",
        [("name", 1, S, one, ""), ("data_type", 2, E, one, dt), ("dims", 4, I64, rep, "")],
    )
    msg(
        fdp.message_type,
        "ModelOutput",
        [
            ("name", 1, S, one, ""),
            ("data_type", 2, E, one, dt),
            ("dims", 3, I64, rep, ""),
            ("label_filename", 4, S, one, ""),
        ],
    )
    msg(
        fdp.message_type,
        "ModelDynamicBatching",
        [
            ("preferred_batch_size", 1, I32, rep, ""),
            ("max_queue_delay_microseconds", 2, U64, one, ""),
        ],
    )
    group = msg(
        fdp.message_type,
        "ModelInstanceGroup",
        [("count", 2, I32, one, ""), ("kind", 4, E, one, ".inference.ModelInstanceGroup.Kind")],
    )
    kind = group.enum_type.add(name="Kind")
    for i, n in enumerate(["KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL"]):
        kind.value.add(name=n, number=i)
    msg(fdp.message_type, "ModelParameter", [("string_value", 1, S, one, "")])
    config = msg(
        fdp.message_type,
        "ModelConfig",
        [
            ("name", 1, S, one, ""),
            ("platform", 2, S, one, ""),
            ("max_batch_size", 4, I32, one, ""),
            ("input", 5, M, rep, ".inference.ModelInput"),
            ("output", 6, M, rep, ".inference.ModelOutput"),
            ("instance_group", 7, M, rep, ".inference.ModelInstanceGroup"),
            ("dynamic_batching", 11, M, one, ".inference.ModelDynamicBatching"),
            ("parameters", 14, M, rep, ".inference.ModelConfig.ParametersEntry"),
        ],
    )
    entry = msg(
        config.nested_type,
        "ParametersEntry",
        [("key", 1, S, one, ""), ("value", 2, M, one, ".inference.ModelParameter")],
    )
    entry.options.map_entry = True
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("inference.ModelConfig"))


# ---- through the CLI -------------------------------------------------------------------
@pytest.mark.slow
def test_cli_export_writes_a_triton_repository(trained_run, tmp_path):
    out, repo = tmp_path / "o", tmp_path / "triton"
    p = cli("export", trained_run, "--out", out, "--triton", repo)
    contract = ModelContract.load(out)
    model_dir = repo / triton_model_name(contract.name)
    assert f"wrote Triton model {model_dir}" in p.stdout
    conf = check_triton_config(model_dir, contract, kind="onnx")
    assert conf["input"][0]["dims"] == list(contract.input_shape()[1:])
    assert (model_dir / "1" / "model.onnx").read_bytes() == (out / "model.onnx").read_bytes()
    assert _hidden(repo) == []
